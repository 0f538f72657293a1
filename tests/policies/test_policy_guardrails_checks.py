"""The guardrails that mirror checkov / AWSGuard checks, each from a compliant baseline (the
shared one plus the resource types these rules judge) with one field changed per case."""
import copy

import pytest

from policy_baseline import KMS, aws, baseline, context, res, set_path, to_model, urn

from governance import catalog

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SG, SGR = "aws:ec2/securityGroup:SecurityGroup", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SUBNET, LT, NG, EKS = ("aws:ec2/subnet:Subnet", "aws:ec2/launchTemplate:LaunchTemplate",
                       "aws:eks/nodeGroup:NodeGroup", "aws:eks/cluster:Cluster")
VPC, FLOW = "aws:ec2/vpc:Vpc", "aws:ec2/flowLog:FlowLog"
KEY, EC, RDS = "aws:kms/key:Key", "aws:elasticache/replicationGroup:ReplicationGroup", "aws:rds/instance:Instance"
LOG, SECRET = "aws:cloudwatch/logGroup:LogGroup", "aws:secretsmanager/secret:Secret"
ROLE, RP, ATT = "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
BP, VER, OBJ = ("aws:s3/bucketPolicy:BucketPolicy", "aws:s3/bucketVersioning:BucketVersioning",
                "aws:s3/bucketObject:BucketObject")
DEP, SVC, HELM = "kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service", "kubernetes:helm.sh/v3:Release"
NS, NP, SA = ("kubernetes:core/v1:Namespace", "kubernetes:networking.k8s.io/v1:NetworkPolicy",
              "kubernetes:core/v1:ServiceAccount")
SC, OWN, ECR = ("kubernetes:storage.k8s.io/v1:StorageClass", "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
                "aws:ecr/repository:Repository")
PSA = {"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/audit": "restricted"}
POD = "spec.template.spec"
C0 = f"{POD}.containers.0"
TRUST = ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": '
         '"ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}')
DENY_HTTP = ('{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", '
             '"Resource": "arn:aws:s3:::leadgen-production-exports/*", "Condition": {"Bool": '
             '{"aws:SecureTransport": "false"}}}]}')
NAMES = {"policy_baseline"}


def checks_baseline() -> list[dict]:
    """The shared compliant stack plus one compliant resource of each type these rules judge."""
    resources = baseline()
    bucket = next(r for r in resources if r["type"] == "aws:s3/bucket:Bucket")
    vpc = aws(VPC, "main", {"cidrBlock": "10.0.0.0/16"})
    set_path(resources, ROLE, "exports", "assumeRolePolicy", TRUST)
    set_path(resources, EKS, "leadgen", "version", "1.35")
    return resources + [
        vpc,
        aws(FLOW, "main", {"vpcId": UNKNOWN, "trafficType": "ALL", "logDestinationType": "cloud-watch-logs"},
            deps=(vpc["urn"],)),
        aws(SUBNET, "private-a", {"vpcId": UNKNOWN, "cidrBlock": "10.0.0.0/20", "mapPublicIpOnLaunch": False}),
        aws(SG, "endpoints", {"ingress": [{"protocol": "tcp", "fromPort": 443, "toPort": 443,
                                           "cidrBlocks": ["10.0.0.0/16"]}]}),
        aws(SG, "public-lb", {"ingress": [{"protocol": "tcp", "fromPort": 443, "toPort": 443,
                                           "cidrBlocks": ["0.0.0.0/0"]}]}),
        aws(SGR, "db-from-nodes", {"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432,
                                   "referencedSecurityGroupId": "sg-1", "securityGroupId": "sg-2"}),
        aws(LOG, "app", {"kmsKeyId": KMS, "retentionInDays": 365}),
        aws(SECRET, "grafana", {"kmsKeyId": KMS, "recoveryWindowInDays": 7}),
        aws(ATT, "node-worker", {"role": "node", "policyArn": "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"}),
        aws(BP, "leads-exports-policy", {"bucket": "leadgen-production-exports", "policy": DENY_HTTP}),
        aws(OBJ, "readme", {"bucket": "leadgen-production-exports", "key": "README", "acl": "private"}),
        res(SVC, "api", {"metadata": {"name": "api", "namespace": "production"},
                         "spec": {"type": "ClusterIP", "ports": [{"port": 3000}]}}),
        res(SVC, "internal-lb", {"metadata": {"name": "internal-lb", "namespace": "production", "annotations": {
            "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"}},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 443}]}}),
        res(NS, "production-ns", {"metadata": {"name": "production", "labels": dict(PSA)}}),
        res(NP, "default-deny", {"metadata": {"name": "default-deny", "namespace": "production"},
                                 "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}),
        res(SA, "api-sa", {"metadata": {"name": "api", "namespace": "production"},
                           "automountServiceAccountToken": False}),
        res(SC, "gp3", {"metadata": {"name": "gp3"}, "provisioner": "ebs.csi.aws.com",
                        "parameters": {"type": "gp3", "encrypted": "true", "kmsKeyId": KMS}}),
        aws(OWN, "leads-exports-ownership", {"bucket": "leadgen-production-exports",
                                             "rule": {"objectOwnership": "BucketOwnerEnforced"}}),
        aws(ECR, "api-images", {"name": "leadgen/api", "imageTagMutability": "IMMUTABLE",
                                "imageScanningConfiguration": {"scanOnPush": True},
                                "encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": KMS}]}),
        res(HELM, "external-dns", {"chart": "external-dns", "values": {
            "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False,
                                "capabilities": {"drop": ["ALL"]}},
            "podSecurityContext": {"runAsUser": 65534}}}),
    ]


