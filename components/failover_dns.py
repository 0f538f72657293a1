"""Which region answers the public API name: failover by health check, failback by weight.

The public name is a failover pair. PRIMARY points at a weighted pool (`pool.<public name>`) and,
while the recovery site is on standby, carries the primary's health check: three failed HTTPS
checks 30 s apart and Route53 answers SECONDARY, the recovery site's origin. The pool splits by
weight between the two origins; the primary's share is the only thing that changes when the
recovery site takes over (0) and during failback (10, 50, 100). Record types and routing policies
never change, so no step deletes a record another still needs.

Once the recovery site is active the PRIMARY record loses its health check: a primary that comes
back healthy must not get traffic (and writes) before failback hands it a share on purpose.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws

TTL_S = 60
INTERVAL_S = 30
FAILURE_THRESHOLD = 3


@dataclass(kw_only=True)
class FailoverDnsArgs:
    zone_id: pulumi.Input[str]
    hostname: str  # what clients resolve
    primary_origin: pulumi.Input[str]  # the primary region's API hostname
    recovery_origin: pulumi.Input[str]  # this region's API hostname
    primary_weight: int  # 0-100: the primary's share of the pool
    health_check_path: str = "/health"
    # While False (the recovery site is active) the PRIMARY record has no health check.
    fail_over_on_health: bool = True
    tags: dict[str, str] = field(default_factory=dict)


class FailoverDns(pulumi.ComponentResource):
    def __init__(self, name: str, args: FailoverDnsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        if not 0 <= args.primary_weight <= 100:
            raise ValueError(f"primary_weight {args.primary_weight} is outside 0-100")
        super().__init__("leadgen:failover_dns:FailoverDns", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.health_check = aws.route53.HealthCheck(
            f"{name}-primary", type="HTTPS", fqdn=args.primary_origin, port=443,
            resource_path=args.health_check_path, request_interval=INTERVAL_S,
            failure_threshold=FAILURE_THRESHOLD, enable_sni=True, measure_latency=True,
            tags={**args.tags, "Name": f"{name}-primary"}, opts=child)

        pool = f"pool.{args.hostname}"

        def record(key: str, record_name: str, target, routing: dict, health: bool) -> aws.route53.Record:
            return aws.route53.Record(
                f"{name}-{key}", zone_id=args.zone_id, name=record_name, type="CNAME", ttl=TTL_S,
                records=[target], set_identifier=key,
                health_check_id=self.health_check.id if health else None,
                # A record whose set is replaced is deleted first: two of one identifier cannot coexist.
                opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True), **routing)

        self.pool_primary = record("pool-primary", pool, args.primary_origin,
                                   {"weighted_routing_policies": [{"weight": args.primary_weight}]}, True)
        self.pool_recovery = record("pool-recovery", pool, args.recovery_origin,
                                    {"weighted_routing_policies": [{"weight": 100 - args.primary_weight}]},
                                    False)
        self.primary = record("primary", args.hostname, pool,
                              {"failover_routing_policies": [{"type": "PRIMARY"}]}, args.fail_over_on_health)
        self.secondary = record("secondary", args.hostname, args.recovery_origin,
                                {"failover_routing_policies": [{"type": "SECONDARY"}]}, False)

        self.health_check_id = self.health_check.id
        self.register_outputs({"healthCheckId": self.health_check_id})
