"""Shared by the guardrail tests of every family (tests/policies/aws, tests/policies/kubernetes):
the type tokens they name, the compliant baseline extended with one compliant resource of each type
a guardrail judges, and the one-field-changed check each family's CASES run through."""
from policy_baseline import DIGEST, KMS, aws, baseline, container, context, res, set_path, to_model, urn

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
BUCKET = ("aws:s3/bucket:Bucket", "leads-exports")
WORLD = "open only 80/443 to the world, reach the rest through the VPC or a bastion"
EBS = "aws:ebs/volume:Volume"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PAB, ACL = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "aws:s3/bucketAcl:BucketAcl"
LST = "aws:lb/listener:Listener"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
CRON = "kubernetes:batch/v1:CronJob"
CRON_C0 = "spec.jobTemplate.spec.template.spec.containers.0"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
GW = "kubernetes:gateway.networking.k8s.io/v1:Gateway"


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
        # A container that leaves imagePullPolicy to Kubernetes's default (IfNotPresent for a tag).
        res(CRON, "pgbackup-backup", {"metadata": {"name": "pgbackup-backup", "namespace": "production"}, "spec": {
            "schedule": "0 2 * * *", "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "Never", "securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
                "containers": [container("backup", f"ghcr.io/insurance-lead-gen/pgbackup:1.0.0@{DIGEST}",
                                         pull=None)]}}}}}}),
        res(HELM, "external-dns", {"chart": "external-dns", "values": {
            "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False,
                                "capabilities": {"drop": ["ALL"]}},
            "podSecurityContext": {"runAsUser": 65534}}}),
    ]


def violations(resources, ctx=None):
    """(policy, urn, message) of every guardrail violation, in the pack's order."""
    return [v for v in catalog.evaluate(to_model(resources), ctx or context())
            if catalog.BY_NAME[v[0]].group == "guardrail"]


def one_field_changed(policy, typ, name, path, value, target, message, environment="production"):
    """The extended baseline with one field changed (None deletes it) fires exactly this violation, on
    a stack of `environment` (some rules hold production only)."""
    resources = checks_baseline()
    set_path(resources, typ, name, path, value, delete=value is None)
    if policy == "aws-ec2-vpc-flow-logs-enabled":  # tied to another VPC: by id, not by dependency
        next(r for r in resources if r["type"] == FLOW)["dependencies"] = []
    expected_urn = urn(*target) if target else urn(typ, name)
    ctx = context(environment=environment)
    assert violations(resources, ctx) == [(policy, expected_urn, message)]


def case_id(case) -> str:
    return f"{case[0]}:{case[3]}"
