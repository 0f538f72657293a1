"""The five core sections' judgement at their thresholds, driven in process from the recorded
answers with the report's clock moved (what a Monday later in the year would see)."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from weeklykit import FIXTURES

from platformctl.weekly.model import ACTION_NEEDED, ATTENTION, OK, Context
from platformctl.weekly.sources import FixtureFetch

RECORDED = dt.datetime(2026, 11, 30, 6, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def config():
    from leadgen.config import load
    from platformctl.project import project_name, stack_config
    return load(project_name(), "production", stack_config("production"))


def ctx(config, fetch, now=RECORDED):
    return Context(stack="production", config=config, now=now, since=now - dt.timedelta(days=7), fetch=fetch)


@pytest.mark.parametrize("later, status, figure", [
    (dt.timedelta(days=31), OK, "expires in 30.3 days (renewal from 30 days, alert at 21 days)"),
    (dt.timedelta(days=32), ATTENTION, "expires in 29.3 days (renewal from 30 days, alert at 21 days)"),
    (dt.timedelta(days=41), ACTION_NEEDED, "expires in 20.3 days (renewal from 30 days, alert at 21 days)"),
    (dt.timedelta(days=62), ACTION_NEEDED, "expired (renewal from 30 days, alert at 21 days)"),
])
def test_certificate_thresholds(config, later, status, figure):
    from platformctl.weekly.sections import certificates
    recorded = FixtureFetch(FIXTURES)
    fetch = lambda s, o, p: recorded(s, o, {k: v for k, v in p.items() if k != "time"})
    section = certificates.assess(ctx(config, fetch, RECORDED + later))
    assert (section.status, section.rows[0].figure) == (status, figure)


@pytest.mark.parametrize("now, status, figure", [
    (dt.datetime(2026, 12, 26, tzinfo=dt.timezone.utc), OK, "91 days of standard support left (until 2027-03-27)"),
    (dt.datetime(2026, 12, 27, tzinfo=dt.timezone.utc), ATTENTION, "90 days of standard support left (until 2027-03-27)"),
    (dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc), ATTENTION, "85 days of standard support left (until 2027-03-27)"),
    (dt.datetime(2027, 3, 27, tzinfo=dt.timezone.utc), ACTION_NEEDED, "standard support ended 2027-03-27"),
])
def test_kubernetes_support_calendar(config, now, status, figure):
    from platformctl.weekly.sections import kubernetes
    recorded = FixtureFetch(FIXTURES)
    # Only the add-on pins as EKS offers them today (none behind), so the calendar alone decides.
    fetch = lambda s, o, p: ({"addons": [{"addonName": p["addonName"], "addonVersions": [{"addonVersion": "v0.0.1"}]}]}
                             if o == "DescribeAddonVersions" else recorded(s, o, p))
    section = kubernetes.assess(ctx(config, fetch, now))
    assert section.status == status and section.rows[0].figure == f"Kubernetes 1.35: {figure}"


def test_kubernetes_cluster_running_another_version_than_declared(config):
    from platformctl.weekly.sections import kubernetes
    recorded = FixtureFetch(FIXTURES)
    fetch = lambda s, o, p: ({"cluster": {"version": "1.36"}} if o == "DescribeCluster" else
                             {"addons": []} if o == "DescribeAddonVersions" else recorded(s, o, p))
    section = kubernetes.assess(ctx(config, fetch))
    rows = {r.name: r for r in section.rows}
    assert rows["declared version"].figure == "the stack declares 1.35, the cluster runs 1.36"
    assert rows["add-on vpc-cni"].figure == "pinned v1.22.4-eksbuild.3; EKS offers no version for 1.36"
    assert section.status == ATTENTION


def test_backups_older_than_the_limits_need_action(config):
    from platformctl.weekly.sections import backups
    section = backups.assess(ctx(config, FixtureFetch(FIXTURES), RECORDED + dt.timedelta(hours=23)))
    assert section.status == ACTION_NEEDED
    newest, verified = section.rows
    assert (newest.status, verified.status) == (ACTION_NEEDED, ACTION_NEEDED)
    assert "(26.8 h ago; limit 26 h for a 24 h RPO)" in newest.figure and "limit 24 h" in verified.figure


def test_backups_a_failed_verification_is_not_a_verified_backup(config):
    from platformctl.weekly.sections import backups
    recorded = FixtureFetch(FIXTURES)

    def fetch(s, o, p):
        answer = recorded(s, o, p)
        if o == "GetObject" and "/verifications/" in p["Key"]:
            answer = {**answer, "status": "failed", "problems": ["row count of public.leads differs"]}
        return answer
    section = backups.assess(ctx(config, fetch))
    assert section.status == ACTION_NEEDED
    assert section.rows[1].figure == ("none (its last verification failed: row count of public.leads differs)")


def test_backups_a_manifest_against_the_buckets_clock_is_suspect(config):
    from platformctl.weekly.sections import backups
    recorded = FixtureFetch(FIXTURES)

    def fetch(s, o, p):
        answer = recorded(s, o, p)
        if o == "GetObject" and p["Key"].endswith("20261130T020000Z-c1d2e3f4/manifest.json"):
            answer = {**answer, "finished_at": "2026-11-30T05:40:00Z"}  # a clock far ahead of the bucket's
        return answer
    section = backups.assess(ctx(config, fetch))
    rows = {r.name: r for r in section.rows}
    assert rows["suspect 20261130T020000Z-c1d2e3f4"].status == ATTENTION
    assert rows["insurance_lead_gen: newest backup"].figure.startswith("20261129T020000Z-8b7d6e5f")


def test_backups_the_stacks_database_missing_from_the_bucket(config):
    from platformctl.weekly.sections import backups
    recorded = FixtureFetch(FIXTURES)
    fetch = lambda s, o, p: ({"IsTruncated": False, "KeyCount": 0} if o == "ListObjectsV2" else recorded(s, o, p))
    section = backups.assess(ctx(config, fetch))
    assert section.status == ACTION_NEEDED
    assert section.rows[0].figure == ("no trusted backup in s3://insurance-lead-gen-production-backups-123456789012/"
                                      "postgres//")


def _slo_fetch(budgets: dict, compliance: dict, week_ago: dict):
    def vector(values):
        return {"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"slo_name": k}, "value": [0, v]} for k, v in values.items()]}}

    def fetch(service, operation, params):
        if params["query"] == "slo_availability_percentage":
            return vector(compliance)
        return vector(budgets if params["time"] == f"{RECORDED.timestamp():.0f}" else week_ago)
    return fetch


def test_slos_matrix_rows_and_missing_series(config):
    from platformctl.weekly.sections import slos
    fetch = _slo_fetch({"api-availability": "25.0", "api-latency": "NaN", "backend-availability": "5.5"},
                       {"api-availability": "99.925", "api-latency": "NaN", "backend-availability": "99.8942"},
                       {"api-availability": "40.0"})
    section = slos.assess(ctx(config, fetch))
    rows = {r.name: r for r in section.rows}
    assert rows["api-availability"].status == ACTION_NEEDED
    assert rows["api-availability"].figure.endswith("25.0 % budget left, -15.0 points on the week; matrix: mitigate, "
                                                    "approval: engineering-manager")
    assert (rows["api-latency"].status, rows["api-latency"].figure) == (OK, "no traffic in the window: no budget spent")
    assert rows["backend-availability"].status == ACTION_NEEDED
    assert rows["backend-availability"].figure.startswith("99.894 % compliant (below the objective 99.9 %)")
    assert rows["api-availability"].figure.startswith("99.925 % compliant (objective 99.9 %)")
    assert rows["backend-availability"].figure.endswith("no value a week ago; matrix: feature freeze, approval: cto")
    assert rows["backend-latency"].status == ACTION_NEEDED
    assert rows["backend-latency"].figure.startswith("no slo_error_budget_remaining series in the SLO store")
    assert section.figure == "4 SLOs; lowest budget 5.5 % (backend-availability, matrix: feature freeze)"


def test_changes_a_week_without_updates(config):
    from platformctl.weekly.sections import changes
    history = json.loads((FIXTURES / "pulumi" / "stack-history.json").read_text())
    fetch = lambda s, o, p: history
    section = changes.assess(ctx(config, fetch, RECORDED + dt.timedelta(days=14)))
    assert (section.status, section.figure) == (OK, "no update of the stack this week")
