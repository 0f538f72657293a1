"""Disaster recovery: which site this stack is, and - on the recovery site - the one key that
takes over from the primary region (`dr.state`) and the one that hands traffic back (`dr.failbackPercent`).

A recovery stack runs the same program as the primary in another region: a warm standby whose
database is a read replica of the primary's and whose DNS fails over to it when the primary's
health check fails. Everything it knows about the primary it reads from the primary stack's `dr`
output through a StackReference, never from values copied into its config.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from leadgen.config.base import Key, Values
from leadgen.config.data import CACHE_NODE as _CACHE_NODE
from leadgen.traffic import in_zone

PRIMARY, RECOVERY = "primary", "recovery"
STANDBY, ACTIVE = "standby", "active"
# The failback steps: each is held with ten minutes of healthy metrics before the next.
FAILBACK_STEPS = (0, 10, 50, 100)

KEYS = [
    Key(path="dr.site", type="string", default=PRIMARY, description="Which site this stack is: `primary` serves the platform; "
        "`recovery` is the warm standby in another region that can take over from `dr.primaryStack`.",
        choices=(PRIMARY, RECOVERY)),
    Key(path="dr.state", type="string", default=STANDBY, description="Recovery site only: `standby` keeps a read replica and minimum "
        "capacity; DNS moves here only on the runbook's failover decision, never on a failed probe. "
        "`active` promotes the replica and scales up (docs/runbooks/disaster-recovery.md).",
        choices=(STANDBY, ACTIVE)),
    Key(path="dr.primaryStack", type="string", default="production", description="Recovery site only: the stack of this project "
        "whose `dr` output the recovery site reads (database, backup bucket, API origin)."),
    Key(path="dr.publicHostname", type="string", default="", description="The hostname clients use when a recovery site exists "
        "(required there): the recovery site's failover records point it at the primary's "
        "`traffic.hostname` and its own, each region's own origin, which must differ from it. Every "
        "site that sets it also answers for it (gateway listeners, certificate); external-dns never "
        "publishes it."),
    Key(path="dr.healthCheckPath", type="string", default="/health", description="Recovery site only: the path of the primary's API "
        "that this region's probe requests over HTTPS every minute (3 failed minutes page)."),
    Key(path="dr.failbackPercent", type="integer", default=0, description="Recovery site, `active` only: the share of traffic sent "
        "back to the primary during failback, stepped 10, 50, 100.", choices=FAILBACK_STEPS),
    Key(path="dr.standbyNodes", type="integer", default=1, description="Recovery site in standby: min and desired size of every "
        "node group (GPU groups: 0); `active` restores the configured sizes."),
    Key(path="dr.standbyReplicas", type="integer", default=3, description="Recovery site in standby: minReplicas of every workload "
        "(the pack's floor for production is 3); `active` restores the configured minimum."),
    Key(path="dr.replicaLagAlarmSeconds", type="integer", default=5, description="Recovery site: the replica lag (CloudWatch "
        "ReplicaLag) that raises the alarm; the recovery point objective rests on it."),
    Key(path="dr.standbyRedisNodeType", type="string", default="cache.t4g.medium", description="Recovery site in standby: the "
        "ElastiCache node type Redis runs at (a warm standby is a scaled-down copy); `active` restores "
        "`data.redis.nodeType`."),
    Key(path="dr.standbyMultiAz", type="boolean", default=False, description="Recovery site in standby: whether the read replica "
        "keeps a synchronous standby in a second AZ; `active` restores `data.postgres.multiAz`."),
]


@dataclass(frozen=True, kw_only=True)
class DrConfig:
    site: str
    state: str
    primary_stack: str
    public_hostname: str
    health_check_path: str
    failback_percent: int
    standby_nodes: int
    standby_replicas: int
    replica_lag_alarm_seconds: int
    standby_redis_node_type: str
    standby_multi_az: bool

    @property
    def is_recovery(self) -> bool:
        return self.site == RECOVERY

    @property
    def standby(self) -> bool:
        """A recovery site that has not taken over: replica, minimum capacity."""
        return self.is_recovery and self.state == STANDBY

    @property
    def primary_weight(self) -> int:
        """The primary's share of the weighted pool behind the PRIMARY record. Failover leaves it
        alone (the decision health check sends clients to SECONDARY without a record change, so
        nothing is written through Route53's control plane then); failback hands back 10, 50, 100."""
        return 100 if self.state == STANDBY or not self.failback_percent else self.failback_percent

    @staticmethod
    def paging_secret(stack: str) -> str:
        """The Secrets Manager secret (in the recovery region) holding the paging service's SNS
        HTTPS integration URL; it carries the integration key, so it is never config."""
        return f"insurance-lead-gen/{stack}/dr-paging-endpoint"

    def node_groups(self, groups: Sequence) -> list:
        """The node groups as this site runs them: in standby every group at `standbyNodes` (GPU at 0)."""
        if not self.standby:
            return list(groups)
        out = []
        for g in groups:
            size = 0 if g.gpu else min(self.standby_nodes, g.max_size)
            out.append(replace(g, min_size=size, desired_size=size))
        return out

    def redis_node_type(self, configured: str) -> str:
        """The Redis node type this site runs: the standby's while on standby."""
        return self.standby_redis_node_type if self.standby else configured

    def multi_az(self, configured: bool) -> bool:
        """Whether the database runs Multi-AZ here: the standby's choice while it is a replica."""
        return self.standby_multi_az if self.standby else configured

    def workload(self, w):
        """A workload as this site runs it: in standby at `standbyReplicas` minimum."""
        if not self.standby:
            return w
        return replace(w, min_replicas=min(self.standby_replicas, w.max_replicas))


_PATH_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/")


def build(values: Values) -> DrConfig:
    cfg = DrConfig(
        site=values.get("dr.site"), state=values.get("dr.state"),
        primary_stack=values.get("dr.primaryStack").strip(),
        public_hostname=values.get("dr.publicHostname").strip().lower().rstrip("."),
        health_check_path=values.get("dr.healthCheckPath"),
        failback_percent=values.get("dr.failbackPercent"),
        standby_nodes=values.get("dr.standbyNodes"), standby_replicas=values.get("dr.standbyReplicas"),
        replica_lag_alarm_seconds=values.get("dr.replicaLagAlarmSeconds"),
        standby_redis_node_type=values.get("dr.standbyRedisNodeType").strip(),
        standby_multi_az=values.get("dr.standbyMultiAz"))
    if cfg.public_hostname and cfg.public_hostname == values.get("traffic.hostname").strip().lower().rstrip("."):
        raise values.error("dr.publicHostname", f"({cfg.public_hostname!r}) must differ from "
                           "leadgen:traffic.hostname, this region's origin,")
    zone = values.get("traffic.zoneName").strip().lower().rstrip(".")
    if cfg.public_hostname and not in_zone(cfg.public_hostname, zone):
        # The certificate's DNS-01 challenge for it is answered in that zone, and only there.
        raise values.error("dr.publicHostname", f"({cfg.public_hostname!r}) must be inside the zone "
                           f"leadgen:traffic.zoneName ({zone!r})")
    if not cfg.is_recovery:
        for path, value, default in (("dr.state", cfg.state, STANDBY), ("dr.failbackPercent", cfg.failback_percent, 0)):
            if value != default:
                raise values.error(path, f"({value}) applies only to a recovery site (leadgen:dr.site: {RECOVERY})")
        return cfg
    if cfg.state == STANDBY and cfg.failback_percent:
        raise values.error("dr.failbackPercent", f"({cfg.failback_percent}) needs leadgen:dr.state: {ACTIVE}: "
                           "failback hands traffic back from a recovery site that has taken over")
    if not cfg.primary_stack or cfg.primary_stack == values.stack:
        raise values.error("dr.primaryStack", f"({cfg.primary_stack!r}) must name another stack")
    if not cfg.public_hostname:
        raise values.error("dr.publicHostname", "is required on a recovery site")
    if not cfg.health_check_path.startswith("/") or not set(cfg.health_check_path) <= _PATH_CHARS:
        raise values.error("dr.healthCheckPath", f"({cfg.health_check_path!r}) must be a URL path like /health")
    if cfg.standby_nodes < 1:
        raise values.error("dr.standbyNodes", f"({cfg.standby_nodes}) must be at least 1: a standby "
                           "with no node cannot scale its workloads")
    if cfg.standby_replicas < 1:
        raise values.error("dr.standbyReplicas", f"({cfg.standby_replicas}) must be at least 1")
    if not _CACHE_NODE.fullmatch(cfg.standby_redis_node_type):
        raise values.error("dr.standbyRedisNodeType", f"({cfg.standby_redis_node_type!r}) is not an "
                           "ElastiCache node type like cache.t4g.medium")
    if not 1 <= cfg.replica_lag_alarm_seconds <= 3600:
        raise values.error("dr.replicaLagAlarmSeconds", f"({cfg.replica_lag_alarm_seconds}) must be 1-3600")
    return cfg
