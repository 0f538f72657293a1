"""`platformctl gate`: change request, window and error budget against a real HTTP Prometheus API."""
from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess

import pytest

from auditkit import change_request, keyring
from platformctl.commands import gate
from platformctl.pack import clock
from tests.prometheus_stub import serving

ROOT = gate.ROOT


def _budget(remaining: str) -> bytes:
    return json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"slo_name": "api_availability"}, "value": [1767225600, remaining]}]}}).encode()


@pytest.fixture
def prometheus():
    """The shared loopback store (tests/prometheus_stub.py), answering an 80 % budget."""
    with serving(body=_budget("80")) as stub:
        yield stub
    assert set(stub.queries) <= {"slo_error_budget_remaining"}


@pytest.fixture
def project(tmp_path, prometheus):
    (tmp_path / "policies").symlink_to(ROOT / "policies")
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    url = prometheus.url
    # The SLO store of a protected stack is the CAB's setting (governance/gates.yaml), not the stack's.
    (tmp_path / "Pulumi.production.yaml").write_text("config:\n  aws:region: us-east-1\n")
    keyring().install(tmp_path)
    (tmp_path / "governance" / "gates.yaml").write_text(f"stacks:\n  production:\n    prometheus_url: {url}\n")
    # A checkout with the program committed: the approvals bind that commit and production's config.
    git = ["git", "-C", str(tmp_path), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "the program"], check=True)
    change_request(tmp_path, "CR-2026-001", window_start="2026-03-02T02:00:00Z", duration="2h")
    return tmp_path


IN = dt.datetime(2026, 3, 2, 2, 30, tzinfo=dt.timezone.utc)
OUT = dt.datetime(2026, 3, 2, 5, 0, tzinfo=dt.timezone.utc)
NOW_IN, NOW_OUT = {}, {}


@pytest.fixture(autouse=True)
def real_clock_at(monkeypatch):
    """The gate reads the real clock (as the update does); the test moves that clock, not an env var."""
    def at(moment):
        monkeypatch.setattr(clock, "now", lambda: moment)
    at(IN)
    return at


def policies(report):
    return sorted({v.policy for v in report.violations})


def test_an_approved_change_in_its_window_with_budget_passes(project):
    report = gate.evaluate("production", "CR-2026-001", project, env={})
    assert policies(report) == []
    assert report.exit_code() == 0


def test_the_pre_flight_ignores_a_clock_override_as_the_update_does(project, real_clock_at):
    # The old pre-flight honoured LEADGEN_GOVERNANCE_NOW: a closed window passed it and the update
    # then refused. It reads the real clock now and says the variable was ignored.
    real_clock_at(OUT)
    report = gate.evaluate("production", "CR-2026-001", project,
                           env={"LEADGEN_GOVERNANCE_NOW": "2026-03-02T02:30:00+00:00"})
    assert "change-window" in policies(report) and report.exit_code() == 2
    override = [v for v in report.violations if v.policy == "governance-clock-override"]
    assert override and "is ignored: an update reads the real clock" in override[0].message


def test_a_stack_file_that_points_the_gate_at_its_own_prometheus_is_refused(project):
    (project / "Pulumi.production.yaml").write_text(
        "config:\n  leadgen:governance.prometheusUrl: http://127.0.0.1:1\n")
    report = gate.evaluate("production", "CR-2026-001", project, env={})
    refused = [v for v in report.violations if v.policy == "governance-gate-settings"]
    assert [v.message for v in refused] == [
        "leadgen:governance.prometheusUrl is set in Pulumi.production.yaml; production is protected, so its gate "
        "settings live in governance/gates.yaml (stacks.production.prometheus_url), never in the stack's config: "
        "remove the key"]
    assert refused[0].level == "mandatory" and report.exit_code() == 2


def test_outside_the_window_is_blocked(project, real_clock_at):
    real_clock_at(OUT)
    report = gate.evaluate("production", "CR-2026-001", project, env=NOW_OUT)
    assert "change-window" in policies(report)
    assert report.exit_code() == 2


def test_no_change_request_is_blocked(project):
    report = gate.evaluate("production", None, project, env=NOW_IN)
    assert {"change-request-required", "change-window"} <= set(policies(report))


def test_low_error_budget_needs_a_more_senior_approval(project, prometheus):
    prometheus.reply["body"] = _budget("20")  # 10-30 %: mitigate, engineering manager
    report = gate.evaluate("production", "CR-2026-001", project, env=NOW_IN)
    budget = [v for v in report.violations if v.policy == "error-budget-gate"]
    assert budget and "engineering-manager" in budget[0].message


def test_an_unknown_stack_is_bad_input(project):
    with pytest.raises(gate.InputError, match="no Pulumi.qa.yaml"):
        gate.evaluate("qa", None, project, env={})
