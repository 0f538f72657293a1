"""Failover, then failback through one writer, as the runbook's updates (platformctl/dr_plan.py):
exactly which resources each update creates, updates, replaces and deletes (diffed as
`preview --against` diffs an update against the state the previous one left), nothing in the
failed region while it is down, one writer at every moment clients can reach, and a rebuild the
engine refuses until an earlier update has lifted the protection."""
from __future__ import annotations

import pytest

from leadgen.config import ConfigError, load
from platformctl import dr_plan
from platformctl.program.diff import diff, run_resources
from platformctl.project import stack_config
from tests.helpers import run_program

P = "urn:pulumi:production::leadgen::"
R = "urn:pulumi:production-dr::leadgen::"
DB = "leadgen:database:Database$aws:rds/instance:Instance::leadgen-{}-postgres"
PARAMS = "leadgen:database:Database$aws:rds/parameterGroup:ParameterGroup::leadgen-{}-postgres-params"
REDIS = "leadgen:cache:Cache$aws:elasticache/replicationGroup:ReplicationGroup::leadgen-production-dr-redis"
GROUP = "leadgen:node_group:NodeGroup$aws:eks/nodeGroup:NodeGroup::leadgen-production-dr-{}-ng"
LAG = "leadgen:dr_alarms:DrAlarms$aws:cloudwatch/metricAlarm:MetricAlarm::leadgen-production-dr-standby-replica-lag"
REF = "pulumi:pulumi:StackReference::production-dr"


def jobs(prefix: str, stack: str) -> list[str]:
    j, irsa = "leadgen:backup_jobs:BackupJobs", "leadgen:backup_jobs:BackupJobs$leadgen:irsa:IrsaRole"
    n = f"leadgen-{stack}-pgbackup"
    return sorted(prefix + u for u in (
        f"{j}$kubernetes:batch/v1:CronJob::{n}-backup", f"{j}$kubernetes:batch/v1:CronJob::{n}-verify",
        f"{j}$kubernetes:core/v1:ServiceAccount::{n}-sa", f"{j}$kubernetes:core/v1:ServiceAccount::{n}-verify-sa",
        f"{irsa}$aws:iam/role:Role::{n}-irsa-role", f"{irsa}$aws:iam/role:Role::{n}-verify-irsa-role",
        f"{irsa}$aws:iam/rolePolicy:RolePolicy::{n}-irsa-policy",
        f"{irsa}$aws:iam/rolePolicy:RolePolicy::{n}-verify-irsa-policy",
        f"{irsa}::{n}-irsa", f"{irsa}::{n}-verify-irsa", f"{j}::{n}"))


def none(**kinds):
    return {k: sorted(kinds.get(k, [])) for k in dr_plan.KINDS}


# Each update's changes, pinned: a step that starts changing anything else fails here.
PINNED = {
    # Failover, while us-east-1 is down: promote, scale up, back up here, stop watching lag.
    "failover": none(create=jobs(R, "production-dr"),
                     update=[R + DB.format("production-dr"), R + REDIS, R + GROUP.format("general"),
                             R + GROUP.format("spot")],
                     delete=[R + LAG]),
    # us-east-1 restored: its stale writer loses protection and gets this rebuild's snapshot name.
    "unprotect-primary": none(update=[P + DB.format("production")]),
    # ... and is rebuilt as a replica of the us-west-2 writer; a replica is not backed up here.
    "rebuild-primary": none(create=[P + REF], replace=[P + DB.format("production")], delete=jobs(P, "production")),
    # The cutover: the us-west-2 writer refuses writes and may be replaced by the next rebuild.
    "handback": none(update=[R + DB.format("production-dr"), R + PARAMS.format("production-dr")]),
    # The caught-up replica is promoted, protected, and backs up again.
    "promote-primary": none(create=jobs(P, "production"), update=[P + DB.format("production")], delete=[P + REF]),
    # us-west-2 becomes a standby again: its database rebuilt as production's replica, scaled down.
    "standby": none(create=[R + LAG], replace=[R + DB.format("production-dr")],
                    update=[R + PARAMS.format("production-dr"), R + REDIS, R + GROUP.format("general"),
                            R + GROUP.format("spot")],
                    delete=jobs(R, "production-dr")),
    "protect-recovery": none(update=[R + DB.format("production-dr")]),
}


