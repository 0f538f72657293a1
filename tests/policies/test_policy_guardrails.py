"""Every guardrail from a compliant baseline: one field changed per case, the exact message."""
import pytest

from policy_baseline import baseline, context, set_path, to_model, urn

from governance import catalog

GUARDRAILS = [s for s in catalog.SPECS if s.group == "guardrail"]
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

EKS, NG, LT = "aws:eks/cluster:Cluster", "aws:eks/nodeGroup:NodeGroup", "aws:ec2/launchTemplate:LaunchTemplate"
RDS, EC, EBS = "aws:rds/instance:Instance", "aws:elasticache/replicationGroup:ReplicationGroup", "aws:ebs/volume:Volume"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PAB, ACL = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "aws:s3/bucketAcl:BucketAcl"
LST, RP, ROLE = "aws:lb/listener:Listener", "aws:iam/rolePolicy:RolePolicy", "aws:iam/role:Role"
DEP, HPA, PDB = "kubernetes:apps/v1:Deployment", "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "kubernetes:policy/v1:PodDisruptionBudget"
GW = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
C0 = "spec.template.spec.containers.0"


def violations(resources, ctx=None):
    ctx = ctx or context()
    model = to_model(resources)
    out = []
    for spec in GUARDRAILS:
        if spec.kind == "resource":
            for r in model:
                out += [(spec.name, r.urn, m) for m in catalog.check_resource(spec, r, ctx)]
        else:
            out += [(spec.name, u, m) for m, u in catalog.check_stack(spec, model, ctx)]
    return out


def test_baseline_is_compliant():
    assert violations(baseline()) == []


def test_every_guardrail_has_description_severity_and_level():
    for spec in catalog.SPECS:
        assert spec.description and spec.severity in ("low", "medium", "high", "critical")
        assert spec.enforcement in ("mandatory", "advisory")
        assert spec.name == spec.name.lower() and " " not in spec.name


