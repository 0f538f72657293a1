"""The recovery stack as the program declares it: a standby that reads production through a
StackReference answered by production's own program, and the exact resource changes of failover
(`dr.state: active`); the failback's steps are pinned in test_failback.py."""
from __future__ import annotations

from platformctl.program.engine import run_program as engine_run
from platformctl.program.mocks.dr import stack_outputs

RDS = "aws:rds/instance:Instance"
RECORD = "aws:route53/record:Record"
P = "urn:pulumi:production-dr::leadgen::"


def changes(before, after):
    """(created, deleted, updated) between two runs, by URN; updated maps a URN to the inputs that differ."""
    a, b = ({r["urn"]: r for r in run.resources} for run in (before, after))
    updated = {}
    for urn in set(a) & set(b):
        keys = sorted(k for k in set(a[urn]["inputs"]) | set(b[urn]["inputs"])
                      if a[urn]["inputs"].get(k) != b[urn]["inputs"].get(k))
        if keys:
            updated[urn] = keys
    return sorted(set(b) - set(a)), sorted(set(a) - set(b)), updated


def test_the_stack_reference_answers_with_productions_own_program_outputs(dr_runs):
    production = engine_run("production", preview=False)
    referenced = stack_outputs("production")
    assert referenced["outputs"]["dr"] == production.outputs["dr"]
    assert referenced["secretOutputNames"] == ["kubeconfig"]
    [db] = dr_runs("standby").by_type(RDS)
    assert db["inputs"]["replicateSourceDb"] == production.outputs["dr"]["databaseArn"]
    assert db["inputs"]["replicateSourceDb"].startswith("arn:aws:rds:us-east-1:")
    # Encrypted under this region's key, in this region's subnets.
    assert db["inputs"]["kmsKeyId"].startswith("arn:aws:kms:us-west-2:")
    [replication] = dr_runs("standby").by_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    assert replication["inputs"]["bucket"] == production.outputs["dr"]["backupBucket"]


def test_failover_promotes_scales_up_starts_backups_and_sends_traffic_here(dr_runs):
    created, deleted, updated = changes(dr_runs("standby"), dr_runs("active"))
    jobs = f"{P}leadgen:backup_jobs:BackupJobs"
    assert created == sorted([
        f"{jobs}$kubernetes:batch/v1:CronJob::leadgen-production-dr-pgbackup-backup",
        f"{jobs}$kubernetes:batch/v1:CronJob::leadgen-production-dr-pgbackup-verify",
        f"{jobs}$kubernetes:core/v1:ServiceAccount::leadgen-production-dr-pgbackup-sa",
        f"{jobs}$kubernetes:core/v1:ServiceAccount::leadgen-production-dr-pgbackup-verify-sa",
        f"{jobs}$leadgen:irsa:IrsaRole$aws:iam/role:Role::leadgen-production-dr-pgbackup-irsa-role",
        f"{jobs}$leadgen:irsa:IrsaRole$aws:iam/role:Role::leadgen-production-dr-pgbackup-verify-irsa-role",
        f"{jobs}$leadgen:irsa:IrsaRole$aws:iam/rolePolicy:RolePolicy::leadgen-production-dr-pgbackup-irsa-policy",
        f"{jobs}$leadgen:irsa:IrsaRole$aws:iam/rolePolicy:RolePolicy::leadgen-production-dr-pgbackup-verify-irsa-policy",
        f"{jobs}$leadgen:irsa:IrsaRole::leadgen-production-dr-pgbackup-irsa",
        f"{jobs}$leadgen:irsa:IrsaRole::leadgen-production-dr-pgbackup-verify-irsa",
        f"{jobs}::leadgen-production-dr-pgbackup"])
    # Only the replica's lag alarm goes (a promoted database has no lag); it is in this region.
    assert deleted == [f"{P}leadgen:dr_alarms:DrAlarms$aws:cloudwatch/metricAlarm:MetricAlarm::"
                       "leadgen-production-dr-standby-replica-lag"]
    groups = f"{P}leadgen:node_group:NodeGroup$aws:eks/nodeGroup:NodeGroup::leadgen-production-dr"
    assert updated == {
        # Removing replicateSourceDb promotes the replica; RDS now manages its password here, a
        # final snapshot protects it and it becomes Multi-AZ. Name and user stay unset: they came
        # from the source.
        f"{P}leadgen:database:Database$aws:rds/instance:Instance::leadgen-production-dr-postgres": [
            "finalSnapshotIdentifier", "manageMasterUserPassword", "masterUserSecretKmsKeyId", "multiAz",
            "replicateSourceDb", "skipFinalSnapshot"],
        # The standby's Redis scales up to production's node type (online vertical scaling).
        f"{P}leadgen:cache:Cache$aws:elasticache/replicationGroup:ReplicationGroup::leadgen-production-dr-redis":
            ["nodeType"],
        f"{groups}-general-ng": ["scalingConfig"],
        f"{groups}-spot-ng": ["scalingConfig"],
    }
    db = dr_runs("active").one(RDS, "leadgen-production-dr-postgres")["inputs"]
    assert "replicateSourceDb" not in db and db["skipFinalSnapshot"] is False and db["multiAz"] is True
    general = dr_runs("active").one("aws:eks/nodeGroup:NodeGroup", "leadgen-production-dr-general-ng")["inputs"]
    assert general["scalingConfig"] == {"minSize": 3, "desiredSize": 3, "maxSize": 10}
    # No record changes: the decision health check already sends clients here.
    assert weights(dr_runs("active")) == (100, 0)