def test_each_update_changes_exactly_the_pinned_resources(rehearsal):
    assert [r.step.name for r in rehearsal] == list(PINNED)
    for r in rehearsal:
        assert r.changed == PINNED[r.step.name], r.step.name
        assert r.diff.errors == [], r.step.name
        # The runbook's expectation, which `dr drill` checks, says the same.
        assert r.ok, r.step.name


def _region(run, res: dict) -> str:
    providers = {p["urn"]: p["inputs"].get("region") for p in run.resources if p["type"] == "pulumi:providers:aws"}
    return providers.get((res.get("provider") or "").rsplit("::", 1)[0]) or run.config["aws:region"]


def test_nothing_an_update_changes_while_the_primary_is_down_is_in_its_region(rehearsal):
    down = [r for r in rehearsal if r.step.primary_down]
    assert [r.step.name for r in down] == ["failover"]
    for r in down:
        assert r.step.stack == dr_plan.RECOVERY
        by_urn = {x["urn"]: (run, x) for run in (r.before, r.after) for x in run.resources}
        touched = [u for urns in r.changed.values() for u in urns]
        assert touched
        assert {u: _region(*by_urn[u]) for u in touched} == {u: dr_plan.RECOVERY_REGION for u in touched}
        # No Route53 record or health check (a control-plane write) and no provider changes.
        assert not [s for s in r.diff.steps if s.type.startswith(("aws:route53/", "pulumi:providers:"))]


def _db(run) -> dict:
    [db] = run.by_type("aws:rds/instance:Instance")
    params = run.one("aws:rds/parameterGroup:ParameterGroup", db["name"] + "-params")["inputs"]["parameters"]
    return {"source": db["inputs"].get("replicateSourceDb"), "arn": db["outputs"]["arn"],
            "read_only": any(p["name"] == "default_transaction_read_only" and p["value"] == "1" for p in params)}


def test_traffic_only_ever_reaches_one_writer(rehearsal):
    """No update moves traffic (no record changes: the pool stays 100 % primary and clients move
    only by the decision, all at once). Where the decision points, there is the one writer: from
    the failover to the cutover us-west-2, whose writer the rebuilt us-east-1 replicates; after
    it us-east-1, once us-west-2 refuses writes and until it replicates us-east-1."""
    assert not [s.urn for r in rehearsal for s in r.diff.steps if s.type == "aws:route53/record:Record"]
    state = {}
    seen = {}
    for r in rehearsal:
        state[r.step.stack] = _db(r.after)
        seen[r.step.name] = {k: dict(v) for k, v in state.items()}
    p, rdr = seen["rebuild-primary"]["production"], seen["rebuild-primary"]["production-dr"]
    assert p["source"] == rdr["arn"] and not rdr["source"] and not rdr["read_only"]
    # Decision reversed after promote-primary: us-east-1 writes, us-west-2 only reads.
    p, rdr = seen["promote-primary"]["production"], seen["promote-primary"]["production-dr"]
    assert not p["source"] and not p["read_only"] and rdr["read_only"]
    p, rdr = seen["standby"]["production"], seen["standby"]["production-dr"]
    assert rdr["source"] == p["arn"] and not p["read_only"]
    decisions = [(r.step.name, a.split(":")[1].split()[0]) for r in rehearsal
                 for a in (*r.step.before, *r.step.after) if "FailoverDecision" in a]
    assert decisions == [("failover", "FailoverDecision=1"), ("promote-primary", "FailoverDecision=0")]
    assert [r.step.name for r in rehearsal if any("FailoverDecision=0" in a for a in r.step.after)] == ["promote-primary"]


def test_a_rebuild_the_protection_was_not_lifted_for_is_the_engines_error():
    """Skipping `unprotect-primary`: the engine refuses to replace the protected instance."""
    before = run_resources(run_program("production", preview=False))
    after = run_resources(run_program("production", {"leadgen:dr.unprotectDatabase": "true",
                                                     "leadgen:dr.finalSnapshot": "leadgen-production-postgres-final-20261203-0900",
                                                     "leadgen:dr.replicaOf": "production-dr"}, preview=False))
    errors = diff(before, after).errors
    assert len(errors) == 1 and errors[0].startswith(
        f'unable to replace resource "{P}{DB.format("production")}" as it is currently marked for protection')