CASES = [
    # (policy, type, name, path, value, resource the violation names, message)
    ("aws-rds-storage-encrypted", RDS, "leads", "storageEncrypted", False, None, "leads: storageEncrypted must be true"),
    ("aws-rds-storage-encrypted", RDS, "leads", "kmsKeyId", "", None,
     "leads: kmsKeyId must name the customer-managed KMS key (the AWS-managed default key cannot be audited or rotated by us)"),
    ("aws-rds-not-publicly-accessible", RDS, "leads", "publiclyAccessible", True, None,
     "leads: publiclyAccessible must be false; databases are reached only from the private subnets"),
    ("aws-rds-deletion-protection-enabled", RDS, "leads", "deletionProtection", False, None,
     "leads: deletionProtection must be true on stack production"),
    ("aws-rds-backup-retention", RDS, "leads", "backupRetentionPeriod", 6, None,
     "leads: backupRetentionPeriod is 6 days; stack production keeps at least 7"),
    ("aws-elasticache-replication-group-encrypted", EC, "sessions", "atRestEncryptionEnabled", False, None,
     "sessions: atRestEncryptionEnabled must be true"),
    ("aws-elasticache-replication-group-encrypted", EC, "sessions", "kmsKeyId", None, None,
     "sessions: kmsKeyId must name the customer-managed KMS key"),
    ("aws-ebs-volume-encrypted", EBS, "scratch", "encrypted", False, None, "scratch: encrypted must be true"),
    ("aws-ec2-launch-template-imdsv2", LT, "general", "metadataOptions.httpTokens", "optional", None,
     'general: metadataOptions.httpTokens must be "required" (IMDSv2 only)'),
    ("aws-ec2-launch-template-ebs-encrypted", LT, "general", "blockDeviceMappings.0.ebs.encrypted", "false", None,
     "general: blockDeviceMappings[0].ebs.encrypted must be true"),
    ("aws-eks-node-group-launch-template", NG, "general", "launchTemplate", None, None,
     "general: launchTemplate must be set so nodes require IMDSv2 and encrypt their volumes"),
    ("aws-eks-node-group-gpu-tainted", NG, "gpu", "taints", [], None,
     "gpu: a GPU node group needs a NO_SCHEDULE taint so only GPU workloads land on its nodes"),
    ("aws-eks-cluster-secrets-encrypted", EKS, "leadgen", "encryptionConfig", None, None,
     'leadgen: encryptionConfig must encrypt "secrets" with a KMS key'),
    ("aws-eks-cluster-secrets-encrypted", EKS, "leadgen", "encryptionConfig.provider.keyArn", "", None,
     "leadgen: encryptionConfig.provider.keyArn must name the KMS key"),
    ("aws-eks-cluster-control-plane-logging", EKS, "leadgen", "enabledClusterLogTypes", ["api", "audit"], None,
     "leadgen: enabledClusterLogTypes is missing authenticator, controllerManager, scheduler"),
    ("aws-eks-cluster-endpoint-restricted", EKS, "leadgen", "vpcConfig.publicAccessCidrs", ["0.0.0.0/0"], None,
     "leadgen: vpcConfig.publicAccessCidrs must not contain 0.0.0.0/0"),
    ("aws-eks-cluster-endpoint-restricted", EKS, "leadgen", "vpcConfig.publicAccessCidrs", None, None,
     "leadgen: vpcConfig.publicAccessCidrs must list the admin networks when the public endpoint is on"),
    ("aws-s3-bucket-acl-not-public", ACL, "leads-exports-acl", "acl", "public-read", None,
     "leads-exports-acl: acl public-read makes the bucket public"),
    ("aws-s3-bucket-kms-encrypted", SSE, "leads-exports-sse",
     "rules.0.applyServerSideEncryptionByDefault.sseAlgorithm", "AES256", ("aws:s3/bucket:Bucket", "leads-exports"),
     "leads-exports: sseAlgorithm is 'AES256', must be aws:kms"),
    ("aws-s3-bucket-public-access-blocked", PAB, "leads-exports-pab", "restrictPublicBuckets", False,
     ("aws:s3/bucket:Bucket", "leads-exports"), "leads-exports: public access block leaves restrictPublicBuckets off"),
    ("aws-lb-listener-tls", LST, "https", "protocol", "HTTP", None,
     "https: protocol HTTP must be HTTPS or TLS (HTTP only to redirect to HTTPS)"),
    ("aws-lb-listener-tls", LST, "http-redirect", "defaultActions.0.redirect.protocol", "HTTP", None,
     "http-redirect: protocol HTTP must be HTTPS or TLS (HTTP only to redirect to HTTPS)"),
    ("aws-iam-no-admin-statement", RP, "exports-writer", "policy",
     '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}', None,
     'exports-writer: policy allows "*" on "*"; grant the actions on the resources it needs'),
    ("aws-iam-no-admin-statement", ROLE, "exports", "inlinePolicies",
     [{"name": "admin", "policy": '{"Statement": {"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}}'}], None,
     'exports: inlinePolicies[0] allows "*" on "*"; grant the actions on the resources it needs'),
    # The provider's defaultTags carry the three tags; a resource's own empty tag overrides them.
    ("aws-resource-required-tags", "aws:kms/key:Key", "platform", "tags", {"cost-center": ""}, None,
     "platform: missing tags cost-center"),
    ("kubernetes-container-resources", DEP, "api", f"{C0}.resources.limits", {}, None,
     "api: container api is missing resources limits.cpu, limits.memory"),
    ("kubernetes-container-non-root", DEP, "api", f"{C0}.securityContext.runAsNonRoot", False, None,
     "api: container api must set securityContext.runAsNonRoot: true"),
    ("kubernetes-container-no-privilege-escalation", DEP, "api", f"{C0}.securityContext.allowPrivilegeEscalation", True,
     None, "api: container api must set securityContext.allowPrivilegeEscalation: false"),
    ("kubernetes-container-image-tag-pinned", DEP, "api", f"{C0}.image", "ghcr.io/insurance-lead-gen/api:latest", None,
     "api: container api image ghcr.io/insurance-lead-gen/api:latest uses the latest tag"),
    ("kubernetes-container-image-tag-pinned", DEP, "api", f"{C0}.image", "localhost:5000/api", None,
     "api: container api image localhost:5000/api has no tag (it would pull latest)"),
    ("kubernetes-deployment-hpa-min-replicas", HPA, "api", "spec.minReplicas", 2, (DEP, "api"),
     "api: HorizontalPodAutoscaler api has minReplicas 2, needs at least 3"),
    ("kubernetes-deployment-hpa-min-replicas", HPA, "api", "spec.scaleTargetRef.name", "backend", (DEP, "api"),
     "api: no HorizontalPodAutoscaler targets this production Deployment"),
    ("kubernetes-deployment-pod-disruption-budget", PDB, "api", "spec.selector.matchLabels", {"app": "web"}, (DEP, "api"),
     "api: no PodDisruptionBudget selects this production Deployment's pods"),
    ("kubernetes-listener-tls", GW, "public", "spec.listeners.0.protocol", "HTTP", None,
     "public: listener https speaks HTTP; use HTTPS or TLS (HTTP only with routes that redirect to https)"),
]


@pytest.mark.parametrize("policy,typ,name,path,value,target,message", CASES,
                         ids=[f"{c[0]}:{c[3]}" for c in CASES])
