"""The recovery stack previews clean under the pack, and `platformctl dr check` reports readiness
one line per check (each check also shown failing on a run with its one thing broken)."""
from __future__ import annotations

import copy

from leadgen.config import load
from platformctl import dr
from platformctl.commands import dr as dr_command
from platformctl.commands.preview import evaluate_policies
from platformctl.pack import catalog
from platformctl.program.mocks.dr import stack_outputs
from platformctl.project import stack_config

GATES = set(catalog.names_in_group("gate"))


def test_the_recovery_stack_previews_clean_under_the_pack(dr_preview):
    report = evaluate_policies(dr_preview)
    mandatory = sorted({v.policy for v in report.violations if v.level == "mandatory"})
    # Only the gates on the update itself (it carries no change request yet), no guardrail.
    assert set(mandatory) <= GATES, mandatory
    assert "change-request-required" in mandatory  # protected: environment production
    assert [v for v in report.violations if v.policy not in GATES] == []


def checks(run, **primary_changes):
    cfg = load("leadgen", run.stack, run.config)
    primary_cfg = load("leadgen", "production", stack_config("production"))
    primary = {**stack_outputs("production")["outputs"]["dr"], **primary_changes}
    return {c.name: c for c in dr.check_all(run, cfg, primary_cfg, primary)}


def test_standby_passes_every_check_but_the_records_while_production_serves_the_public_name(dr_runs):
    got = checks(dr_runs("standby"))
    assert [n for n, c in got.items() if c.ok] == ["site", "replica", "replica-lag", "health-check", "capacity", "backups"]
    assert got["records"].line() == (
        "FAIL records: the primary origin is the public name api.insurance-lead-gen.com itself: each region must "
        "publish its API under its own traffic.hostname")
    assert got["replica"].detail.startswith(
        "leadgen-production-dr-postgres replicates arn:aws:rds:us-east-1:123456789012:db:leadgen-production-postgres")


def test_records_pass_once_production_has_its_own_origin(dr_runs):
    run = copy.deepcopy(dr_runs("standby"))
    origin = "api-use1.insurance-lead-gen.com"
    for r in run.resources:  # what production's `dr` output would then make the program declare
        inputs = r["inputs"]
        if inputs.get("fqdn") == "api.insurance-lead-gen.com":
            inputs["fqdn"] = origin
        if r["name"] == "leadgen-production-dr-failover-pool-primary":
            inputs["records"] = [origin]
    got = checks(run, apiHostname=origin)
    assert all(c.ok for c in got.values()), [c.line() for c in got.values() if not c.ok]
    assert got["records"].detail == ("api.insurance-lead-gen.com: PRIMARY -> pool (primary 100 %, recovery 0 %), "
                                     "SECONDARY -> api-usw2.insurance-lead-gen.com, TTL 60 s")


def broken(run, typ, name, **changes):
    run = copy.deepcopy(run)
    target = run.one(typ, name)
    for key, value in changes.items():
        if value is None:
            target["inputs"].pop(key, None)
        else:
            target["inputs"][key] = value
    return run


def test_each_check_fails_on_its_own_fault(dr_runs):
    standby = dr_runs("standby")
    cases = {
        "replica": broken(standby, "aws:rds/instance:Instance", "leadgen-production-dr-postgres", replicateSourceDb=None),
        "replica-lag": broken(standby, "aws:cloudwatch/metricAlarm:MetricAlarm", "leadgen-production-dr-standby-replica-lag",
                              threshold=30.0),
        "health-check": broken(standby, "aws:route53/healthCheck:HealthCheck", "leadgen-production-dr-failover-primary",
                               requestInterval=10.0),
        "capacity": broken(standby, "aws:eks/nodeGroup:NodeGroup", "leadgen-production-dr-general-ng",
                           scalingConfig={"minSize": 1, "desiredSize": 1, "maxSize": 2}),
        "backups": broken(standby, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
                          "leadgen-production-dr-backups-replica-object-lock", bucket="elsewhere"),
    }
    for name, run in cases.items():
        got = checks(run)
        assert not got[name].ok, name
        assert [n for n, c in got.items() if not c.ok] == sorted({name, "records"}, key=list(got).index), name
    assert checks(cases["capacity"])["capacity"].detail == "node group general max 2 < primary's 3"


def test_active_reports_a_promoted_writer(dr_runs):
    got = checks(dr_runs("active"))
    assert got["replica"].ok and "promoted: a standalone writer" in got["replica"].detail
    assert got["replica-lag"].line() == "ok   replica-lag: promoted: no replica to watch"


def test_the_command_refuses_a_primary_stack_in_one_line(capsys):
    class Args:
        action, stack = "check", "production"
    assert dr_command.main(Args()) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ("platformctl dr check: --stack production is not a recovery site "
                            "(leadgen:dr.site: primary in Pulumi.production.yaml)\n")


def test_the_command_prints_one_line_per_check_and_exits_2_when_not_ready(capsys):
    assert dr_command.check("production-dr") == 2
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "ok   site", "ok   replica", "ok   replica-lag", "ok   health-check", "FAIL records", "ok   capacity",
        "ok   backups", "production-dr"]
    assert lines[-1] == "production-dr: NOT ready: records"
