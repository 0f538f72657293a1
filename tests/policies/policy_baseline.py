"""A compliant stack, shaped like the program's resource records (`urn, type, name, parent,
custom, inputs, outputs, protect, ignore_changes, dependencies, provider`). Tests copy it and
change one field per failing case."""
from __future__ import annotations

import copy
import datetime as dt
import pathlib

PROJECT, STACK = "leadgen", "production"
KMS = "arn:aws:kms:us-east-1:123456789012:key/1111aaaa-2222-bbbb-3333-cccc4444dddd"
TAGS = {"environment": "production", "owner": "platform-team", "cost-center": "cc-1042"}
PROVIDER_URN = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:providers:aws::aws-production"


def urn(typ: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::{typ}::{name}"


def res(typ: str, name: str, inputs: dict, *, provider: str = "", deps: tuple = (), custom: bool = True) -> dict:
    return {"urn": urn(typ, name), "type": typ, "name": name, "parent": urn("pulumi:pulumi:Stack", f"{PROJECT}-{STACK}"),
            "custom": custom, "inputs": inputs, "outputs": copy.deepcopy(inputs), "protect": False,
            "ignore_changes": [], "dependencies": list(deps), "provider": provider}


def aws(typ: str, name: str, inputs: dict, deps: tuple = ()) -> dict:
    return res(typ, name, inputs, provider=f"{PROVIDER_URN}::04da6b54-80e4-46f7-96ec-b56ff0331ba9", deps=deps)


# Production runs images by digest (kubernetes-container-image-digest-pinned).
DIGEST = "sha256:23b2d35f629fae8d2712bf5bf4514c179723c5d0ee60fad5ab64d93a33d542ed"


def container(name: str, image: str, pull: str | None = "Always") -> dict:
    """A compliant container; `pull=None` leaves imagePullPolicy to Kubernetes's default."""
    return {"name": name, "image": image, **({"imagePullPolicy": pull} if pull else {}),
            "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
            "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}}


def baseline() -> list[dict]:
    bucket = aws("aws:s3/bucket:Bucket", "leads-exports", {"bucket": "leadgen-production-exports"})
    listener_https = {"protocol": "HTTPS", "port": 443, "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
                      "defaultActions": [{"type": "forward", "targetGroupArn": "arn:tg"}]}
    labels = {"app": "api"}
    stack = res("pulumi:pulumi:Stack", f"{PROJECT}-{STACK}", {}, custom=False)
    stack["parent"] = ""
    return deploy_ready([
        stack,
        res("pulumi:providers:aws", "aws-production", {"region": "us-east-1", "defaultTags": {"tags": dict(TAGS)}}),
        aws("aws:kms/key:Key", "platform", {"enableKeyRotation": True, "description": "platform data"}),
        aws("aws:eks/cluster:Cluster", "leadgen", {
            "encryptionConfig": {"provider": {"keyArn": KMS}, "resources": ["secrets"]},
            "enabledClusterLogTypes": ["api", "audit", "authenticator", "controllerManager", "scheduler"],
            "vpcConfig": {"endpointPublicAccess": True, "endpointPrivateAccess": True,
                          "publicAccessCidrs": ["203.0.113.0/24"], "subnetIds": ["subnet-a", "subnet-b"]}}),
        aws("aws:ec2/launchTemplate:LaunchTemplate", "general", {
            "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 2},
            "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "kmsKeyId": KMS, "volumeSize": 50}}]}),
        aws("aws:eks/nodeGroup:NodeGroup", "general", {
            "instanceTypes": ["m6i.xlarge"], "capacityType": "ON_DEMAND", "launchTemplate": {"name": "general", "version": "1"},
            "scalingConfig": {"minSize": 3, "maxSize": 10, "desiredSize": 3}}),
        aws("aws:eks/nodeGroup:NodeGroup", "spot", {
            "instanceTypes": ["m6i.large"], "capacityType": "SPOT", "launchTemplate": {"name": "general", "version": "1"},
            "scalingConfig": {"minSize": 0, "maxSize": 10, "desiredSize": 2}}),
        aws("aws:eks/nodeGroup:NodeGroup", "gpu", {
            "instanceTypes": ["g5.xlarge"], "capacityType": "ON_DEMAND", "launchTemplate": {"name": "general", "version": "1"},
            "scalingConfig": {"minSize": 0, "maxSize": 4, "desiredSize": 1},
            "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]}),
        aws("aws:ec2/natGateway:NatGateway", "nat-a", {"subnetId": "subnet-a"}),
        aws("aws:lb/loadBalancer:LoadBalancer", "public", {"loadBalancerType": "application", "internal": False}),
        aws("aws:lb/listener:Listener", "https", listener_https),
        aws("aws:lb/listener:Listener", "http-redirect", {"protocol": "HTTP", "port": 80, "defaultActions": [
            {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]}),
        aws("aws:rds/instance:Instance", "leads", {
            "engine": "postgres", "instanceClass": "db.r6g.large", "multiAz": True, "allocatedStorage": 100,
            "storageType": "gp3", "storageEncrypted": True, "kmsKeyId": KMS, "publiclyAccessible": False,
            "deletionProtection": True, "backupRetentionPeriod": 7,
            "iamDatabaseAuthenticationEnabled": True}),
        aws("aws:elasticache/replicationGroup:ReplicationGroup", "sessions", {
            "nodeType": "cache.r6g.large", "numCacheClusters": 2, "atRestEncryptionEnabled": True,
            "transitEncryptionEnabled": True, "kmsKeyId": KMS}),
        aws("aws:ebs/volume:Volume", "scratch", {"size": 100, "type": "gp3", "encrypted": True, "kmsKeyId": KMS}),
        bucket,
        aws("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "leads-exports-sse", {
            "bucket": "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
            "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KMS},
                       "bucketKeyEnabled": True}]}, deps=(bucket["urn"],)),
        aws("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "leads-exports-pab", {
            "bucket": "04da6b54-80e4-46f7-96ec-b56ff0331ba9", "blockPublicAcls": True, "blockPublicPolicy": True,
            "ignorePublicAcls": True, "restrictPublicBuckets": True}, deps=(bucket["urn"],)),
        aws("aws:s3/bucketVersioning:BucketVersioning", "leads-exports-versioning", {
            "bucket": "04da6b54-80e4-46f7-96ec-b56ff0331ba9", "versioningConfiguration": {"status": "Enabled"}},
            deps=(bucket["urn"],)),
        aws("aws:s3/bucketAcl:BucketAcl", "leads-exports-acl", {"bucket": "leadgen-production-exports", "acl": "private"}),
        aws("aws:iam/rolePolicy:RolePolicy", "exports-writer", {"role": "exports", "policy": (
            '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:PutObject"], '
            '"Resource": "arn:aws:s3:::leadgen-production-exports/*"}]}')}),
        aws("aws:iam/role:Role", "exports", {"assumeRolePolicy": "{}", "inlinePolicies": []}),
        res("kubernetes:apps/v1:Deployment", "api", {
            "metadata": {"name": "api", "namespace": "production", "labels": labels},
            "spec": {"selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels},
                "spec": {"securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
                         "containers": [container("api", f"ghcr.io/insurance-lead-gen/api:2.14.0@{DIGEST}")]}}}}),
        res("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "api", {
            "metadata": {"name": "api", "namespace": "production"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
                     "minReplicas": 3, "maxReplicas": 10}}),
        res("kubernetes:policy/v1:PodDisruptionBudget", "api", {
            "metadata": {"name": "api", "namespace": "production"},
            "spec": {"minAvailable": 2, "selector": {"matchLabels": labels}}}),
        res("kubernetes:core/v1:PersistentVolumeClaim", "prometheus-data", {
            "metadata": {"name": "prometheus-data", "namespace": "monitoring"},
            "spec": {"resources": {"requests": {"storage": "50Gi"}}}}),
        res("kubernetes:gateway.networking.k8s.io/v1:Gateway", "public", {
            "metadata": {"name": "public", "namespace": "production"},
            "spec": {"gatewayClassName": "aws", "listeners": [
                {"name": "https", "protocol": "HTTPS", "port": 443, "tls": {"certificateRefs": [{"name": "api-tls"}]}},
                {"name": "http", "protocol": "HTTP", "port": 80}]}}),
        res("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "https-redirect", {
            "metadata": {"name": "https-redirect", "namespace": "production"},
            "spec": {"parentRefs": [{"name": "public", "sectionName": "http"}], "rules": [
                {"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}]}}),
    ])


def deploy_ready(resources: list[dict]) -> list[dict]:
    """What a first `pulumi up` needs around the same stack (the deploy-readiness policies): the CNI
    before the nodes, the deployer's cluster access before any Kubernetes object, the Gateway API
    CRDs before the Gateway, a default StorageClass and the GPU device plugin."""
    cluster = urn("aws:eks/cluster:Cluster", "leadgen")
    cni = aws("aws:eks/addon:Addon", "vpc-cni", {"clusterName": "leadgen", "addonName": "vpc-cni",
                                                "configurationValues": '{"enableNetworkPolicy": "true"}'}, deps=(cluster,))
    access = aws("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "deployer", {
        "clusterName": "leadgen", "principalArn": "arn:aws:iam::123456789012:role/leadgen-deployer-production",
        "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
        "accessScope": {"type": "cluster"}}, deps=(cluster,))
    provider = res("pulumi:providers:kubernetes", "k8s-production", {"kubeconfig": "{}"}, deps=(access["urn"],))
    ref = f"{provider['urn']}::9c3b1f0e-5d2a-4e7b-8f61-2a4c6d8e0b13"
    crds = res("kubernetes:yaml/v2:ConfigFile", "gateway-api-crds", {
        "file": "https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.4.0/standard-install.yaml"},
        provider=ref, custom=False)
    added = [cni, access, provider, crds,
             res("kubernetes:storage.k8s.io/v1:StorageClass", "gp3", {
                 "metadata": {"name": "gp3", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                 "provisioner": "ebs.csi.aws.com", "parameters": {"type": "gp3", "encrypted": "true", "kmsKeyId": KMS}},
                 provider=ref),
             res("kubernetes:helm.sh/v3:Release", "nvidia-device-plugin", {
                 "chart": "nvidia-device-plugin", "version": "0.18.0", "namespace": "kube-system", "values": {}},
                 provider=ref)]
    for r in resources:
        if r["type"] == "aws:eks/nodeGroup:NodeGroup":
            r["dependencies"].append(cni["urn"])
        elif r["type"].startswith("kubernetes:"):
            r["provider"] = ref
            if r["type"].startswith("kubernetes:gateway.networking.k8s.io/"):
                r["dependencies"].append(crds["urn"])
    return resources + added


def find(resources: list[dict], typ: str, name: str) -> dict:
    return next(r for r in resources if r["type"] == typ and r["name"] == name)


def set_path(resources: list[dict], typ: str, name: str, path: str, value, *, delete: bool = False) -> None:
    """Change one field, in both inputs (what Analyze sees) and outputs (what AnalyzeStack sees)."""
    r = find(resources, typ, name)
    for side in ("inputs", "outputs"):
        node = r[side]
        parts = path.split(".")
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        last = parts[-1]
        if isinstance(node, list):
            node[int(last)] = value
        elif delete:
            node.pop(last, None)
        else:
            node[last] = value


def to_model(resources: list[dict]):
    """Resource records as the pack's model sees them (inputs, the provider's inputs)."""
    from governance.model import Resource

    providers = {r["urn"]: r for r in resources if r["type"].startswith("pulumi:providers:")}
    out = []
    for r in resources:
        provider = providers.get((r.get("provider") or "").rsplit("::", 1)[0])
        out.append(Resource(r["type"], r["urn"], r["name"], copy.deepcopy(r["inputs"]),
                            copy.deepcopy(provider["inputs"]) if provider else None,
                            tuple(r.get("dependencies") or ()), r.get("parent") or ""))
    return out


def context(stack: str = STACK, *, now: dt.datetime | None = None, **config):
    from governance import clock, config as gconfig
    from governance.model import Context

    settings = gconfig.from_mapping({f"leadgen:{k}": v for k, v in config.items()})
    fixed = clock.Clock(now or dt.datetime(2026, 12, 15, 2, 30, tzinfo=dt.timezone.utc))
    return Context(stack, PROJECT, settings, pathlib.Path(__file__).resolve().parents[2], fixed)
