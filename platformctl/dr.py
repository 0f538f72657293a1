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
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
EKS = "aws:eks/cluster:Cluster"
REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"

TTL_S, MAX_LAG_S = 60, 5
FUNCTION = "aws:lambda/function:Function"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
PROBE_RATE, PROBE_METRIC = "rate(1 minute)", "PrimaryHealthy"


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
        lambda: site(run, cfg, primary), lambda: replica(run, cfg, primary), lambda: replica_lag(run, cfg),
        lambda: paging(run, cfg, primary), lambda: health_check(run, cfg, primary),
        lambda: records(run, cfg, primary), lambda: origins(run, cfg, primary),
        lambda: capacity(run, cfg, primary_cfg), lambda: versions(run, cfg, primary_cfg),
        lambda: backups(run, primary)]
    return [c() for c in checks]


def site(run: ProgramRun, cfg, primary: dict) -> Check:
    here, there = cfg.core.region, primary.get("region")
    if here == there:
        return Check("site", False, f"{run.stack} runs in {here}, the region of {cfg.dr.primary_stack}: one "
                                    "regional outage takes both (set aws:region to another region)")
    return Check("site", True, f"{run.stack} ({here}) recovers {cfg.dr.primary_stack} ({there}), "
                               f"state {cfg.dr.state}")


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
        return Check("replica", False, f"state {cfg.dr.state} but {db.get('identifier')} still replicates {source}")
    # After a failover (and through failback) this site is the writer: no replica of anything stands
    # by, so nothing could take over from it. Ready again only once it is a standby again.
    return Check("replica", False, f"{db.get('identifier')} is the acting writer (leadgen:dr.state: "
                                   f"{cfg.dr.state}): no replica stands by to take over")


def replica_lag(run: ProgramRun, cfg) -> Check:
    if not cfg.dr.standby:
        return Check("replica-lag", True, "promoted: no replica to watch")
    lag = [a["inputs"] for a in run.by_type(ALARM) if a["inputs"].get("metricName") == "ReplicaLag"]
    ok = [a for a in lag if (_num(a.get("threshold")) or 1e9) <= MAX_LAG_S and a.get("alarmActions")]
    if not ok:
        return Check("replica-lag", False, f"no ReplicaLag alarm at {MAX_LAG_S} s or less with an action")
    return Check("replica-lag", True, f"alarm above {_num(ok[0]['threshold']):g} s on "
                                      f"{ok[0].get('dimensions', {}).get('DBInstanceIdentifier')}")


def region_of(run: ProgramRun, res: dict, default: str) -> str:
    """The region a resource is created in: its explicit provider's, else the stack's."""
    ref = str(res.get("provider") or "")
    urn = ref.rsplit("::", 1)[0] if ref.count("::") > 3 else ref
    for p in run.resources:
        if p["urn"] == urn and p["type"] == "pulumi:providers:aws":
            return str((p.get("inputs") or {}).get("region") or default)
    return default


def paging(run: ProgramRun, cfg, primary: dict) -> Check:
    """An alarm outside the primary's region whose topic someone is subscribed to: an alarm in the
    failed region, or on a topic nobody reads, pages nobody."""
    here, there = cfg.core.region, primary.get("region")
    arns = {}
    for t in run.by_type(TOPIC):
        arn = (t.get("outputs") or {}).get("arn")
        if isinstance(arn, str):
            arns[arn] = region_of(run, t, here)
    subscribed = {s["inputs"].get("topic"): s["inputs"].get("protocol") for s in run.by_type(SUBSCRIPTION)
                  if s["inputs"].get("endpoint")}
    paged, why = [], []
    for a in run.by_type(ALARM):
        name, where = a["inputs"].get("alarmName") or a["name"], region_of(run, a, here)
        topics = [t for t in a["inputs"].get("alarmActions") or [] if t in arns]
        if where == there:
            why.append(f"{name} is in {there}, the primary's region")
        elif not any(t in subscribed for t in topics):
            why.append(f"{name} notifies no subscribed topic")
        elif all(arns[t] != there for t in topics if t in subscribed):
            paged.append((a["inputs"].get("metricName"), name, where))
    if cfg.dr.standby and not any(m == "ReplicaLag" for m, _, _ in paged):
        return Check("paging", False, "no ReplicaLag alarm pages from outside the primary's region ("
                                      f"{'; '.join(why) or 'no alarm'})")
    if not paged:
        return Check("paging", False, f"no alarm pages from outside {there} ({'; '.join(why) or 'no alarm'})")
    return Check("paging", True, ", ".join(f"{n} ({w})" for _, n, w in paged) + " page through a subscribed topic")


