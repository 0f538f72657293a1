"""What a first `pulumi up` on a fresh account meets: who may use the Kubernetes API, what must
exist before the nodes, where volumes and images come from, and what the gateway's NLB needs.

Each test reads the recorded preview of the real program (resources, inputs, dependencies), as
the engine would order and send them.
"""
import json

import pytest

from platformctl.program.mocks import ACCOUNT_ID
from platformctl.project import stack_config
from tests.helpers import find_manifest, run_program

ADDON = "aws:eks/addon:Addon"
ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


@pytest.fixture(scope="module")
def prod():
    return run_program("production")


@pytest.fixture(scope="module")
def staging():
    return run_program("staging")


@pytest.fixture(scope="module")
def dev():
    return run_program("dev")


def _ancestors_and_deps(run, urn):
    """Every URN `urn` waits for: dependencies, parents and the provider, transitively."""
    by_urn = {r["urn"]: r for r in run.resources}
    seen, todo = set(), [urn]
    while todo:
        r = by_urn.get(todo.pop())
        if r is None:
            continue
        nxt = [*r["dependencies"], r["parent"], r["provider"].rsplit("::", 1)[0] if r["provider"] else ""]
        for u in nxt:
            if u and u not in seen:
                seen.add(u)
                todo.append(u)
    return seen


def _addon(run, name):
    (a,) = [r for r in run.by_type(ADDON) if r["inputs"]["addonName"] == name]
    return a