def test_the_final_snapshot_is_named_in_config_never_by_the_clock(rehearsal):
    [unprotect] = [r for r in rehearsal if r.step.name == "unprotect-primary"]
    db = unprotect.after.one("aws:rds/instance:Instance", "leadgen-production-postgres")["inputs"]
    assert (db["finalSnapshotIdentifier"], db["deletionProtection"]) == (
        "leadgen-production-postgres-final-20261203-0900", False)
    assert not unprotect.after.one("aws:rds/instance:Instance", "leadgen-production-postgres").get("protect")
    assert unprotect.before.one("aws:rds/instance:Instance", "leadgen-production-postgres")["protect"]


def cfg(stack, **overrides):
    raw = stack_config(stack)
    raw.update({f"leadgen:{k}": str(v) for k, v in overrides.items()})
    return load("leadgen", stack, raw)


SNAP = "leadgen-production-postgres-final-20261203-0900"


@pytest.mark.parametrize("stack, overrides, message", [
    ("production", {"dr.unprotectDatabase": "true"},
     "leadgen:dr.unprotectDatabase (true) needs leadgen:dr.finalSnapshot: the instance it lets the next update "
     "replace keeps its data in that snapshot in Pulumi.production.yaml"),
    ("production", {"dr.finalSnapshot": "leadgen-production-postgres-final"},
     "leadgen:dr.finalSnapshot ('leadgen-production-postgres-final') must be an RDS snapshot name ending in "
     "-final-YYYYMMDD-HHMM, the UTC time it is taken for (lower case letters, digits, single hyphens) in "
     "Pulumi.production.yaml"),
    ("production", {"dr.finalSnapshot": "leadgen-production-postgres-final-20261332-0900"},
     "leadgen:dr.finalSnapshot ('leadgen-production-postgres-final-20261332-0900') must be an RDS snapshot name "
     "ending in -final-YYYYMMDD-HHMM, the UTC time it is taken for (lower case letters, digits, single hyphens) "
     "in Pulumi.production.yaml"),
    ("production", {"dr.replicaOf": "production-dr"},
     "leadgen:dr.replicaOf ('production-dr') rebuilds the database, which replaces it: set "
     "leadgen:dr.unprotectDatabase (and leadgen:dr.finalSnapshot) in an update before in Pulumi.production.yaml"),
    ("production", {"dr.replicaOf": "production", "dr.unprotectDatabase": "true", "dr.finalSnapshot": SNAP},
     "leadgen:dr.replicaOf ('production') must name another stack: the recovery stack whose writer this "
     "database replicates in Pulumi.production.yaml"),
    ("production", {"dr.replicaOf": "production-dr", "dr.promotedReplica": "true", "dr.unprotectDatabase": "true",
                    "dr.finalSnapshot": SNAP},
     "leadgen:dr.promotedReplica (true) and leadgen:dr.replicaOf are exclusive: the database is promoted by "
     "emptying leadgen:dr.replicaOf in Pulumi.production.yaml"),
    ("production", {"dr.state": "handback"},
     "leadgen:dr.state (handback) applies only to a recovery site (leadgen:dr.site: recovery) in "
     "Pulumi.production.yaml"),
    ("production-dr", {"dr.replicaOf": "production", "dr.unprotectDatabase": "true", "dr.finalSnapshot": SNAP},
     "leadgen:dr.replicaOf ('production') applies only to a primary site: a recovery site's database follows "
     "leadgen:dr.state in Pulumi.production-dr.yaml"),
])
def test_each_bad_failback_value_is_one_line_naming_key_and_file(stack, overrides, message):
    with pytest.raises(ConfigError) as err:
        cfg(stack, **overrides)
    assert str(err.value) == message


def test_no_key_splits_traffic_between_two_databases():
    """The weighted split (10, 50 %) sent writes to two regions' databases; it is gone."""
    with pytest.raises(ConfigError) as err:
        cfg("production-dr", **{"dr.state": "active", "dr.failbackPercent": "10"})
    assert str(err.value).startswith("leadgen:dr.failbackPercent is not a known key")
