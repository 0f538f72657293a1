"""What a standby needs watched: its replica falling behind (the recovery point grows with the lag)
and the primary's Route53 health check (a failover that happened, or is about to)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws


@dataclass(kw_only=True)
class DrAlarmsArgs:
    db_instance_identifier: pulumi.Input[str]
    lag_threshold_s: int
    health_check_id: pulumi.Input[str]
    # Route53 publishes HealthCheckStatus only in us-east-1: the health alarm and its topic live there.
    health_metrics_provider: aws.Provider
    tags: dict[str, str] = field(default_factory=dict)


class DrAlarms(pulumi.ComponentResource):
    def __init__(self, name: str, args: DrAlarmsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:dr_alarms:DrAlarms", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        east = pulumi.ResourceOptions(parent=self, provider=args.health_metrics_provider)

        # AWS-managed SNS key: CloudWatch may publish to it without a key policy of ours.
        self.topic = aws.sns.Topic(f"{name}-alerts", kms_master_key_id="alias/aws/sns", tags=args.tags,
                                   opts=child)
        self.replica_lag = aws.cloudwatch.MetricAlarm(
            f"{name}-replica-lag", namespace="AWS/RDS", metric_name="ReplicaLag",
            dimensions={"DBInstanceIdentifier": args.db_instance_identifier}, statistic="Maximum",
            period=60, evaluation_periods=3, datapoints_to_alarm=3, comparison_operator="GreaterThanThreshold",
            threshold=args.lag_threshold_s,
            # A replica that stops reporting lag has stopped replicating: that is the worst lag.
            treat_missing_data="breaching",
            alarm_description=f"Standby replica more than {args.lag_threshold_s} s behind the primary "
                              "for 3 minutes (docs/runbooks/disaster-recovery.md)",
            alarm_actions=[self.topic.arn], ok_actions=[self.topic.arn], tags=args.tags, opts=child)

        self.health_topic = aws.sns.Topic(f"{name}-health-alerts", kms_master_key_id="alias/aws/sns",
                                          tags=args.tags, opts=east)
        self.primary_health = aws.cloudwatch.MetricAlarm(
            f"{name}-primary-health", namespace="AWS/Route53", metric_name="HealthCheckStatus",
            dimensions={"HealthCheckId": args.health_check_id}, statistic="Minimum", period=60,
            evaluation_periods=1, comparison_operator="LessThanThreshold", threshold=1,
            treat_missing_data="breaching",
            alarm_description="The primary API fails its Route53 health check: DNS answers the "
                              "recovery region (docs/runbooks/disaster-recovery.md)",
            alarm_actions=[self.health_topic.arn], ok_actions=[self.health_topic.arn], tags=args.tags,
            opts=east)
        self.register_outputs({"topicArn": self.topic.arn})
