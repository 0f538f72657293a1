"""The primary's health as the recovery region sees it: a function here requests the primary's
`/health` over HTTPS every minute and records 1 (healthy) or 0 as a CloudWatch metric in this
region, where the alarm that pages on it lives (components/dr_alarms.py).

Route53's own health checks publish their status only in us-east-1; an alarm there is lost with
that region, which is exactly when it is needed. This probe, its metric, its alarm and the topic
that pages all live in the region that survives.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws

from leadgen.iam import logs_key_policy
from leadgen.kms import KEY_DEFAULTS

NAMESPACE, METRIC = "Leadgen/DR", "PrimaryHealthy"
RATE = "rate(1 minute)"
TIMEOUT_S = 10
# The AWS Lambda managed runtime the probe runs on (standard library only: nothing to package).
RUNTIME = "python3.12"

# The whole probe: the standard library's TLS-verifying client and the SDK Lambda ships with.
CODE = '''\
import os
import urllib.request

import boto3

URL = os.environ["PRIMARY_HEALTH_URL"]
ORIGIN = os.environ["PRIMARY_ORIGIN"]
CLOUDWATCH = boto3.client("cloudwatch")


def handler(event, context):
    try:
        with urllib.request.urlopen(URL, timeout=int(os.environ["TIMEOUT_S"])) as response:
            healthy = 1 if 200 <= response.status < 300 else 0
    except Exception:  # refused, timed out, TLS or HTTP error: all of them are "not healthy"
        healthy = 0
    CLOUDWATCH.put_metric_data(Namespace=os.environ["NAMESPACE"], MetricData=[{
        "MetricName": os.environ["METRIC"], "Dimensions": [{"Name": "Origin", "Value": ORIGIN}],
        "Value": healthy, "Unit": "Count"}])
    return healthy
'''

LAMBDA_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def probe_policy(log_group_arn: str) -> str:
    """Write its own log group and this one metric namespace; nothing else."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": f"{log_group_arn}:*"},
        {"Sid": "Metric", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
         "Condition": {"StringEquals": {"cloudwatch:namespace": NAMESPACE}}},
    ]})


@dataclass(kw_only=True)
class PrimaryProbeArgs:
    primary_origin: pulumi.Input[str]  # the primary region's API hostname
    health_check_path: str = "/health"
    log_retention_days: int = 365
    tags: dict[str, str] = field(default_factory=dict)


class PrimaryProbe(pulumi.ComponentResource):
    def __init__(self, name: str, args: PrimaryProbeArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:dr_probe:PrimaryProbe", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account = aws.get_caller_identity_output()
        region = aws.get_region_output()

        key = aws.kms.Key(f"{name}-logs-key", description=f"{name}: the probe's logs",
                          **KEY_DEFAULTS,
                          policy=pulumi.Output.all(account.account_id, region.region).apply(
                              lambda v: logs_key_policy(v[0], v[1])),
                          tags=args.tags, opts=child)
        function_name = f"{name}"
        logs = aws.cloudwatch.LogGroup(f"{name}-logs", name=f"/aws/lambda/{function_name}",
                                       retention_in_days=args.log_retention_days, kms_key_id=key.arn,
                                       tags=args.tags, opts=child)
        role = aws.iam.Role(f"{name}-role", assume_role_policy=LAMBDA_TRUST,
                            description=f"{name}: probes the primary's health, writes one metric",
                            tags=args.tags, opts=child)
        policy = aws.iam.RolePolicy(f"{name}-policy", role=role.id,
                                    policy=logs.arn.apply(probe_policy), opts=child)
        self.function = aws.lambda_.Function(
            f"{name}", name=function_name, role=role.arn, runtime=RUNTIME, handler="probe.handler",
            code=pulumi.AssetArchive({"probe.py": pulumi.StringAsset(CODE)}),
            timeout=TIMEOUT_S + 5, memory_size=128, reserved_concurrent_executions=1,
            environment={"variables": {
                "PRIMARY_HEALTH_URL": pulumi.Output.concat("https://", args.primary_origin, args.health_check_path),
                "PRIMARY_ORIGIN": args.primary_origin, "TIMEOUT_S": str(TIMEOUT_S),
                "NAMESPACE": NAMESPACE, "METRIC": METRIC}},
            tags=args.tags, opts=pulumi.ResourceOptions(parent=self, depends_on=[logs, policy]))
        schedule = aws.cloudwatch.EventRule(f"{name}-schedule", schedule_expression=RATE,
                                            description=f"{name}: every minute", tags=args.tags, opts=child)
        aws.lambda_.Permission(f"{name}-invoke", action="lambda:InvokeFunction", function=self.function.name,
                               principal="events.amazonaws.com", source_arn=schedule.arn, opts=child)
        aws.cloudwatch.EventTarget(f"{name}-target", rule=schedule.name, arn=self.function.arn, opts=child)

        self.namespace, self.metric = NAMESPACE, METRIC
        self.dimensions = {"Origin": args.primary_origin}
        self.register_outputs({"functionName": self.function.name})