def test_failover_writes_nothing_in_the_primary_region(dr_runs):
    """Every resource the failover creates, updates or deletes is in the recovery region: none
    uses a provider of the primary's region, and no Route53 record (a control-plane write) changes."""
    standby, active = dr_runs("standby"), dr_runs("active")
    created, deleted, updated = changes(standby, active)
    east = {p["urn"] + "::" + p["id"] for p in standby.resources
            if p["type"] == "pulumi:providers:aws" and p["inputs"].get("region") == "us-east-1"}
    by_urn = {r["urn"]: r for r in (*standby.resources, *active.resources)}
    touched = [*created, *deleted, *updated]
    assert [u for u in touched if by_urn[u].get("provider") in east] == []
    assert [u for u in touched if by_urn[u]["type"] in (RECORD, "aws:route53/healthCheck:HealthCheck")] == []
    assert [u for u in touched if by_urn[u]["type"].startswith("pulumi:providers:")] == []


def weights(run):
    return tuple(run.one(RECORD, f"leadgen-production-dr-failover-pool-{k}")["inputs"]["weightedRoutingPolicies"][0]["weight"]
                 for k in ("primary", "recovery"))


def test_the_cutover_freezes_writes_here_and_moves_no_record(dr_runs):
    """`handback`: the writer here refuses writes so that the primary's replica of it catches up;
    the pool stays all primary (clients move by the decision, all at once, never split)."""
    created, deleted, updated = changes(dr_runs("active"), dr_runs("handback"))
    assert (created, deleted) == ([], [])
    assert updated == {f"{P}leadgen:database:Database$aws:rds/parameterGroup:ParameterGroup::"
                       "leadgen-production-dr-postgres-params": ["parameters"]}
    params = dr_runs("handback").one("aws:rds/parameterGroup:ParameterGroup",
                                     "leadgen-production-dr-postgres-params")["inputs"]["parameters"]
    assert {"name": "default_transaction_read_only", "value": "1", "applyMethod": "immediate"} in params
    assert [weights(dr_runs(s)) for s in ("standby", "active", "handback")] == [(100, 0)] * 3


