"""Issue 6's definition of done, through the command line a pipeline runs:
`platformctl preview --stack production` exits 2 naming change-request-required without a change
request, and 0 with a valid, approved, in-window one and a healthy error budget (real Prometheus)."""
import json
import shutil

import pytest

from platformctl.project import ROOT
from tests.helpers import PROMETHEUS, PROMTOOL, start_prometheus, wait_ready
from tests.foundation.test_render_and_cli import platformctl, repo_copy  # noqa: F401 (fixture)

@pytest.fixture(scope="module")
def healthy_prometheus(tmp_path_factory):
    """Debian's Prometheus, backfilled by promtool; every SLO's budget is above 50 % (lowest 81.5)."""
    assert PROMETHEUS and PROMTOOL, "install Debian's prometheus (scripts/install-system-deps.sh)"
    proc, url = start_prometheus(tmp_path_factory.mktemp("prom"), 81.5)
    try:
        wait_ready(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_production_without_a_change_request_exits_2_naming_the_policy():
    proc = platformctl("preview", "--stack", "production")
    assert proc.returncode == 2, proc.stderr
    assert "change-request-required" in proc.stdout
    assert "FAIL: " in proc.stdout and "mandatory violation" in proc.stdout


def test_make_preview_is_a_look_and_exits_0():
    proc = platformctl("preview", "--stack", "production", "--look")
    assert proc.returncode == 0 and "change-request-required" in proc.stdout


def test_approved_in_window_change_with_healthy_budget_exits_0(repo_copy, healthy_prometheus):
    shutil.copytree(ROOT / "policies", repo_copy / "policies", dirs_exist_ok=True)
    f = repo_copy / "Pulumi.production.yaml"
    # The stack file already names a (long-term) Prometheus: this one replaces it, not repeats it.
    kept = [line for line in f.read_text().splitlines(keepends=True)
            if not line.lstrip().startswith("leadgen:governance.prometheusUrl:")]
    f.write_text("".join(kept) + "  leadgen:changeRequest: CR-2026-014\n"
                 f"  leadgen:governance.prometheusUrl: {healthy_prometheus}\n")
    # Inside CR-2026-014's window (2026-12-15T02:00Z for 1h); the pack reports the fixed clock.
    proc = platformctl("preview", "--stack", "production", "--json", cwd=repo_copy,
                       env={"LEADGEN_GOVERNANCE_NOW": "2026-12-15T02:30:00Z"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    policy = json.loads(proc.stdout)["policy"]
    assert [v for v in policy["violations"] if v["level"] == "mandatory"] == []
    assert {v["policy"] for v in policy["violations"]} <= {"governance-clock-override", "cost-budget-warning"}
    assert 0 < policy["estimatedMonthlyCostUsd"] < 25000