def violations(resources, ctx=None):
    return [v for v in catalog.evaluate(to_model(resources), ctx or context())
            if catalog.BY_NAME[v[0]].group == "guardrail"]


def test_the_extended_baseline_is_compliant():
    assert violations(checks_baseline()) == []


BUCKET = ("aws:s3/bucket:Bucket", "leads-exports")
WORLD = "open only 80/443 to the world, reach the rest through the VPC or a bastion"
CASES = [
    # (policy, type, name, path, value, resource the violation names, message)
    ("aws-ec2-security-group-no-world-ingress", SG, "endpoints", "ingress.0",
     {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}, None,
     f"endpoints: ingress[0] lets 0.0.0.0/0 reach port 22 (tcp); {WORLD}"),
    ("aws-ec2-security-group-no-world-ingress", SGR, "db-from-nodes", "cidrIpv6", "::/0", None,
     f"db-from-nodes: lets ::/0 reach port 5432 (tcp); {WORLD}"),
    ("aws-ec2-subnet-no-public-ip-on-launch", SUBNET, "private-a", "mapPublicIpOnLaunch", True, None,
     "private-a: mapPublicIpOnLaunch must be false; instances get public addresses only through a load balancer or NAT"),
    ("aws-ec2-no-public-ip", LT, "general", "networkInterfaces", [{"associatePublicIpAddress": "true"}], None,
     "general: networkInterfaces[0].associatePublicIpAddress must be false; nodes stay in the private subnets"),
    ("aws-eks-node-group-no-remote-access", NG, "general", "remoteAccess", {"ec2SshKey": "ops"}, None,
     "general: remoteAccess opens SSH to the nodes; remove it (use SSM Session Manager)"),
    ("aws-eks-cluster-supported-version", EKS, "leadgen", "version", "1.23", None,  # judged on 2026-12-15 (the context clock): 1.34 left on 12-02
     "leadgen: Kubernetes 1.23 is past EKS standard support; run 1.35 or newer"),
    ("aws-ec2-vpc-flow-logs-enabled", FLOW, "main", "vpcId", "vpc-other", (VPC, "main"), None),
    ("aws-kms-key-rotation-enabled", KEY, "platform", "enableKeyRotation", False, None,
     "platform: enableKeyRotation must be true"),
    ("aws-elasticache-transit-encryption", EC, "sessions", "transitEncryptionEnabled", False, None,
     "sessions: transitEncryptionEnabled must be true"),
    ("aws-rds-multi-az", RDS, "leads", "multiAz", False, None, "leads: multiAz must be true on stack production"),
    ("aws-rds-iam-authentication", RDS, "leads", "iamDatabaseAuthenticationEnabled", False, None,
     "leads: iamDatabaseAuthenticationEnabled must be true (short-lived IAM tokens, not stored passwords)"),
    ("aws-rds-performance-insights-encrypted", RDS, "leads", "performanceInsightsEnabled", True, None,
     "leads: performanceInsightsKmsKeyId must name the customer-managed KMS key"),
    ("aws-cloudwatch-log-group-encrypted", LOG, "app", "kmsKeyId", None, None,
     "app: kmsKeyId must name the customer-managed KMS key"),
    ("aws-cloudwatch-log-group-retention", LOG, "app", "retentionInDays", 1, None,
     "app: retentionInDays is 1; keep logs at least 365 days"),
    ("aws-secretsmanager-secret-cmk", SECRET, "grafana", "kmsKeyId", None, None,
     "grafana: kmsKeyId must name the customer-managed KMS key (not aws/secretsmanager)"),
    ("aws-iam-trust-policy-restricted", ROLE, "exports", "assumeRolePolicy",
     '{"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}', None,
     "exports: assumeRolePolicy Statement[0] lets any principal assume the role; name the service, account or "
     "OIDC provider (with its conditions)"),
    ("aws-iam-no-wildcard-actions", RP, "exports-writer", "policy",
     '{"Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}', None,
     'exports-writer: policy Statement[0] allows iam:* on "*"; grant the actions it needs on the resources it needs'),
    ("aws-iam-no-wildcard-actions", RP, "exports-writer", "policy",
     '{"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}', None,
     "exports-writer: policy Statement[0] allows with NotAction, which grants every action it does not list; "
     "list the actions allowed"),
    ("aws-iam-no-privilege-escalation", RP, "exports-writer", "policy",
     '{"Statement": [{"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": "*"}]}', None,
     'exports-writer: policy Statement[0] allows iam:PassRole on "*", which lets the holder grant itself more; '
     "scope it to named ARNs"),
    ("aws-iam-no-privilege-escalation", ATT, "node-worker", "policyArn", "arn:aws:iam::aws:policy/AdministratorAccess",
     None, "node-worker: attaches AdministratorAccess; grant the actions the role needs"),
    ("aws-s3-bucket-policy-not-public", BP, "leads-exports-policy", "policy",
     '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]}', None,
     "leads-exports-policy: policy Statement[0] allows 's3:GetObject' to any principal; name the roles that need it"),
    ("aws-s3-object-acl-not-public", OBJ, "readme", "acl", "public-read", None,
     "readme: acl public-read makes the object public"),
    ("aws-s3-bucket-versioning-enabled", VER, "leads-exports-versioning", "versioningConfiguration.status",
     "Suspended", BUCKET, "leads-exports: versioning is Suspended; it must be Enabled"),
    ("kubernetes-pod-no-host-namespaces", DEP, "api", f"{POD}.hostNetwork", True, None,
     "api: pod sets hostNetwork: true; it would share the node's namespaces"),
    ("kubernetes-pod-no-host-namespaces", DEP, "api", f"{POD}.hostPID", True, None,
     "api: pod sets hostPID: true; it would share the node's namespaces"),
    ("kubernetes-container-no-dangerous-capabilities", DEP, "api", f"{C0}.securityContext.capabilities.add",
     ["SYS_ADMIN"], None, "api: container api adds capability SYS_ADMIN; drop ALL and add only what it needs"),
    ("kubernetes-service-load-balancer-restricted", SVC, "api", "spec.type", "LoadBalancer", None,
     "api: a LoadBalancer Service open to the world; make it internal or list spec.loadBalancerSourceRanges "
     "(public traffic enters through the Gateway)"),
    ("helm-release-values-pod-security", HELM, "external-dns", "values.securityContext.privileged", True, None,
     "external-dns (external-dns): values securityContext.privileged: true runs a privileged container"),
    ("helm-release-values-pod-security", HELM, "external-dns", "values.podSecurityContext.runAsUser", 0, None,
     "external-dns (external-dns): values podSecurityContext.runAsUser: 0 runs as root"),
    ("helm-release-values-pod-security", HELM, "external-dns", "values.hostNetwork", True, None,
     "external-dns (external-dns): values hostNetwork: true shares the node's namespaces"),
    ("aws-s3-bucket-ownership-enforced", OWN, "leads-exports-ownership", "rule.objectOwnership", "ObjectWriter", None,
     "leads-exports-ownership: rule.objectOwnership is ObjectWriter; BucketOwnerEnforced turns every ACL off"),
    ("aws-ecr-repository-hardened", ECR, "api-images", "imageTagMutability", "MUTABLE", None,
     "api-images: imageTagMutability must be IMMUTABLE, so a tag names one image for good"),
    ("aws-ecr-repository-hardened", ECR, "api-images", "imageScanningConfiguration.scanOnPush", False, None,
     "api-images: imageScanningConfiguration.scanOnPush must be true"),
    ("kubernetes-namespace-pod-security", NS, "production-ns", "metadata.labels",
     {"pod-security.kubernetes.io/enforce": "privileged"}, None,
     "production: enforces privileged without pod-security.kubernetes.io/audit at baseline or restricted"),
    ("kubernetes-namespace-pod-security", NS, "production-ns", "metadata.labels", {}, None,
     "production: label pod-security.kubernetes.io/enforce must be one of privileged, baseline, restricted"),
    ("kubernetes-service-account-no-token-automount", SA, "api-sa", "automountServiceAccountToken", True, None,
     "api: automountServiceAccountToken must be false; a pod that calls the API asks for it"),
    ("kubernetes-storage-class-encrypted", SC, "gp3", "parameters.encrypted", "false", None,
     'gp3: parameters.encrypted must be "true"'),
    ("kubernetes-namespace-default-deny", NP, "default-deny", "spec.policyTypes", ["Ingress"], (NS, "production-ns"),
     "production: no default-deny NetworkPolicy (all pods, Ingress and Egress) in this namespace"),
]
CASES[6] = CASES[6][:6] + ("main: no flow log records this VPC's traffic",)


