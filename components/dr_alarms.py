"""What a recovery site needs watched, paging the on-call through the recovery region: its replica
falling behind (the recovery point grows with the lag) and the primary's Route53 health check (the
P1 that starts the failover decision).

Everything that pages lives in this stack's region, the one that survives the primary's loss: the
topic, its subscription to the paging service and the replica-lag alarm. Route53 publishes
`HealthCheckStatus` in us-east-1 only, so that one alarm and its topic sit there; it is declared
on standby and active alike, so a failover deletes nothing in the primary's region.
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
    health_check_id: pulumi.Input[str]
    # Route53 publishes HealthCheckStatus only in us-east-1: the health alarm and its topic live there.
    health_metrics_provider: aws.Provider
    # On standby: the replica whose lag is watched (None once promoted: no replica, no lag).
    replica_identifier: Optional[pulumi.Input[str]] = None
    lag_threshold_s: int = 5
    tags: dict[str, str] = field(default_factory=dict)


class DrAlarms(pulumi.ComponentResource):
    def __init__(self, name: str, args: DrAlarmsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:dr_alarms:DrAlarms", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        east = pulumi.ResourceOptions(parent=self, provider=args.health_metrics_provider)

        def paged_topic(key: str, topic_opts: pulumi.ResourceOptions) -> aws.sns.Topic:
            # AWS-managed SNS key: CloudWatch may publish to it without a key policy of ours.
            topic = aws.sns.Topic(f"{name}-{key}", kms_master_key_id="alias/aws/sns", tags=args.tags,
                                  opts=topic_opts)
            # The paging service confirms HTTPS subscriptions itself (Opsgenie's and PagerDuty's
            # SNS integrations do): no human clicks a link before the first page.
            aws.sns.TopicSubscription(f"{name}-{key}-paging", topic=topic.arn, protocol="https",
                                      endpoint=args.paging_endpoint, endpoint_auto_confirms=True,
                                      opts=topic_opts)
            return topic

        self.topic = paged_topic("alerts", child)
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

        self.health_topic = paged_topic("health-alerts", east)
        self.primary_health = aws.cloudwatch.MetricAlarm(
            f"{name}-primary-health", namespace="AWS/Route53", metric_name="HealthCheckStatus",
            dimensions={"HealthCheckId": args.health_check_id}, statistic="Minimum", period=60,
            evaluation_periods=1, comparison_operator="LessThanThreshold", threshold=1,
            treat_missing_data="breaching",
            alarm_description="The primary API fails its Route53 health check: decide on a regional "
                              "failover (docs/runbooks/disaster-recovery.md); DNS does not move on its own",
            alarm_actions=[self.health_topic.arn], ok_actions=[self.health_topic.arn], tags=args.tags,
            opts=east)
        self.register_outputs({"topicArn": self.topic.arn})
