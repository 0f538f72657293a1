"""Disaster recovery: which site this stack is, the recovery site's state (`dr.state`: standby,
active after a failover, handback during the failback's cutover), and the keys failback steps
through on either site: lifting the database's protection for a rebuild with a timestamped final
snapshot, rebuilding the primary's database as a replica of the acting writer, and promoting it.

A recovery stack runs the same program as the primary in another region: a warm standby whose
database is a read replica of the primary's and to which DNS moves on the runbook's decision.
Everything one site knows about the other it reads from that stack's `dr` output through a
StackReference, never from values copied into its config.

There is one writer at any time, and every request goes to the region that holds it: each
region's apps read their own region's database, so a traffic split between regions would send
some writes to a read-only replica or to a second writer. Failback therefore moves the writer
and all traffic together at a short cutover (docs/runbooks/disaster-recovery.md).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import Sequence

from leadgen.config.base import Key, Values
from leadgen.config.data import CACHE_NODE as _CACHE_NODE
from leadgen.traffic import in_zone

PRIMARY, RECOVERY = "primary", "recovery"
# standby: a read replica at minimum capacity. active: the replica promoted, this site is the
# writer. handback: the failback's cutover, the writer refusing writes until the primary's
# replica has caught up and is promoted; `standby` then rebuilds this database as its replica.
STANDBY, ACTIVE, HANDBACK = "standby", "active", "handback"
STATES = (STANDBY, ACTIVE, HANDBACK)
# The primary's share of the weighted pool behind the PRIMARY record, in every state: clients
# move between regions only by the failover decision, all at once, with the writer.
POOL_PRIMARY_WEIGHT = 100
# A final snapshot's name ends in the UTC time the DBA chose for it (`-final-20261203-0700`), so
# each rebuild's snapshot has its own name and the program's inputs never depend on the clock.
_FINAL_SNAPSHOT = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*-final-(\d{8}-\d{4})")

KEYS = [
    Key(path="dr.site", type="string", default=PRIMARY, description="Which site this stack is: `primary` serves the platform; "
        "`recovery` is the warm standby in another region that can take over from `dr.primaryStack`.",
        choices=(PRIMARY, RECOVERY)),
    Key(path="dr.state", type="string", default=STANDBY, description="Recovery site only: `standby` keeps a read replica and minimum "
        "capacity; DNS moves here only on the runbook's failover decision, never on a failed probe. "
        "`active` promotes the replica and scales up; `handback` is the failback's cutover: the "
        "database refuses writes (default_transaction_read_only) until the primary's replica of it is "
        "promoted (docs/runbooks/disaster-recovery.md).",
        choices=STATES),
    Key(path="dr.primaryStack", type="string", default="production", description="Recovery site only: the stack of this project "
        "whose `dr` output the recovery site reads (database, backup bucket, API origin)."),
    Key(path="dr.publicHostname", type="string", default="", description="The hostname clients use when a recovery site exists "
        "(required there): the recovery site's failover records point it at the primary's "
        "`traffic.hostname` and its own, each region's own origin, which must differ from it. Every "
        "site that sets it also answers for it (gateway listeners, certificate); external-dns never "
        "publishes it."),
    Key(path="dr.healthCheckPath", type="string", default="/health", description="Recovery site only: the path of the primary's API "
        "that this region's probe requests over HTTPS every minute (3 failed minutes page)."),
    Key(path="dr.replicaOf", type="string", default="", description="Primary site, failback only: the recovery stack whose acting "
        "writer this site's database is rebuilt to replicate (cross-region read replica); the rebuild "
        "replaces the instance, so `dr.unprotectDatabase` must have been applied by an earlier update. "
        "Emptied, with `dr.promotedReplica`, at the cutover that promotes it."),
    Key(path="dr.promotedReplica", type="boolean", default=False, description="Primary site: this site's database began as a "
        "replica (`dr.replicaOf`) and was promoted; its database name and master user came from its "
        "source and stay unset (setting them would replace it). Stays true once set."),
    Key(path="dr.unprotectDatabase", type="boolean", default=False, description="Either site, for one rebuild: lifts Pulumi `protect` "
        "and RDS deletion protection on this site's database instance only, so that the next update may "
        "replace it; needs `dr.finalSnapshot`. Set back to false once the rebuilt instance exists."),
    Key(path="dr.finalSnapshot", type="string", default="", description="Either site: the name of the snapshot RDS takes when the "
        "writer here is deleted, ending in the UTC time it is meant for (`<identifier>-final-YYYYMMDD-HHMM`), "
        "so every rebuild keeps its own; empty: `<identifier>-final`."),
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
    replica_of: str
    promoted_replica: bool
    unprotect_database: bool
    final_snapshot: str
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
        """The primary's share of the weighted pool behind the PRIMARY record: all of it, always
        (POOL_PRIMARY_WEIGHT). Failover moves clients by the decision health check, failback by
        reversing it, so no step writes through Route53's control plane."""
        return POOL_PRIMARY_WEIGHT

    @property
    def replica(self) -> bool:
        """Whether this site's database is a read replica: a recovery site's on standby, or the
        primary's while it is rebuilt from the acting writer (`dr.replicaOf`)."""
        return self.standby or bool(self.replica_of)

    @property
    def promoted(self) -> bool:
        """Whether this site's database began as a replica and was promoted: its name and master
        user came from its source."""
        return (self.is_recovery and self.state != STANDBY) or self.promoted_replica

    @property
    def read_only(self) -> bool:
        """The failback's cutover: the recovery writer refuses writes."""
        return self.is_recovery and self.state == HANDBACK

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


