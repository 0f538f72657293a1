"""What a recovery site needs watched, paging the on-call from the recovery region: its replica
falling behind (the recovery point grows with the lag) and the primary's health as this region's
probe sees it (components/dr_probe.py: the P1 that starts the failover decision).

Everything here lives in this stack's region, the one that survives the primary's loss: the
alarms, the topic and its subscription to the paging service. Nothing is declared in the primary's
region, so a failover deletes nothing there.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws


@dataclass(kw_only=True)
class DrAlarmsArgs:
    # The paging service's SNS HTTPS integration URL (it carries the integration's key): read from
    # Secrets Manager by the caller, never config.
    paging_endpoint: pulumi.Input[str]
    # The probe's metric: 1 healthy, 0 not, once a minute.
    health_namespace: str
    health_metric: str
    health_dimensions: dict[str, pulumi.Input[str]]
    # On standby: the replica whose lag is watched (None once promoted: no replica, no lag).
    replica_identifier: Optional[pulumi.Input[str]] = None
    lag_threshold_s: int = 5
    tags: dict[str, str] = field(default_factory=dict)


class DrAlarms(pulumi.ComponentResource):
    def __init__(self, name: str, args: DrAlarmsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:dr_alarms:DrAlarms", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # AWS-managed SNS key: CloudWatch may publish to it without a key policy of ours.
        self.topic = aws.sns.Topic(f"{name}-alerts", kms_master_key_id="alias/aws/sns", tags=args.tags,
                                   opts=child)
        # The paging service confirms HTTPS subscriptions itself (Opsgenie's and PagerDuty's SNS
        # integrations do): no human clicks a link before the first page.
        aws.sns.TopicSubscription(f"{name}-alerts-paging", topic=self.topic.arn, protocol="https",
                                  endpoint=args.paging_endpoint, endpoint_auto_confirms=True, opts=child)
        self.replica_lag = None
        if args.replica_identifier is not None:
            self.replica_lag = aws.cloudwatch.MetricAlarm(
                f"{name}-replica-lag", namespace="AWS/RDS", metric_name="ReplicaLag",
                dimensions={"DBInstanceIdentifier": args.replica_identifier}, statistic="Maximum",
                period=60, evaluation_periods=3, datapoints_to_alarm=3, comparison_operator="GreaterThanThreshold",
                threshold=args.lag_threshold_s,
                # A replica that stops reporting lag has stopped replicating: that is the worst lag.
                treat_missing_data="breaching",
                alarm_description=f"Standby replica more than {args.lag_threshold_s} s behind the primary "
                                  "for 3 minutes (docs/runbooks/disaster-recovery.md)",
                alarm_actions=[self.topic.arn], ok_actions=[self.topic.arn], tags=args.tags, opts=child)

        self.primary_health = aws.cloudwatch.MetricAlarm(
            f"{name}-primary-health", namespace=args.health_namespace, metric_name=args.health_metric,
            dimensions=args.health_dimensions, statistic="Maximum", period=60,
            # Three failed minutes in a row: one slow response is not a regional outage.
            evaluation_periods=3, datapoints_to_alarm=3, comparison_operator="LessThanThreshold", threshold=1,
            # A probe that stops reporting cannot vouch for the primary.
            treat_missing_data="breaching",
            alarm_description="The primary API fails this region's probe for 3 minutes: decide on a "
                              "regional failover (docs/runbooks/disaster-recovery.md); DNS does not move on its own",
            alarm_actions=[self.topic.arn], ok_actions=[self.topic.arn], tags=args.tags, opts=child)
        self.register_outputs({"topicArn": self.topic.arn})
