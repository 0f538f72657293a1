"""Whether a recovery stack is ready to take over, read offline from what its program declares.

`platformctl dr check` runs the recovery stack's program under the mocks (its StackReference
answered by the primary stack's own program) and checks, one line each, what a DBA on call needs
to be true before a regional outage: the replica, the health check, the DNS records, the capacity
to carry the primary's load, and the replicated backups. Each check is a pure function of the
registered resources and the two stacks' config.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional

from leadgen import workloads as derived
from platformctl.program.engine import ProgramRun

RDS = "aws:rds/instance:Instance"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
RECORD = "aws:route53/record:Record"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
OBJECT_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"

INTERVAL_S, FAILURE_THRESHOLD, TTL_S, MAX_LAG_S = 30, 3, 60, 5


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


def _num(value: Any) -> Optional[float]:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def check_all(run: ProgramRun, cfg, primary_cfg, primary: dict) -> list[Check]:
    """`cfg`/`primary_cfg`: the two stacks' loaded config; `primary`: the primary's `dr` output."""
    if not cfg.dr.is_recovery:
        return [Check("site", False, f"{run.stack} is not a recovery site (leadgen:dr.site: {cfg.dr.site})")]
    checks: list[Callable[[], Check]] = [
        lambda: replica(run, cfg, primary), lambda: replica_lag(run, cfg),
        lambda: health_check(run, cfg, primary), lambda: records(run, cfg, primary),
        lambda: capacity(run, cfg, primary_cfg), lambda: backups(run, primary)]
    return [Check("site", True, f"{run.stack} ({cfg.core.region}) recovers {cfg.dr.primary_stack} "
                                f"({primary.get('region')}), state {cfg.dr.state}"), *(c() for c in checks)]


def replica(run: ProgramRun, cfg, primary: dict) -> Check:
    dbs = run.by_type(RDS)
    if len(dbs) != 1:
        return Check("replica", False, f"{len(dbs)} database instances, expected one")
    db = dbs[0]["inputs"]
    key = str(db.get("kmsKeyId") or "")
    if not db.get("storageEncrypted") or f":{cfg.core.region}:" not in key:
        return Check("replica", False, f"{db.get('identifier')} is not encrypted with a {cfg.core.region} key")
    source = db.get("replicateSourceDb")
    if cfg.dr.standby:
        if source != primary.get("databaseArn"):
            return Check("replica", False, f"{db.get('identifier')} replicates {source or 'nothing'}, not "
                                           f"{primary.get('databaseArn')}")
        return Check("replica", True, f"{db.get('identifier')} replicates {source} (key {key})")
    if source:
        return Check("replica", False, f"state active but {db.get('identifier')} still replicates {source}")
    return Check("replica", True, f"{db.get('identifier')} promoted: a standalone writer (key {key})")


def replica_lag(run: ProgramRun, cfg) -> Check:
    if not cfg.dr.standby:
        return Check("replica-lag", True, "promoted: no replica to watch")
    lag = [a["inputs"] for a in run.by_type(ALARM) if a["inputs"].get("metricName") == "ReplicaLag"]
    ok = [a for a in lag if (_num(a.get("threshold")) or 1e9) <= MAX_LAG_S and a.get("alarmActions")]
    if not ok:
        return Check("replica-lag", False, f"no ReplicaLag alarm at {MAX_LAG_S} s or less with an action")
    return Check("replica-lag", True, f"alarm above {_num(ok[0]['threshold']):g} s on "
                                      f"{ok[0].get('dimensions', {}).get('DBInstanceIdentifier')}")


def health_check(run: ProgramRun, cfg, primary: dict) -> Check:
    found = [h["inputs"] for h in run.by_type(HEALTH_CHECK) if h["inputs"].get("fqdn") == primary.get("apiHostname")]
    if not found:
        return Check("health-check", False, f"no Route53 health check on {primary.get('apiHostname')}")
    h = found[0]
    wrong = [f"{k} {h.get(k)!r}" for k, want in (("type", "HTTPS"), ("requestInterval", INTERVAL_S),
                                                 ("failureThreshold", FAILURE_THRESHOLD)) if h.get(k) != want]
    if wrong:
        return Check("health-check", False, f"{h.get('fqdn')}: {', '.join(wrong)} (want HTTPS every "
                                            f"{INTERVAL_S} s, {FAILURE_THRESHOLD} failures)")
    return Check("health-check", True, f"HTTPS {h.get('fqdn')}{h.get('resourcePath')} every {INTERVAL_S} s, "
                                       f"{FAILURE_THRESHOLD} failures declare it down")


def records(run: ProgramRun, cfg, primary: dict) -> Check:
    public = cfg.dr.public_hostname
    origins = {"primary": primary.get("apiHostname"), "recovery": cfg.traffic.hostname}
    loops = [k for k, v in origins.items() if v == public]
    if loops:
        return Check("records", False, f"the {loops[0]} origin is the public name {public} itself: each region must "
                                       "publish its API under its own traffic.hostname")
    # A region the records send the public name to must answer for it (listener and certificate):
    # the primary says so in its `dr` output, this region in its own certificate.
    if primary.get("publicHostname") != public:
        return Check("records", False, f"{cfg.dr.primary_stack} answers for {primary.get('publicHostname') or 'no public name'}, "
                                       f"not {public}: set its leadgen:dr.publicHostname to {public}")
    names = [n for c in run.by_type(CERTIFICATE) for n in (c["inputs"].get("spec") or {}).get("dnsNames") or []]
    if public not in names:
        return Check("records", False, f"this region's certificate names {sorted(names)}, not {public}: "
                                       "its gateway would refuse the public name")
    recs = [r["inputs"] for r in run.by_type(RECORD)]
    by_id = {r.get("setIdentifier"): r for r in recs}
    failover = {r.get("setIdentifier"): (r.get("failoverRoutingPolicies") or [{}])[0].get("type")
                for r in recs if r.get("name") == public}
    if sorted(failover.values()) != ["PRIMARY", "SECONDARY"]:
        return Check("records", False, f"{public} has no PRIMARY/SECONDARY failover pair ({failover})")
    ttls = sorted({_num(r.get("ttl")) for r in recs})
    if ttls != [TTL_S]:
        return Check("records", False, f"TTLs {ttls}, want {TTL_S} s")
    primary_rec = next(r for r in recs if r.get("name") == public
                       and (r.get("failoverRoutingPolicies") or [{}])[0].get("type") == "PRIMARY")
    if cfg.dr.standby and not primary_rec.get("healthCheckId"):
        return Check("records", False, "the PRIMARY record has no health check: it would never fail over")
    weights = {k: _num((by_id.get(k, {}).get("weightedRoutingPolicies") or [{}])[0].get("weight"))
               for k in ("pool-primary", "pool-recovery")}
    if None in weights.values() or weights["pool-primary"] != cfg.dr.primary_weight \
            or sum(weights.values()) != 100:
        return Check("records", False, f"pool weights {weights}, want primary {cfg.dr.primary_weight} of 100")
    return Check("records", True, f"{public}: PRIMARY -> pool (primary {weights['pool-primary']:g} %, recovery "
                                  f"{weights['pool-recovery']:g} %), SECONDARY -> {origins['recovery']}, TTL {TTL_S} s")


def capacity(run: ProgramRun, cfg, primary_cfg) -> Check:
    groups = {g["inputs"].get("nodeGroupName"): g["inputs"].get("scalingConfig") or {} for g in run.by_type(NODE_GROUP)}
    short = []
    for g in primary_cfg.cluster.node_groups:
        have = _num(groups.get(g.name, {}).get("maxSize")) or 0
        if have < g.desired_size:
            short.append(f"node group {g.name} max {have:g} < primary's {g.desired_size}")
    hpas = {h["inputs"]["metadata"]["name"]: _num(h["inputs"]["spec"].get("maxReplicas")) or 0 for h in run.by_type(HPA)}
    # Every workload the primary declares (leadgen/workloads.py), including one this site lacks.
    need = {w.name: n for w in primary_cfg.workloads if (n := derived.derive("dr_capacity", w)) is not None}
    for name, minimum in need.items():
        if hpas.get(name, 0) < minimum:
            short.append(f"workload {name} max {hpas.get(name, 0):g} < primary's minimum {minimum}")
    db = (run.by_type(RDS) or [{"inputs": {}}])[0]["inputs"]
    if db.get("instanceClass") != primary_cfg.data.postgres.instance_class:
        short.append(f"database {db.get('instanceClass')} is not the primary's {primary_cfg.data.postgres.instance_class}")
    if short:
        return Check("capacity", False, "; ".join(short))
    now = ", ".join(f"{k} {_num(v.get('desiredSize')):g}/{_num(v.get('maxSize')):g}" for k, v in sorted(groups.items()))
    apps = ", ".join(f"{k} max {hpas.get(k, 0):g} >= {v}" for k, v in sorted(need.items()))
    return Check("capacity", True, f"can carry the primary's load (nodes desired/max: {now}; workloads: "
                                   f"{apps or 'none'}; database {db.get('instanceClass')})")


def backups(run: ProgramRun, primary: dict) -> Check:
    source = primary.get("backupBucket")
    configs = [r["inputs"] for r in run.by_type(REPLICATION) if r["inputs"].get("bucket") == source]
    if not configs:
        return Check("backups", False, f"nothing replicates {source} into this region")
    rules = [r for r in configs[0].get("rules") or [] if r.get("status") == "Enabled"]
    if not rules:
        return Check("backups", False, f"the replication of {source} has no enabled rule")
    dest = (rules[0].get("destination") or {}).get("bucket", "")
    name = dest.removeprefix("arn:aws:s3:::")
    locked = [o["inputs"] for o in run.by_type(OBJECT_LOCK) if o["inputs"].get("bucket") == name
              and (o["inputs"].get("rule") or {}).get("defaultRetention", {}).get("mode") == "COMPLIANCE"]
    if not locked:
        return Check("backups", False, f"{name} has no compliance-mode Object Lock: the off-site copy could be deleted")
    rtc = (rules[0].get("destination") or {}).get("replicationTime", {}).get("status") == "Enabled"
    return Check("backups", True, f"{source} -> {name} (Object Lock {_num(locked[0]['rule']['defaultRetention']['days']):g} "
                                  f"days{', within 15 min (RTC)' if rtc else ''})")


def summary(checks: Iterable[Check]) -> str:
    checks = list(checks)
    failed = [c.name for c in checks if not c.ok]
    return "ready to take over" if not failed else f"NOT ready: {', '.join(failed)}"
