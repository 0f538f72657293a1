"""Which property changes make the provider replace a resource instead of updating it in place.

The providers mark these properties ForceNew (pulumi-aws inherits them from the Terraform AWS
provider's schema; Kubernetes replaces an object whose name or namespace changes, and the
API server refuses changes to a Deployment's selector or a Service's clusterIP). `diff.py` reads
this table to print replacements, and refuses one of a protected resource as the engine does.
A path matches itself and everything below it (`vpcConfig` covers `vpcConfig.subnetIds`).
"""
from __future__ import annotations

FORCE_NEW: dict[str, tuple[str, ...]] = {
    "aws:ec2/vpc:Vpc": ("cidrBlock", "instanceTenancy"),
    "aws:ec2/subnet:Subnet": ("cidrBlock", "vpcId", "availabilityZone", "availabilityZoneId"),
    "aws:ec2/securityGroup:SecurityGroup": ("name", "namePrefix", "description", "vpcId"),
    "aws:ec2/natGateway:NatGateway": ("allocationId", "subnetId", "connectivityType"),
    "aws:ec2/eip:Eip": ("domain",),
    "aws:ec2/routeTable:RouteTable": ("vpcId",),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ("subnetId", "gatewayId"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("serviceName", "vpcId", "vpcEndpointType"),
    "aws:ec2/flowLog:FlowLog": ("vpcId", "logDestination", "logDestinationType", "trafficType", "iamRoleArn"),
    "aws:ec2/launchTemplate:LaunchTemplate": ("name", "namePrefix"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ("securityGroupId",),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ("securityGroupId",),
    "aws:iam/role:Role": ("name", "namePrefix", "path"),
    "aws:iam/policy:Policy": ("name", "namePrefix", "path", "description"),
    "aws:iam/rolePolicy:RolePolicy": ("name", "namePrefix", "role"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("role", "policyArn"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": ("url",),
    "aws:iam/serviceLinkedRole:ServiceLinkedRole": ("awsServiceName", "customSuffix"),
    "aws:kms/key:Key": ("customerMasterKeySpec", "keyUsage", "multiRegion", "xksKeyId"),
    "aws:s3/bucket:Bucket": ("bucket", "bucketPrefix", "objectLockEnabled"),
    "aws:s3/bucketPolicy:BucketPolicy": ("bucket",),
    "aws:rds/instance:Instance": ("identifier", "identifierPrefix", "dbName", "kmsKeyId", "storageEncrypted",
                                  "username", "availabilityZone", "characterSetName", "engine", "timezone"),
    "aws:rds/subnetGroup:SubnetGroup": ("name", "namePrefix"),
    "aws:rds/parameterGroup:ParameterGroup": ("name", "namePrefix", "family", "description"),
    "aws:elasticache/replicationGroup:ReplicationGroup": (
        "replicationGroupId", "atRestEncryptionEnabled", "kmsKeyId", "subnetGroupName", "port",
        "engine", "snapshotArns", "snapshotName", "preferredCacheClusterAzs"),
    "aws:elasticache/subnetGroup:SubnetGroup": ("name",),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "namePrefix"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("name",),
    "aws:ecr/repository:Repository": ("name", "encryptionConfigurations"),
    "aws:eks/cluster:Cluster": ("name", "roleArn", "encryptionConfig", "kubernetesNetworkConfig",
                                "vpcConfig.subnetIds", "vpcConfig.securityGroupIds"),
    "aws:eks/nodeGroup:NodeGroup": ("clusterName", "nodeGroupName", "nodeGroupNamePrefix", "nodeRoleArn",
                                    "subnetIds", "amiType", "capacityType", "diskSize", "instanceTypes",
                                    "remoteAccess"),
    "aws:eks/addon:Addon": ("clusterName", "addonName"),
    "aws:eks/accessEntry:AccessEntry": ("clusterName", "principalArn", "type"),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": ("clusterName", "principalArn", "policyArn"),
    "aws:secretsmanager/secret:Secret": ("name", "namePrefix"),
    "aws:sns/topic:Topic": ("name", "namePrefix", "fifoTopic"),
    "aws:amp/workspace:Workspace": ("kmsKeyArn",),
    "aws:amp/ruleGroupNamespace:RuleGroupNamespace": ("name", "workspaceId"),
    "aws:route53/record:Record": ("name", "type", "zoneId", "setIdentifier"),
    "aws:route53/healthCheck:HealthCheck": ("type", "requestInterval", "measureLatency", "referenceName"),
    "random:index/randomPassword:RandomPassword": (
        "keepers", "length", "special", "upper", "lower", "numeric", "minLower", "minUpper",
        "minNumeric", "minSpecial", "overrideSpecial"),
    "kubernetes:apps/v1:Deployment": ("spec.selector",),
    "kubernetes:apps/v1:DaemonSet": ("spec.selector",),
    "kubernetes:apps/v1:StatefulSet": ("spec.selector", "spec.serviceName", "spec.volumeClaimTemplates"),
    "kubernetes:batch/v1:Job": ("spec",),
    "kubernetes:core/v1:Service": ("spec.clusterIP", "spec.type"),
    "kubernetes:helm.sh/v3:Release": ("name", "namespace"),
}
# Every Kubernetes object: a new name or namespace is a new object.
KUBERNETES_IDENTITY = ("metadata.name", "metadata.namespace")


def replaces(typ: str, path: str) -> bool:
    """Whether a change at `path` (dotted, list indexes as `[i]`) replaces a resource of `typ`."""
    keys = FORCE_NEW.get(typ, ())
    if typ.startswith("kubernetes:") and typ != "kubernetes:helm.sh/v3:Release":
        keys = (*keys, *KUBERNETES_IDENTITY)
    return any(path == k or path.startswith(k + ".") or path.startswith(k + "[") for k in keys)