def test_one_field_changed_fires_exactly_one_policy(policy, typ, name, path, value, target, message):
    resources = baseline()
    set_path(resources, typ, name, path, value, delete=value is None)
    expected_urn = urn(*target) if target else urn(typ, name)
    assert violations(resources) == [(policy, expected_urn, message)]


def test_every_guardrail_has_a_failing_case():
    from test_policy_guardrails_checks import CASES as CHECKS  # the checkov-mirroring rules' cases

    assert {s.name for s in GUARDRAILS} <= {c[0] for c in CASES + CHECKS}


@pytest.mark.parametrize("typ,name,path", [
    (RDS, "leads", "storageEncrypted"), (EKS, "leadgen", "vpcConfig.publicAccessCidrs"),
    (EKS, "leadgen", "encryptionConfig"), (RP, "exports-writer", "policy"), (DEP, "api", f"{C0}.image"),
    (NG, "gpu", "instanceTypes"), ("pulumi:providers:aws", "aws-production", "defaultTags.tags"),
    (HPA, "api", "spec.minReplicas"), (DEP, "api", "metadata.namespace"), (LT, "general", "metadataOptions"),
])
def test_values_unknown_at_preview_skip_never_fail(typ, name, path):
    resources = baseline()
    set_path(resources, typ, name, path, UNKNOWN)
    assert violations(resources) == []


def test_protected_only_database_rules_do_not_apply_to_dev():
    resources = baseline()
    set_path(resources, RDS, "leads", "deletionProtection", False)
    set_path(resources, RDS, "leads", "backupRetentionPeriod", 1)
    assert violations(resources, context("dev")) == []


def test_bucket_without_sse_or_public_access_block():
    resources = [r for r in baseline() if r["type"] not in (SSE, PAB)]
    bucket = urn("aws:s3/bucket:Bucket", "leads-exports")
    assert violations(resources) == [
        ("aws-s3-bucket-kms-encrypted", bucket, "leads-exports: no server-side encryption configuration with aws:kms"),
        ("aws-s3-bucket-public-access-blocked", bucket, "leads-exports: no public access block")]


def test_deployment_outside_production_needs_no_hpa():
    resources = baseline()
    set_path(resources, DEP, "api", "metadata.namespace", "monitoring")
    resources = [r for r in resources if r["type"] not in (HPA, PDB)]
    assert violations(resources) == []


def _canary(resources):
    import copy

    api = next(r for r in resources if r["type"] == DEP and r["name"] == "api")
    canary = copy.deepcopy(api)
    canary["name"] = "api-canary"
    canary["urn"] = urn(DEP, "api-canary")
    labels = {"app": "api", "track": "canary"}
    for side in ("inputs", "outputs"):
        canary[side]["metadata"].update(name="api-canary", labels=labels)
        canary[side]["spec"]["selector"]["matchLabels"] = labels
        canary[side]["spec"]["template"]["metadata"]["labels"] = labels
    return resources + [canary]


def test_the_canary_is_recognised_by_its_track_and_keeps_its_pdb():
    resources = _canary(baseline())
    assert violations(resources) == []  # the api PDB selects app=api, the canary's pods included
    for side in ("inputs", "outputs"):
        resources[-1][side]["spec"]["template"]["metadata"]["labels"] = {"app": "api-canary", "track": "canary"}
    assert violations(resources) == [("kubernetes-deployment-pod-disruption-budget", urn(DEP, "api-canary"),
                                      "api-canary: no PodDisruptionBudget selects this production Deployment's pods")]
    # A Deployment that only calls itself a canary by name is judged like any other.
    named = _canary(baseline())
    for side in ("inputs", "outputs"):
        named[-1][side]["metadata"]["labels"] = {"app": "api"}
        named[-1][side]["spec"]["template"]["metadata"]["labels"] = {"app": "api"}
    assert [v[0] for v in violations(named)] == ["kubernetes-deployment-hpa-min-replicas"]


@pytest.mark.parametrize("stack,environment,judged", [
    ("dev", "dev", False), ("staging", "staging", False), ("production", "production", True),
    # The environment, not the stack's or the namespace's name, decides.
    ("prod-eu", "production", True), ("production", "staging", False), ("dev", "", False), ("production", "", True)])
def test_the_hpa_rule_reads_the_stacks_environment(stack, environment, judged):
    import dataclasses

    from governance import config as gconfig

    resources = [r for r in baseline() if r["type"] != HPA]  # namespace "production" in every stack
    ctx = context(stack)
    ctx = dataclasses.replace(ctx, config=gconfig.from_mapping({"leadgen:environment": environment}))
    got = [v[0] for v in violations(resources, ctx) if v[0] == "kubernetes-deployment-hpa-min-replicas"]
    assert got == (["kubernetes-deployment-hpa-min-replicas"] if judged else [])
