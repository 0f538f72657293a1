"""Which region answers the public API name: a human's failover decision, then failback by weight.

The public name is a failover pair. PRIMARY points at a weighted pool (`pool.<public name>`);
SECONDARY at the recovery site's origin. PRIMARY carries no health check on the primary's API: a
bad rollout or an expired origin certificate must not send every client to a region whose
database is a read-only replica. It carries the *decision* instead, a health check on a CloudWatch
alarm in the recovery region that the runbook sets (`aws cloudwatch put-metric-data --region
<recovery> ... FailoverDecision --value 1`): Route53's health checkers read it and answer
SECONDARY, with nothing in the primary's region and no Route53 control-plane call involved. The
alarm ignores missing data, so a decision holds until the runbook reverses it (`--value 0`).

The primary's API is probed from the recovery region (components/dr_probe.py); that probe only
pages. Failover itself changes no record; the pool's weights are the only
thing failback changes (10, 50, 100), after the decision is reversed. Record types and routing
policies never change, so no step deletes a record another still needs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws

TTL_S = 60
DECISION_NAMESPACE, DECISION_METRIC = "Leadgen/DR", "FailoverDecision"


@dataclass(kw_only=True)
class FailoverDnsArgs:
    zone_id: pulumi.Input[str]
    hostname: str  # what clients resolve
    primary_origin: pulumi.Input[str]  # the primary region's API hostname
    recovery_origin: pulumi.Input[str]  # this region's API hostname
    primary_weight: int  # 0-100: the primary's share of the pool
    # The recovery region, where the decision alarm lives and the runbook sets it.
    decision_region: str
    tags: dict[str, str] = field(default_factory=dict)


class FailoverDns(pulumi.ComponentResource):
    def __init__(self, name: str, args: FailoverDnsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        if not 0 <= args.primary_weight <= 100:
            raise ValueError(f"primary_weight {args.primary_weight} is outside 0-100")
        super().__init__("leadgen:failover_dns:FailoverDns", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # The decision: 1 sends clients to the recovery region, 0 back to the pool. "ignore" keeps
        # the alarm's state while no datapoint arrives, so one put-metric-data holds until reversed.
        self.decision_alarm = aws.cloudwatch.MetricAlarm(
            f"{name}-decision", name=f"{name}-decision", namespace=DECISION_NAMESPACE, metric_name=DECISION_METRIC,
            dimensions={"PublicHostname": args.hostname}, statistic="Maximum", period=60,
            evaluation_periods=1, comparison_operator="GreaterThanOrEqualToThreshold", threshold=1,
            treat_missing_data="ignore",
            alarm_description=f"The failover decision for {args.hostname}: in ALARM, DNS answers the "
                              "recovery region (docs/runbooks/disaster-recovery.md)",
            tags=args.tags, opts=child)
        self.decision = aws.route53.HealthCheck(
            f"{name}-decision", type="CLOUDWATCH_METRIC", cloudwatch_alarm_name=self.decision_alarm.name,
            cloudwatch_alarm_region=args.decision_region,
            # Before the first decision the alarm has no data: the primary keeps its traffic.
            insufficient_data_health_status="Healthy",
            tags={**args.tags, "Name": f"{name}-decision"}, opts=child)

        pool = f"pool.{args.hostname}"

        def record(key: str, record_name: str, target, routing: dict, health: bool) -> aws.route53.Record:
            return aws.route53.Record(
                f"{name}-{key}", zone_id=args.zone_id, name=record_name, type="CNAME", ttl=TTL_S,
                records=[target], set_identifier=key,
                health_check_id=self.decision.id if health else None,
                # A record whose set is replaced is deleted first: two of one identifier cannot coexist.
                opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True), **routing)

        self.pool_primary = record("pool-primary", pool, args.primary_origin,
                                   {"weighted_routing_policies": [{"weight": args.primary_weight}]}, False)
        self.pool_recovery = record("pool-recovery", pool, args.recovery_origin,
                                    {"weighted_routing_policies": [{"weight": 100 - args.primary_weight}]},
                                    False)
        self.primary = record("primary", args.hostname, pool,
                              {"failover_routing_policies": [{"type": "PRIMARY"}]}, True)
        self.secondary = record("secondary", args.hostname, args.recovery_origin,
                                {"failover_routing_policies": [{"type": "SECONDARY"}]}, False)

        self.decision_alarm_name = self.decision_alarm.name
        self.register_outputs({"decisionAlarm": self.decision_alarm_name})