# --- cluster access ----------------------------------------------------------------------------
def test_the_deployer_role_gets_cluster_admin_through_an_access_entry(prod):
    eks = prod.one("aws:eks/cluster:Cluster", "leadgen-production-eks")
    assert eks["inputs"]["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is False
    deployer = "arn:aws:iam::123456789012:role/leadgen-deployer-production"
    entry = prod.one("aws:eks/accessEntry:AccessEntry", "leadgen-production-deployer")
    assert entry["inputs"]["principalArn"] == deployer and entry["inputs"]["type"] == "STANDARD"
    assoc = prod.one("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "leadgen-production-deployer")
    assert assoc["inputs"]["principalArn"] == deployer
    assert assoc["inputs"]["policyArn"] == ADMIN_POLICY
    assert assoc["inputs"]["accessScope"] == {"type": "cluster"}
    assert entry["urn"] in assoc["dependencies"]


def test_every_kubernetes_resource_waits_for_the_deployers_access(prod):
    assoc = prod.one("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "leadgen-production-deployer")
    provider = prod.one("pulumi:providers:kubernetes", "leadgen-production-k8s")
    assert assoc["urn"] in provider["dependencies"]
    rule = prod.one("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                    "leadgen-production-api-from-ci-runner")
    assert rule["urn"] in provider["dependencies"]
    k8s = [r for r in prod.resources if r["type"].startswith("kubernetes:")]
    assert len(k8s) > 20
    assert all(r["provider"].startswith(provider["urn"] + "::") for r in k8s), \
        [r["urn"] for r in k8s if not r["provider"].startswith(provider["urn"])]


@pytest.mark.parametrize("value, why", [
    (None, "is required but not set"),
    ("leadgen-deployer", "('leadgen-deployer') is not an IAM role ARN"),
    ("arn:aws:iam::123456789012:user/ci", "('arn:aws:iam::123456789012:user/ci') is not an IAM role ARN"),
])
def test_the_deployer_role_is_a_required_iam_role_arn(value, why):
    from leadgen.config import ConfigError
    with pytest.raises(ConfigError) as e:
        run_program("dev", {"leadgen:cluster.deployerRoleArn": value})
    assert str(e.value) == f"leadgen:cluster.deployerRoleArn {why} in Pulumi.dev.yaml"
    assert e.value.registered == []


@pytest.mark.parametrize("cidr", ["203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24", "10.0.0.0/8",
                                  "100.64.0.0/10"])
def test_public_endpoint_ranges_refuse_documentation_and_private_ranges(cidr):
    from leadgen.config import ConfigError
    with pytest.raises(ConfigError) as e:
        run_program("production", {"leadgen:cluster.endpointPublicAccessCidrs": [cidr]})
    assert str(e.value).startswith(f"leadgen:cluster.endpointPublicAccessCidrs[0] ({cidr}) is a "
                                   "documentation, private or reserved range")


def test_ci_runner_reaches_the_private_endpoint_on_443_only(prod):
    sg = prod.one("aws:ec2/securityGroup:SecurityGroup", "leadgen-production-ci-runner")
    assert "name" not in sg["inputs"]
    assert {(e["protocol"], e["fromPort"]) for e in sg["inputs"]["egress"]} == {("tcp", 443), ("udp", 53), ("tcp", 53)}
    rule = prod.one("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                    "leadgen-production-api-from-ci-runner")
    i = rule["inputs"]
    assert (i["fromPort"], i["toPort"], i["ipProtocol"]) == (443, 443, "tcp")
    assert i["referencedSecurityGroupId"] == sg["id"]
    eks = prod.one("aws:eks/cluster:Cluster", "leadgen-production-eks")
    assert i["securityGroupId"] == eks["outputs"]["vpcConfig"]["clusterSecurityGroupId"]
    assert prod.outputs["ciRunner"]["securityGroupId"] == sg["id"]


# --- CNI before nodes --------------------------------------------------------------------------
def test_node_groups_wait_for_the_cni_which_enforces_network_policies(prod):
    cni = _addon(prod, "vpc-cni")
    assert json.loads(cni["inputs"]["configurationValues"]) == {"enableNetworkPolicy": "true"}
    assert cni["inputs"]["serviceAccountRoleArn"].startswith("arn:aws:iam::")
    groups = prod.by_type("aws:eks/nodeGroup:NodeGroup")
    assert len(groups) == 3
    for g in groups:
        assert cni["urn"] in g["dependencies"], g["urn"]
    # The CNI and the other DaemonSet add-ons come before any node, so nothing of theirs waits
    # for a node group.
    group_urns = {g["urn"] for g in groups}
    for name in ("vpc-cni", "kube-proxy", "eks-pod-identity-agent"):
        assert not group_urns & _ancestors_and_deps(prod, _addon(prod, name)["urn"]), name
    for name in ("coredns", "aws-ebs-csi-driver"):
        assert group_urns <= set(_addon(prod, name)["dependencies"]), name


# --- storage -----------------------------------------------------------------------------------
def test_a_default_encrypted_gp3_storage_class_after_the_ebs_driver(prod):
    sc = find_manifest(prod, "StorageClass", "gp3")
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert sc["provisioner"] == "ebs.csi.aws.com"
    key = prod.one("aws:kms/key:Key", "leadgen-production-key")
    assert sc["parameters"] == {"type": "gp3", "encrypted": "true", "kmsKeyId": key["outputs"]["arn"]}
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer"
    (res,) = [r for r in prod.by_type("kubernetes:storage.k8s.io/v1:StorageClass")]
    assert _addon(prod, "aws-ebs-csi-driver")["urn"] in res["dependencies"]
    assert prod.outputs["storageClassName"] == "gp3"


# --- images ------------------------------------------------------------------------------------
@pytest.mark.parametrize("stack, region, pull", [("production", "us-east-1", "IfNotPresent"),
                                                 ("staging", "us-east-2", "Always")])
def test_images_come_from_the_stacks_own_ecr_repositories(stack, region, pull, prod, staging):
    # Production's tags carry their digests (kubernetes-container-image-digest-pinned), so a node's
    # cached copy is the image; staging's are plain tags, looked up at every start.
    tags = {k: v for k, v in stack_config(stack).items() if k.endswith(".tag") and v}
    assert all(("@sha256:" in v) == (stack == "production") for v in tags.values()), tags
    run = {"production": prod, "staging": staging}[stack]
    repos = {r["inputs"]["name"]: r for r in run.by_type("aws:ecr/repository:Repository")}
    assert set(repos) == {f"leadgen-{stack}/{n}" for n in ("api", "backend", "pgbackup")}
    for r in repos.values():
        i = r["inputs"]
        assert i["imageTagMutability"] == "IMMUTABLE"
        assert i["imageScanningConfiguration"] == {"scanOnPush": True}
        assert i["encryptionConfigurations"][0]["encryptionType"] == "KMS"
        assert i["encryptionConfigurations"][0]["kmsKey"].startswith("arn:aws:kms:")
    policies = run.by_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    assert {p["inputs"]["repository"] for p in policies} == set(repos)
    registry = f"{ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com/leadgen-{stack}"
    deployments = {r["inputs"]["metadata"]["name"]: r for r in run.by_type("kubernetes:apps/v1:Deployment")}
    for name in ("api", "backend"):
        d = deployments[name]
        (c,) = d["inputs"]["spec"]["template"]["spec"]["containers"]
        assert c["image"] == f"{registry}/{name}:{tags[f'leadgen:workloads.{name}.tag']}"
        assert c["imagePullPolicy"] == pull
        assert repos[f"leadgen-{stack}/{name}"]["urn"] in _ancestors_and_deps(run, d["urn"])
    jobs = run.by_type("kubernetes:batch/v1:CronJob")
    assert jobs and all(
        c["image"] == f"{registry}/pgbackup:{tags.get('leadgen:data.backup.tag', '1.0.0')}" and c["imagePullPolicy"] == pull
        for j in jobs for c in j["inputs"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"])
    assert run.outputs["imageRepositories"]["api"] == f"{registry}/api"


def test_a_configured_repository_still_overrides_the_stacks_own():
    run = run_program("dev", {"leadgen:workloads.api.image": "registry.example.com/team/api"})
    d = [r for r in run.by_type("kubernetes:apps/v1:Deployment") if r["inputs"]["metadata"]["name"] == "api"][0]
    assert d["inputs"]["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example.com/team/api:1.0.0"


# --- load balancing, GPUs, endpoints -------------------------------------------------------------
def test_the_load_balancer_controller_is_installed_before_the_gateway(prod):
    releases = {r["inputs"]["name"]: r for r in prod.by_type("kubernetes:helm.sh/v3:Release")}
    lbc = releases["aws-load-balancer-controller"]
    v = lbc["inputs"]["values"]
    assert v["clusterName"] == "insurance-lead-gen-production" and v["region"] == "us-east-1"
    assert v["vpcId"].startswith("vpc-")
    role_arn = v["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert role_arn.startswith("arn:aws:iam::")
    policy = json.loads(prod.one("aws:iam/rolePolicy:RolePolicy",
                                 "leadgen-production-addons-aws-load-balancer-controller-policy")["inputs"]["policy"])
    create = next(s for s in policy["Statement"] if s["Sid"] == "CreateOwnLoadBalancers")
    assert create["Condition"] == {"StringEquals": {
        "aws:RequestTag/elbv2.k8s.aws/cluster": "insurance-lead-gen-production"}}
    proxy = [r for r in prod.resources if r["type"] == "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy"][0]
    assert lbc["urn"] in _ancestors_and_deps(prod, proxy["urn"])
    annotations = proxy["inputs"]["spec"]["provider"]["kubernetes"]["envoyService"]["annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-type"] == "external"
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"] == "ip"
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internet-facing"


def test_gpu_nodes_come_with_the_nvidia_device_plugin(prod, dev):
    releases = {r["inputs"]["name"]: r["inputs"] for r in prod.by_type("kubernetes:helm.sh/v3:Release")}
    plugin = releases["nvidia-device-plugin"]
    assert plugin["values"]["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    gpu = prod.one("aws:eks/nodeGroup:NodeGroup", "leadgen-production-gpu-ng")["inputs"]
    assert gpu["labels"]["nvidia.com/gpu.present"] == "true"
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in plugin["values"]["tolerations"]
    # Dev has no GPU group, so no plugin.
    assert "nvidia-device-plugin" not in {r["inputs"]["name"] for r in dev.by_type("kubernetes:helm.sh/v3:Release")}


def test_ecr_s3_and_sts_traffic_stays_off_the_nat(prod):
    endpoints = {r["inputs"]["serviceName"]: r["inputs"] for r in prod.by_type("aws:ec2/vpcEndpoint:VpcEndpoint")}
    s3 = endpoints.pop("com.amazonaws.us-east-1.s3")
    assert s3["vpcEndpointType"] == "Gateway" and len(s3["routeTableIds"]) == 3
    assert set(endpoints) == {f"com.amazonaws.us-east-1.{s}" for s in ("ecr.api", "ecr.dkr", "sts", "logs", "ec2")}
    sg = prod.one("aws:ec2/securityGroup:SecurityGroup", "leadgen-production-endpoints")
    assert sg["inputs"]["ingress"] == [{"protocol": "tcp", "fromPort": 443, "toPort": 443,
                                        "cidrBlocks": ["10.0.0.0/16"], "description": "HTTPS from the VPC"}]
    for e in endpoints.values():
        assert e["vpcEndpointType"] == "Interface" and e["privateDnsEnabled"] is True
        assert e["securityGroupIds"] == [sg["id"]] and len(e["subnetIds"]) == 3


def test_replaceable_security_groups_are_auto_named(prod):
    for name in ("leadgen-production-postgres-sg", "leadgen-production-redis-sg"):
        i = prod.one("aws:ec2/securityGroup:SecurityGroup", name)["inputs"]
        assert "name" not in i and i["namePrefix"].startswith("leadgen-production-")