@pytest.mark.parametrize("policy,typ,name,path,value,target,message", CASES,
                         ids=[f"{c[0]}:{c[3]}" for c in CASES])
def test_one_field_changed_fires_exactly_one_policy(policy, typ, name, path, value, target, message):
    resources = checks_baseline()
    set_path(resources, typ, name, path, value, delete=value is None)
    if policy == "aws-ec2-vpc-flow-logs-enabled":  # tied to another VPC: by id, not by dependency
        next(r for r in resources if r["type"] == FLOW)["dependencies"] = []
    expected_urn = urn(*target) if target else urn(typ, name)
    assert violations(resources) == [(policy, expected_urn, message)]


def test_the_flow_log_removed_is_caught():
    resources = [r for r in checks_baseline() if r["type"] != FLOW]
    assert violations(resources) == [("aws-ec2-vpc-flow-logs-enabled", urn(VPC, "main"),
                                      "main: no flow log records this VPC's traffic")]


def test_inline_kms_bucket_encryption_counts():
    """Old programs encrypt on the bucket itself (serverSideEncryptionConfiguration.rule)."""
    resources = [r for r in checks_baseline()
                 if r["type"] != "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"]
    rule = {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KMS}}
    set_path(resources, *BUCKET, "serverSideEncryptionConfiguration", {"rule": rule})
    assert violations(resources) == []
    set_path(resources, *BUCKET, "serverSideEncryptionConfiguration.rule.applyServerSideEncryptionByDefault.sseAlgorithm",
             "AES256")
    assert violations(resources) == [("aws-s3-bucket-kms-encrypted", urn(*BUCKET),
                                      "leads-exports: sseAlgorithm is 'AES256', must be aws:kms")]