def _check_rebuild(values: Values, cfg: DrConfig) -> None:
    """A rebuild replaces a protected writer: its protection is lifted, and its final snapshot
    named for the moment, by the update before."""
    if cfg.final_snapshot:
        found = _FINAL_SNAPSHOT.fullmatch(cfg.final_snapshot)
        when = None
        if found:
            try:
                when = dt.datetime.strptime(found.group(1), "%Y%m%d-%H%M")
            except ValueError:
                when = None
        if when is None or len(cfg.final_snapshot) > 255:
            raise values.error("dr.finalSnapshot", f"({cfg.final_snapshot!r}) must be an RDS snapshot name ending "
                               "in -final-YYYYMMDD-HHMM, the UTC time it is taken for (lower case letters, digits, "
                               "single hyphens)")
    if cfg.unprotect_database and not cfg.final_snapshot:
        raise values.error("dr.unprotectDatabase", "(true) needs leadgen:dr.finalSnapshot: the instance it "
                           "lets the next update replace keeps its data in that snapshot")
    if cfg.replica_of and not cfg.unprotect_database:
        raise values.error("dr.replicaOf", f"({cfg.replica_of!r}) rebuilds the database, which replaces it: "
                           "set leadgen:dr.unprotectDatabase (and leadgen:dr.finalSnapshot) in an update before")


_PATH_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/")


def build(values: Values) -> DrConfig:
    cfg = DrConfig(
        site=values.get("dr.site"), state=values.get("dr.state"),
        primary_stack=values.get("dr.primaryStack").strip(),
        public_hostname=values.get("dr.publicHostname").strip().lower().rstrip("."),
        health_check_path=values.get("dr.healthCheckPath"),
        replica_of=values.get("dr.replicaOf").strip(), promoted_replica=values.get("dr.promotedReplica"),
        unprotect_database=values.get("dr.unprotectDatabase"), final_snapshot=values.get("dr.finalSnapshot").strip(),
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
    _check_rebuild(values, cfg)
    if not cfg.is_recovery:
        if cfg.state != STANDBY:
            raise values.error("dr.state", f"({cfg.state}) applies only to a recovery site (leadgen:dr.site: {RECOVERY})")
        if cfg.replica_of and cfg.replica_of == values.stack:
            raise values.error("dr.replicaOf", f"({cfg.replica_of!r}) must name another stack: the recovery "
                               "stack whose writer this database replicates")
        if cfg.replica_of and cfg.promoted_replica:
            raise values.error("dr.promotedReplica", "(true) and leadgen:dr.replicaOf are exclusive: the "
                               "database is promoted by emptying leadgen:dr.replicaOf")
        return cfg
    for path, value in (("dr.replicaOf", cfg.replica_of), ("dr.promotedReplica", cfg.promoted_replica)):
        if value:
            raise values.error(path, f"({str(value).lower() if isinstance(value, bool) else value!r}) applies "
                               "only to a primary site: a recovery site's database follows leadgen:dr.state")
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
