"""`platformctl gate`: change request, window and error budget against a real HTTP Prometheus API."""
from __future__ import annotations

import http.server
import json
import shutil
import threading

import pytest

from auditkit import change_request
from platformctl.commands import gate

ROOT = gate.ROOT


class _Prometheus(http.server.BaseHTTPRequestHandler):
    remaining = "80"

    def do_GET(self):
        assert self.path.startswith("/api/v1/query?query=slo_error_budget_remaining")
        body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"slo_name": "api_availability"}, "value": [1767225600, self.remaining]}]}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def prometheus():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Prometheus)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def project(tmp_path, prometheus):
    (tmp_path / "policies").symlink_to(ROOT / "policies")
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    url = f"http://127.0.0.1:{prometheus.server_address[1]}"
    (tmp_path / "Pulumi.production.yaml").write_text(f"config:\n  leadgen:governance.prometheusUrl: {url}\n")
    change_request(tmp_path, "CR-2026-001", window_start="2026-03-02T02:00:00Z", duration="2h")
    return tmp_path


NOW_IN = {"LEADGEN_GOVERNANCE_NOW": "2026-03-02T02:30:00+00:00"}
NOW_OUT = {"LEADGEN_GOVERNANCE_NOW": "2026-03-02T05:00:00+00:00"}


def policies(report):
    return sorted({v.policy for v in report.violations})


def test_an_approved_change_in_its_window_with_budget_passes_but_the_clock_override_shows(project):
    report = gate.evaluate("production", "CR-2026-001", project, env=NOW_IN)
    # Fixing the clock is itself reported, so nobody can move time silently in a real run.
    assert policies(report) == ["governance-clock-override"]
    assert report.violations[0].level == "advisory"
    assert report.exit_code() == 0


def test_outside_the_window_is_blocked(project):
    report = gate.evaluate("production", "CR-2026-001", project, env=NOW_OUT)
    assert "change-window" in policies(report)
    assert report.exit_code() == 2


def test_no_change_request_is_blocked(project):
    report = gate.evaluate("production", None, project, env=NOW_IN)
    assert {"change-request-required", "change-window"} <= set(policies(report))


def test_low_error_budget_needs_a_more_senior_approval(project, prometheus):
    _Prometheus.remaining = "20"  # 10-30 %: mitigate, engineering manager
    try:
        report = gate.evaluate("production", "CR-2026-001", project, env=NOW_IN)
    finally:
        _Prometheus.remaining = "80"
    budget = [v for v in report.violations if v.policy == "error-budget-gate"]
    assert budget and "engineering-manager" in budget[0].message


def test_an_unknown_stack_is_bad_input(project):
    with pytest.raises(gate.InputError, match="no Pulumi.qa.yaml"):
        gate.evaluate("qa", None, project, env={})
