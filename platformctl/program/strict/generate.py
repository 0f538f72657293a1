"""Regenerates aws_limits.py: the name limits AWS enforces at create time, from the AWS API models.

    python -m platformctl.program.strict.generate          # rewrite aws_limits.py
    python -m platformctl.program.strict.generate --check  # exit 1 when it differs (a test runs this)

Where an API model (botocore's `service-2.json`, pinned in requirements.txt) carries `min`, `max`
or `pattern` on a shape, the table takes them from there: nothing typed by hand that AWS publishes
as data. Some APIs validate names server-side only (S3, RDS, ElastiCache, SNS, ELB, EC2, EKS node
groups): their shapes are bare strings, so DOCUMENTED gives each rule with the page that states it,
and the generator refuses a documented rule for a shape the model constrains itself.
"""
from __future__ import annotations

import argparse
import pprint
import sys
from pathlib import Path

TARGET = Path(__file__).with_name("aws_limits.py")

# Pulumi type -> input property -> (botocore service, operation, input member) that receives it.
SOURCES: dict[str, dict[str, tuple[str, str, str]]] = {
    "aws:iam/role:Role": {"name": ("iam", "CreateRole", "RoleName"),
                          "description": ("iam", "CreateRole", "Description"),
                          "path": ("iam", "CreateRole", "Path")},
    "aws:iam/policy:Policy": {"name": ("iam", "CreatePolicy", "PolicyName"),
                              "path": ("iam", "CreatePolicy", "Path")},
    "aws:iam/rolePolicy:RolePolicy": {"name": ("iam", "PutRolePolicy", "PolicyName")},
    "aws:s3/bucket:Bucket": {"bucket": ("s3", "CreateBucket", "Bucket")},
    "aws:rds/instance:Instance": {"identifier": ("rds", "CreateDBInstance", "DBInstanceIdentifier"),
                                  "dbName": ("rds", "CreateDBInstance", "DBName"),
                                  "username": ("rds", "CreateDBInstance", "MasterUsername")},
    "aws:rds/subnetGroup:SubnetGroup": {"name": ("rds", "CreateDBSubnetGroup", "DBSubnetGroupName")},
    "aws:rds/parameterGroup:ParameterGroup": {"name": ("rds", "CreateDBParameterGroup", "DBParameterGroupName")},
    "aws:elasticache/replicationGroup:ReplicationGroup": {
        "replicationGroupId": ("elasticache", "CreateReplicationGroup", "ReplicationGroupId")},
    "aws:elasticache/subnetGroup:SubnetGroup": {
        "name": ("elasticache", "CreateCacheSubnetGroup", "CacheSubnetGroupName")},
    "aws:cloudwatch/logGroup:LogGroup": {"name": ("logs", "CreateLogGroup", "logGroupName")},
    "aws:cloudwatch/metricAlarm:MetricAlarm": {"name": ("cloudwatch", "PutMetricAlarm", "AlarmName"),
                                               "alarmDescription": ("cloudwatch", "PutMetricAlarm", "AlarmDescription")},
    "aws:ecr/repository:Repository": {"name": ("ecr", "CreateRepository", "repositoryName")},
    "aws:eks/cluster:Cluster": {"name": ("eks", "CreateCluster", "name")},
    "aws:eks/nodeGroup:NodeGroup": {"nodeGroupName": ("eks", "CreateNodegroup", "nodegroupName")},
    "aws:sns/topic:Topic": {"name": ("sns", "CreateTopic", "Name")},
    "aws:secretsmanager/secret:Secret": {"name": ("secretsmanager", "CreateSecret", "Name"),
                                         "description": ("secretsmanager", "CreateSecret", "Description")},
    "aws:amp/workspace:Workspace": {"alias": ("amp", "CreateWorkspace", "alias")},
    "aws:amp/ruleGroupNamespace:RuleGroupNamespace": {"name": ("amp", "CreateRuleGroupsNamespace", "name")},
    "aws:ec2/launchTemplate:LaunchTemplate": {"name": ("ec2", "CreateLaunchTemplate", "LaunchTemplateName")},
    "aws:ec2/securityGroup:SecurityGroup": {"name": ("ec2", "CreateSecurityGroup", "GroupName"),
                                            "description": ("ec2", "CreateSecurityGroup", "Description")},
    "aws:lb/loadBalancer:LoadBalancer": {"name": ("elbv2", "CreateLoadBalancer", "Name")},
    "aws:lb/targetGroup:TargetGroup": {"name": ("elbv2", "CreateTargetGroup", "Name")},
    "aws:kms/alias:Alias": {"name": ("kms", "CreateAlias", "AliasName")},
}