def test_one_finding_per_bucket_however_many_blocks_pair_with_it():
    resources = checks_baseline()
    pab = next(r for r in resources if r["type"] == "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    for i in range(3):
        extra = copy.deepcopy(pab)
        extra["urn"] += f"-{i}"
        for side in ("inputs", "outputs"):
            extra[side]["blockPublicPolicy"] = False
        resources.append(extra)
    assert violations(resources) == [("aws-s3-bucket-public-access-blocked", urn(*BUCKET),
                                      "leads-exports: public access block leaves blockPublicPolicy off")]


def test_deny_statements_and_conditioned_trust_are_not_public():
    resources = checks_baseline()
    set_path(resources, ROLE, "exports", "assumeRolePolicy",
             '{"Statement": [{"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/x"}, '
             '"Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringEquals": {"x:sub": "y"}}}]}')
    assert violations(resources) == []


@pytest.mark.parametrize("typ,name,path", [
    (SG, "endpoints", "ingress.0.cidrBlocks"), (SVC, "internal-lb", "metadata.annotations"),
    (RP, "exports-writer", "policy"), (LOG, "app", "retentionInDays"), (HELM, "external-dns", "values"),
])
def test_values_unknown_at_preview_skip_never_fail(typ, name, path):
    resources = checks_baseline()
    set_path(resources, typ, name, path, UNKNOWN)
    assert violations(resources) == []


def test_every_new_guardrail_has_a_failing_case():
    new = {s.name for s in catalog.SPECS if "checkov" in s.description or "CIS " in s.description}
    assert new and new <= {c[0] for c in CASES}