def health_check(run: ProgramRun, cfg, primary: dict) -> Check:
    """The primary's health probed from this region every minute, with an alarm on it here."""
    url = f"https://{primary.get('apiHostname')}{cfg.dr.health_check_path}"
    probes = [f["inputs"] for f in run.by_type(FUNCTION)
              if ((f["inputs"].get("environment") or {}).get("variables") or {}).get("PRIMARY_HEALTH_URL") == url]
    if not probes:
        return Check("health-check", False, f"nothing in {cfg.core.region} probes {url}")
    if not any(r["inputs"].get("scheduleExpression") == PROBE_RATE for r in run.by_type(EVENT_RULE)):
        return Check("health-check", False, f"the probe of {url} is not scheduled {PROBE_RATE}")
    here, there = cfg.core.region, primary.get("region")
    alarms = [a for a in run.by_type(ALARM) if a["inputs"].get("metricName") == PROBE_METRIC
              and region_of(run, a, here) != there and a["inputs"].get("alarmActions")]
    if not alarms:
        return Check("health-check", False, f"no alarm in {here} on the probe's {PROBE_METRIC} metric")
    return Check("health-check", True, f"{url} probed from {here} every minute; "
                                       f"{alarms[0]['name']} alarms on it")


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
    checks = {h.get("id"): h["inputs"] for h in run.by_type(HEALTH_CHECK)}
    # DNS may move on its own only to a region that can take writes; a standby's database is a
    # read-only replica, so the PRIMARY record answers to the decision (an alarm in a region
    # other than the primary's), never to the primary's own health.
    decision = checks.get(primary_rec.get("healthCheckId")) or {}
    if decision.get("type") != "CLOUDWATCH_METRIC" or decision.get("cloudwatchAlarmRegion") in (None, primary.get("region")):
        kind = decision.get("type") or "no"
        return Check("records", False, f"the PRIMARY record carries {kind} health check, not the failover decision "
                                       "(a CloudWatch alarm outside the primary's region)"
                     + (": a failed probe would send every client to a read-only database" if kind in ("HTTP", "HTTPS") else ""))
    moving = [r.get("setIdentifier") for r in recs if r is not primary_rec and r.get("healthCheckId")]
    if moving:
        return Check("records", False, f"{', '.join(sorted(moving))} carry a health check: DNS would move on its own")
    weights = {k: _num((by_id.get(k, {}).get("weightedRoutingPolicies") or [{}])[0].get("weight"))
               for k in ("pool-primary", "pool-recovery")}
    if None in weights.values() or weights["pool-primary"] != cfg.dr.primary_weight \
            or sum(weights.values()) != 100:
        return Check("records", False, f"pool weights {weights}, want primary {cfg.dr.primary_weight} of 100")
    return Check("records", True, f"{public}: PRIMARY (on the decision) -> pool (primary {weights['pool-primary']:g} %, recovery "
                                  f"{weights['pool-recovery']:g} %), SECONDARY -> {origins['recovery']}, TTL {TTL_S} s")


def origins(run: ProgramRun, cfg, primary: dict) -> Check:
    """Each region's records point at that region's own origin: a recovery origin that is the
    primary's sends failed-over clients back to the failed region."""
    mine, theirs = cfg.traffic.hostname, primary.get("apiHostname")
    if mine == theirs:
        return Check("origins", False, f"this region's origin (leadgen:traffic.hostname) is {mine}, the primary's: "
                                       "SECONDARY would send clients back to the failed region")
    by_id = {r["inputs"].get("setIdentifier"): r["inputs"].get("records") for r in run.by_type(RECORD)}
    want = {"secondary": [mine], "pool-recovery": [mine], "pool-primary": [theirs]}
    wrong = [f"{k.upper() if k == 'secondary' else k} -> {', '.join(by_id.get(k) or ['nothing'])}"
             for k, v in want.items() if by_id.get(k) != v]
    if wrong:
        return Check("origins", False, f"{'; '.join(wrong)} (want recovery {mine}, primary {theirs})")
    return Check("origins", True, f"recovery {mine}, primary {theirs}")


_SIZES = {"nano": 2, "micro": 2, "small": 2, "medium": 2, "large": 2, "xlarge": 4}


def vcpus(instance_type: str) -> Optional[int]:
    """vCPUs of an EC2 instance type from its size (large 2, xlarge 4, Nxlarge 4N: the rule of the
    general, compute, memory and accelerated families the platform uses); None for metal."""
    size = instance_type.rsplit(".", 1)[-1]
    if size in _SIZES:
        return _SIZES[size]
    if size.endswith("xlarge") and size[:-6].isdigit():
        return 4 * int(size[:-6])
    return None