def test_standby_has_the_failover_pair_the_health_check_and_the_lag_alarm(dr_runs):
    run = dr_runs("standby")
    # The primary's health, probed from this region every minute; the alarm on it lives here too.
    probe = run.one("aws:lambda/function:Function", "leadgen-production-dr-primary-probe")["inputs"]
    assert probe["environment"]["variables"]["PRIMARY_HEALTH_URL"] == "https://api-use1.insurance-lead-gen.com/health"
    assert probe.get("vpcConfig") is None  # it reaches the primary's public origin as clients do
    schedule = run.one("aws:cloudwatch/eventRule:EventRule", "leadgen-production-dr-primary-probe-schedule")["inputs"]
    assert schedule["scheduleExpression"] == "rate(1 minute)"
    health = run.one("aws:cloudwatch/metricAlarm:MetricAlarm", "leadgen-production-dr-standby-primary-health")
    assert (health["inputs"]["namespace"], health["inputs"]["metricName"], health["inputs"]["dimensions"]) == (
        "Leadgen/DR", "PrimaryHealthy", {"Origin": "api-use1.insurance-lead-gen.com"})
    assert not [p for p in run.by_type("pulumi:providers:aws") if p["name"].endswith("route53-metrics")]
    for key, kind in (("primary", "PRIMARY"), ("secondary", "SECONDARY")):
        rec = run.one(RECORD, f"leadgen-production-dr-failover-{key}")["inputs"]
        assert (rec["name"], rec["ttl"], rec["failoverRoutingPolicies"]) == ("api.insurance-lead-gen.com", 60, [{"type": kind}])
    assert run.one(RECORD, "leadgen-production-dr-failover-primary")["inputs"]["healthCheckId"]
    lag = run.one("aws:cloudwatch/metricAlarm:MetricAlarm", "leadgen-production-dr-standby-replica-lag")["inputs"]
    assert (lag["metricName"], lag["threshold"], lag["dimensions"]) == (
        "ReplicaLag", 5, {"DBInstanceIdentifier": "leadgen-production-dr-postgres"})
    assert weights(run) == (100, 0)
    assert not run.by_type("kubernetes:batch/v1:CronJob") or all(
        "pgbackup" not in r["name"] for r in run.by_type("kubernetes:batch/v1:CronJob"))


def test_dns_moves_only_on_the_decision_never_on_the_primarys_health(dr_runs):
    run = dr_runs("standby")
    decision = run.one("aws:route53/healthCheck:HealthCheck", "leadgen-production-dr-failover-decision")
    assert (decision["inputs"]["type"], decision["inputs"]["cloudwatchAlarmRegion"],
            decision["inputs"]["insufficientDataHealthStatus"]) == ("CLOUDWATCH_METRIC", "us-west-2", "Healthy")
    alarm = run.one("aws:cloudwatch/metricAlarm:MetricAlarm", "leadgen-production-dr-failover-decision")["inputs"]
    assert decision["inputs"]["cloudwatchAlarmName"] == alarm["name"] == "leadgen-production-dr-failover-decision"
    # The decision holds between datapoints: one put-metric-data, not a stream of them.
    assert (alarm["namespace"], alarm["metricName"], alarm["treatMissingData"], alarm["threshold"]) == (
        "Leadgen/DR", "FailoverDecision", "ignore", 1)
    health = {r["inputs"]["setIdentifier"]: r["inputs"].get("healthCheckId") for r in run.by_type(RECORD)}
    assert health == {"primary": decision["id"], "pool-primary": None, "pool-recovery": None, "secondary": None}


def test_the_standby_pages_through_this_region_and_is_scaled_down(dr_runs):
    run = dr_runs("standby")
    subs = {s["name"]: s["inputs"] for s in run.by_type("aws:sns/topicSubscription:TopicSubscription")}
    lag_topic = run.one("aws:sns/topic:Topic", "leadgen-production-dr-standby-alerts")
    assert subs["leadgen-production-dr-standby-alerts-paging"]["topic"] == lag_topic["outputs"]["arn"]
    assert subs["leadgen-production-dr-standby-alerts-paging"]["protocol"] == "https"
    assert not run.one("aws:sns/topic:Topic", "leadgen-production-dr-standby-alerts").get("provider", "").count("route53-metrics")
    # A warm standby: Redis and the replica scaled down until `active` restores production's.
    redis = run.one("aws:elasticache/replicationGroup:ReplicationGroup", "leadgen-production-dr-redis")["inputs"]
    db = run.one(RDS, "leadgen-production-dr-postgres")["inputs"]
    assert (redis["nodeType"], db["multiAz"]) == ("cache.t4g.medium", False)
    active = dr_runs("active")
    assert active.one("aws:elasticache/replicationGroup:ReplicationGroup",
                      "leadgen-production-dr-redis")["inputs"]["nodeType"] == "cache.r7g.large"
