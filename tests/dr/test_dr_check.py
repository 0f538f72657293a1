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
    # Besides them, only the advisory on the Redis token the app contract passes as an environment
    # variable (checkov CKV_K8S_35; governance/kubernetes/checkov_parity.py).
    assert {v.policy for v in report.violations if v.policy not in GATES} <= {"kubernetes-container-secrets-as-files"}
    assert [v for v in report.violations if v.policy not in GATES and v.level == "mandatory"] == []


def checks(run, **primary_changes):
    cfg = load("leadgen", run.stack, run.config)
    primary_cfg = load("leadgen", "production", stack_config("production"))
    primary = {**stack_outputs("production")["outputs"]["dr"], **primary_changes}
    return {c.name: c for c in dr.check_all(run, cfg, primary_cfg, primary)}


def test_the_declared_standby_is_ready_each_region_under_its_own_origin(dr_runs):
    run = dr_runs("standby")
    got = checks(run)
    assert all(c.ok for c in got.values()), [c.line() for c in got.values() if not c.ok]
    assert got["replica"].detail.startswith(
        "leadgen-production-dr-postgres replicates arn:aws:rds:us-east-1:123456789012:db:leadgen-production-postgres")
    assert got["health-check"].detail == (
        "https://api-use1.insurance-lead-gen.com/health probed from us-west-2 every minute; "
        "leadgen-production-dr-standby-primary-health alarms on it")
    assert got["records"].detail == ("api.insurance-lead-gen.com: PRIMARY (on the decision) -> pool (primary 100 %, recovery 0 %), "
                                     "SECONDARY -> api-usw2.insurance-lead-gen.com, TTL 60 s")
    pool = {r["inputs"]["setIdentifier"]: r["inputs"]["records"] for r in run.by_type("aws:route53/record:Record")
            if r["inputs"]["name"] == "pool.api.insurance-lead-gen.com"}
    assert pool == {"pool-primary": ["api-use1.insurance-lead-gen.com"],
                    "pool-recovery": ["api-usw2.insurance-lead-gen.com"]}


def test_records_fail_when_an_origin_is_the_public_name_itself(dr_runs):
    got = checks(dr_runs("standby"), apiHostname="api.insurance-lead-gen.com")
    assert got["records"].line() == (
        "FAIL records: the primary origin is the public name api.insurance-lead-gen.com itself: each region must "
        "publish its API under its own traffic.hostname")


def test_records_fail_when_a_region_would_refuse_the_public_name(dr_runs):
    standby = dr_runs("standby")
    got = checks(standby, publicHostname="")
    assert got["records"].line() == (
        "FAIL records: production answers for no public name, not api.insurance-lead-gen.com: set its "
        "leadgen:dr.publicHostname to api.insurance-lead-gen.com")
    own = broken(standby, "kubernetes:cert-manager.io/v1:Certificate", "leadgen-production-dr-traffic-certificates-api-tls",
                 spec={"dnsNames": ["api-usw2.insurance-lead-gen.com"]})
    assert checks(own)["records"].line() == (
        "FAIL records: this region's certificate names ['api-usw2.insurance-lead-gen.com'], not "
        "api.insurance-lead-gen.com: its gateway would refuse the public name")


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
        "health-check": broken(standby, "aws:cloudwatch/eventRule:EventRule", "leadgen-production-dr-primary-probe-schedule",
                               scheduleExpression="rate(1 hour)"),
        "capacity": broken(standby, "aws:eks/nodeGroup:NodeGroup", "leadgen-production-dr-general-ng",
                           scalingConfig={"minSize": 1, "desiredSize": 1, "maxSize": 2}),
        "backups": broken(standby, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
                          "leadgen-production-dr-backups-replica-object-lock", bucket="elsewhere"),
    }
    for name, run in cases.items():
        got = checks(run)
        assert not got[name].ok, name
        assert [n for n, c in got.items() if not c.ok] == [name], name
    assert checks(cases["capacity"])["capacity"].detail == (
        "node group general 8 vCPU at most (2 x m6i.xlarge) < production's 40 (10 x m6i.xlarge)")


def test_active_is_not_ready_to_take_over_it_is_the_writer(dr_runs):
    got = checks(dr_runs("active"))
    assert got["replica"].line() == (
        "FAIL replica: leadgen-production-dr-postgres is the acting writer (leadgen:dr.state: active): "
        "no replica stands by to take over")
    assert got["replica-lag"].line() == "ok   replica-lag: promoted: no replica to watch"


def test_the_command_refuses_a_primary_stack_in_one_line(capsys):
    class Args:
        action, stack = "check", "production"
    assert dr_command.main(Args()) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ("platformctl dr check: --stack production is not a recovery site "
                            "(leadgen:dr.site: primary in Pulumi.production.yaml)\n")


def test_the_command_prints_one_line_per_check_and_reports_the_declared_config_ready(capsys):
    assert dr_command.check("production-dr") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("production-dr: offline check of the declared state: ")
    assert [line.split(":")[0] for line in lines[1:]] == [
        "ok   site", "ok   replica", "ok   replica-lag", "ok   paging", "ok   health-check", "ok   records",
        "ok   origins", "ok   capacity", "ok   versions", "ok   backups", "production-dr"]
    assert lines[-1] == "production-dr: ready to take over, as declared"