def capacity(run: ProgramRun, cfg, primary_cfg) -> Check:
    """What `active` runs against the primary's peak: vCPU x max nodes per group, workload maximums,
    the database and Redis classes. A standby runs smaller; its maximums and the classes it restores
    on promotion are what count."""
    groups = {g["inputs"].get("nodeGroupName"): g["inputs"] for g in run.by_type(NODE_GROUP)}
    short = []
    for g in primary_cfg.cluster.node_groups:
        need_each = vcpus(g.instance_types[0])
        mine = groups.get(g.name)
        if mine is None:
            short.append(f"no node group {g.name}")
            continue
        types = mine.get("instanceTypes") or ["?"]
        top = _num((mine.get("scalingConfig") or {}).get("maxSize")) or 0
        have_each = vcpus(types[0])
        if need_each is None or have_each is None:
            short.append(f"node group {g.name}: cannot size {types[0]} against {g.instance_types[0]}")
        elif have_each * top < need_each * g.max_size:
            short.append(f"node group {g.name} {have_each * top:g} vCPU at most ({top:g} x {types[0]}) < "
                         f"production's {need_each * g.max_size} ({g.max_size} x {g.instance_types[0]})")
    hpas = {h["inputs"]["metadata"]["name"]: _num(h["inputs"]["spec"].get("maxReplicas")) or 0 for h in run.by_type(HPA)}
    # Every workload the primary declares (leadgen/workloads.py), including one this site lacks.
    need = {w.name: n for w in primary_cfg.workloads if (n := derived.derive("dr_capacity", w)) is not None}
    for name, peak in need.items():
        if hpas.get(name, 0) < peak:
            short.append(f"workload {name} max {hpas.get(name, 0):g} < production's {peak}")
    db = (run.by_type(RDS) or [{"inputs": {}}])[0]["inputs"]
    if db.get("instanceClass") != primary_cfg.data.postgres.instance_class:
        short.append(f"database {db.get('instanceClass')} is not production's {primary_cfg.data.postgres.instance_class}")
    redis, prod_redis = cfg.data.redis, primary_cfg.data.redis
    if (redis.node_type, redis.replicas) != (prod_redis.node_type, prod_redis.replicas):
        short.append(f"Redis after promotion {redis.node_type} x {redis.replicas + 1} is not production's "
                     f"{prod_redis.node_type} x {prod_redis.replicas + 1}")
    if short:
        return Check("capacity", False, "; ".join(short))
    now = ", ".join(f"{k} {_num((v.get('scalingConfig') or {}).get('desiredSize')):g}/"
                    f"{_num((v.get('scalingConfig') or {}).get('maxSize')):g}" for k, v in sorted(groups.items()))
    apps = ", ".join(f"{k} max {hpas.get(k, 0):g} >= {v}" for k, v in sorted(need.items()))
    return Check("capacity", True, f"can carry production's peak (nodes desired/max: {now}; workloads: "
                                   f"{apps or 'none'}; database {db.get('instanceClass')}; Redis {redis.node_type} once active)")


def versions(run: ProgramRun, cfg, primary_cfg) -> Check:
    """The same Kubernetes version and the same images: a failover is no time for an upgrade."""
    wrong = []
    eks = [c["inputs"].get("version") for c in run.by_type(EKS)]
    if eks != [primary_cfg.cluster.version]:
        wrong.append(f"Kubernetes {', '.join(map(str, eks)) or 'none'} is not production's {primary_cfg.cluster.version}")
    for theirs in primary_cfg.workloads:
        if theirs.name not in cfg.workloads:
            wrong.append(f"workload {theirs.name} is not declared here")
            continue
        mine = cfg.workloads[theirs.name]
        if (mine.image, mine.tag) != (theirs.image, theirs.tag):
            wrong.append(f"workload {mine.name} runs {mine.image or 'own ECR'}:{mine.tag}, production "
                         f"{theirs.image or 'own ECR'}:{theirs.tag}")
    if (cfg.data.backup.image, cfg.data.backup.tag) != (primary_cfg.data.backup.image, primary_cfg.data.backup.tag):
        wrong.append(f"pgbackup {cfg.data.backup.tag} is not production's {primary_cfg.data.backup.tag}")
    if wrong:
        return Check("versions", False, "; ".join(wrong))
    tags = ", ".join(f"{w.name} {w.tag}" for w in cfg.workloads)
    return Check("versions", True, f"Kubernetes {primary_cfg.cluster.version}, {tags}, "
                                   f"pgbackup {cfg.data.backup.tag}: production's")


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
    return "ready to take over, as declared" if not failed else f"NOT ready: {', '.join(failed)}"


# Printed before the checks: what this check is, and what it cannot see.
SCOPE = ("offline check of the declared state: both stacks' programs run under mocks from their stack "
         "files; nothing in AWS is queried, so actual replica lag, DNS answers, alarm states and "
         "subscription confirmations are not seen")
