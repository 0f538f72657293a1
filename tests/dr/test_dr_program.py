"""The recovery stack as the program declares it: a standby that reads production through a
StackReference answered by production's own program, and the exact resource changes of failover
(`dr.state: active`) and of each failback step (`dr.failbackPercent`)."""
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
    alarms = f"{P}leadgen:dr_alarms:DrAlarms"
    assert deleted == sorted([
        f"{alarms}$aws:cloudwatch/metricAlarm:MetricAlarm::leadgen-production-dr-standby-primary-health",
        f"{alarms}$aws:cloudwatch/metricAlarm:MetricAlarm::leadgen-production-dr-standby-replica-lag",
        f"{alarms}$aws:sns/topic:Topic::leadgen-production-dr-standby-alerts",
        f"{alarms}$aws:sns/topic:Topic::leadgen-production-dr-standby-health-alerts",
        f"{alarms}::leadgen-production-dr-standby",
        f"{P}pulumi:providers:aws::leadgen-production-dr-route53-metrics"])
    dns = f"{P}leadgen:failover_dns:FailoverDns$aws:route53/record:Record::leadgen-production-dr-failover"
    groups = f"{P}leadgen:node_group:NodeGroup$aws:eks/nodeGroup:NodeGroup::leadgen-production-dr"
    assert updated == {
        # Removing replicateSourceDb promotes the replica; RDS now manages its password here and a
        # final snapshot protects it. Name and user stay unset: they came from the source.
        f"{P}leadgen:database:Database$aws:rds/instance:Instance::leadgen-production-dr-postgres": [
            "finalSnapshotIdentifier", "manageMasterUserPassword", "masterUserSecretKmsKeyId",
            "replicateSourceDb", "skipFinalSnapshot"],
        f"{dns}-pool-primary": ["weightedRoutingPolicies"],
        f"{dns}-pool-recovery": ["weightedRoutingPolicies"],
        f"{dns}-primary": ["healthCheckId"],
        f"{groups}-general-ng": ["scalingConfig"],
        f"{groups}-spot-ng": ["scalingConfig"],
    }
    db = dr_runs("active").one(RDS, "leadgen-production-dr-postgres")["inputs"]
    assert "replicateSourceDb" not in db and db["skipFinalSnapshot"] is False
    general = dr_runs("active").one("aws:eks/nodeGroup:NodeGroup", "leadgen-production-dr-general-ng")["inputs"]
    assert general["scalingConfig"] == {"minSize": 3, "desiredSize": 3, "maxSize": 10}
    assert weights(dr_runs("active")) == (0, 100)
    primary = dr_runs("active").one(RECORD, "leadgen-production-dr-failover-primary")["inputs"]
    assert "healthCheckId" not in primary


def weights(run):
    return tuple(run.one(RECORD, f"leadgen-production-dr-failover-pool-{k}")["inputs"]["weightedRoutingPolicies"][0]["weight"]
                 for k in ("primary", "recovery"))


def test_each_failback_step_changes_only_the_two_pool_weights(dr_runs):
    steps = ["active", "failback-10", "failback-50", "failback-100"]
    for before, after in zip(steps, steps[1:]):
        created, deleted, updated = changes(dr_runs(before), dr_runs(after))
        assert (created, deleted) == ([], []), after
        assert sorted(updated) == [
            f"{P}leadgen:failover_dns:FailoverDns$aws:route53/record:Record::leadgen-production-dr-failover-pool-{k}"
            for k in ("primary", "recovery")], after
    assert [weights(dr_runs(s)) for s in steps] == [(0, 100), (10, 90), (50, 50), (100, 0)]


def test_standby_has_the_failover_pair_the_health_check_and_the_lag_alarm(dr_runs):
    run = dr_runs("standby")
    check = run.one("aws:route53/healthCheck:HealthCheck", "leadgen-production-dr-failover-primary")["inputs"]
    assert (check["type"], check["requestInterval"], check["failureThreshold"], check["port"]) == ("HTTPS", 30, 3, 443)
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