_LOWER_DNS = r"[a-z0-9][a-z0-9.-]*[a-z0-9]"
_LETTER_HYPHEN = r"[A-Za-z](?!.*--)[A-Za-z0-9-]*(?<!-)"
# (service, operation, member) -> rule, for members whose model shape has no constraint.
DOCUMENTED: dict[tuple[str, str, str], dict] = {
    ("s3", "CreateBucket", "Bucket"): {
        "min": 3, "max": 63, "pattern": r"(?!xn--)(?!sthree-)(?!.*\.\.)" + _LOWER_DNS + r"(?<!-s3alias)(?<!--ol-s3)",
        "source": "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html"},
    ("rds", "CreateDBInstance", "DBInstanceIdentifier"): {
        "min": 1, "max": 63, "pattern": _LETTER_HYPHEN,
        "source": "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html"},
    ("rds", "CreateDBInstance", "DBName"): {
        "min": 1, "max": 63, "pattern": r"[A-Za-z][A-Za-z0-9_]*",
        "source": "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html"},
    ("rds", "CreateDBInstance", "MasterUsername"): {
        "min": 1, "max": 63, "pattern": r"[A-Za-z][A-Za-z0-9_]*",
        "source": "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html"},
    ("rds", "CreateDBSubnetGroup", "DBSubnetGroupName"): {
        "min": 1, "max": 255, "pattern": r"[a-z0-9 ._-]+",
        "source": "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBSubnetGroup.html"},
    ("rds", "CreateDBParameterGroup", "DBParameterGroupName"): {
        "min": 1, "max": 255, "pattern": _LETTER_HYPHEN,
        "source": "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBParameterGroup.html"},
    ("elasticache", "CreateReplicationGroup", "ReplicationGroupId"): {
        "min": 1, "max": 40, "pattern": _LETTER_HYPHEN,
        "source": "https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html"},
    ("elasticache", "CreateCacheSubnetGroup", "CacheSubnetGroupName"): {
        "min": 1, "max": 255, "pattern": r"[a-z0-9-]+",
        "source": "https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateCacheSubnetGroup.html"},
    ("eks", "CreateNodegroup", "nodegroupName"): {
        "min": 1, "max": 63, "pattern": r"[0-9A-Za-z][A-Za-z0-9_-]*",
        "source": "https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateNodegroup.html"},
    ("sns", "CreateTopic", "Name"): {
        "min": 1, "max": 256, "pattern": r"[A-Za-z0-9_-]+(\.fifo)?",
        "source": "https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html"},
    ("ec2", "CreateLaunchTemplate", "LaunchTemplateName"): {
        "min": 3, "max": 128, "pattern": r"[a-zA-Z0-9().\-/_]+",
        "source": "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateLaunchTemplate.html"},
    ("ec2", "CreateSecurityGroup", "GroupName"): {
        "min": 1, "max": 255, "pattern": r"(?!sg-)[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]+",
        "source": "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html"},
    ("ec2", "CreateSecurityGroup", "Description"): {
        "min": 0, "max": 255, "pattern": r"[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]*",
        "source": "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html"},
    ("elbv2", "CreateLoadBalancer", "Name"): {
        "min": 1, "max": 32, "pattern": r"(?!internal-)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?",
        "source": "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html"},
    ("elbv2", "CreateTargetGroup", "Name"): {
        "min": 1, "max": 32, "pattern": r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?",
        "source": "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html"},
}


def build() -> dict[str, dict[str, dict]]:
    import botocore.session

    session = botocore.session.get_session()
    models: dict = {}
    table: dict[str, dict[str, dict]] = {}
    for typ, props in sorted(SOURCES.items()):
        for prop, (service, operation, member) in sorted(props.items()):
            model = models.setdefault(service, session.get_service_model(service))
            shape = model.operation_model(operation).input_shape.members[member]
            meta = {k: shape.metadata[k] for k in ("min", "max", "pattern") if k in shape.metadata}
            api = f"{model.metadata.get('serviceId', service)} {operation} {member}"
            documented = DOCUMENTED.get((service, operation, member))
            if meta and documented:
                raise SystemExit(f"{api}: the model constrains {shape.name} itself; drop its DOCUMENTED rule")
            if meta:
                rule = {**meta, "source": f"botocore {service} {shape.name}"}
            elif documented:
                rule = dict(documented)
            else:
                raise SystemExit(f"{api}: shape {shape.name} has no limits and no DOCUMENTED rule")
            table.setdefault(typ, {})[prop] = {"api": api, **rule}
    return table


def render(table: dict) -> str:
    import botocore

    return ('"""GENERATED by `python -m platformctl.program.strict.generate`; do not edit.\n\n'
            "What AWS enforces on each name-like input at create time: min/max length and the pattern\n"
            "the whole value must match, from the AWS API models (or the documented rule where the model\n"
            'has none: `source` says which)."""\n'
            f"BOTOCORE_VERSION = {botocore.__version__!r}\n\n"
            f"LIMITS = {pprint.pformat(table, width=110, sort_dicts=True)}\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m platformctl.program.strict.generate", description=__doc__)
    p.add_argument("--check", action="store_true", help="exit 1 when aws_limits.py differs from the models")
    args = p.parse_args(argv)
    text = render(build())
    if args.check:
        if TARGET.read_text() != text:
            print(f"{TARGET.name} is stale: run python -m platformctl.program.strict.generate", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
