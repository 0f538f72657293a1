"""`platformctl gate` decides protection as the pack does: a stack of the production environment is
gated under any name, and the report does not call it unprotected."""
from __future__ import annotations

import shutil

from auditkit import change_request
from platformctl.commands import gate

ROOT = gate.ROOT
NOW_IN = {"LEADGEN_GOVERNANCE_NOW": "2026-03-02T02:30:00+00:00"}


def project(tmp_path, environment: str):
    (tmp_path / "policies").symlink_to(ROOT / "policies")
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    # Nothing lists prod-eu as protected: its environment alone must gate it.
    (tmp_path / "Pulumi.prod-eu.yaml").write_text(
        f"config:\n  leadgen:environment: {environment}\n  leadgen:governance.protectedStacks: []\n")
    change_request(tmp_path, "CR-2026-001", window_start="2026-03-02T02:00:00Z", duration="2h")
    return tmp_path


def test_a_production_environment_stack_under_another_name_is_gated(tmp_path):
    report = gate.evaluate("prod-eu", None, project(tmp_path, "production"), env=NOW_IN)
    assert {"change-request-required", "change-window", "error-budget-gate"} <= {v.policy for v in report.violations}
    assert report.exit_code() == 2
    assert not any("not protected" in note for note in report.notes), report.notes


def test_a_staging_environment_stack_is_not_gated_and_says_so(tmp_path):
    report = gate.evaluate("prod-eu", None, project(tmp_path, "staging"), env=NOW_IN)
    assert [v.policy for v in report.violations if v.level == "mandatory"] == []
    assert any("stack prod-eu is not protected" in note for note in report.notes), report.notes


def test_the_stacks_own_workspace_is_left_to_the_pack_and_said_so(tmp_path):
    # `amp:stack` needs the stack's resources, which the pre-flight does not run the program for:
    # the budget is the pack's to judge at preview and update; every other gate still runs here.
    root = project(tmp_path, "production")
    (root / "governance" / "gates.yaml").write_text("stacks:\n  prod-eu:\n    prometheus_url: amp:stack\n")
    report = gate.evaluate("prod-eu", None, root, env=NOW_IN)
    policies = {v.policy for v in report.violations}
    assert "error-budget-gate" not in policies and {"change-request-required", "change-window"} <= policies
    assert any(note.startswith("error-budget-gate: leadgen:governance.prometheusUrl is amp:stack") for note in report.notes)


def test_the_recovery_stack_stays_protected_whatever_its_file_says(tmp_path):
    # `leadgen:environment: staging` in Pulumi.production-dr.yaml used to unprotect the recovery
    # stack: protection is decided by the stack's name (governance/gates.yaml), not by its file.
    root = project(tmp_path, "staging")
    (root / "Pulumi.production-dr.yaml").write_text(
        "config:\n  leadgen:environment: staging\n  leadgen:governance.protectedStacks: []\n")
    report = gate.evaluate("production-dr", None, root, env={})
    assert {"change-request-required", "change-window"} <= {v.policy for v in report.violations}
    assert report.exit_code() == 2
    assert not any("not protected" in note for note in report.notes), report.notes


def test_a_stack_file_that_raises_its_own_cost_budget_is_refused(tmp_path):
    root = project(tmp_path, "production")
    (root / "Pulumi.production.yaml").write_text("config:\n  leadgen:governance.monthlyBudgetUsd: 999999999\n")
    report = gate.evaluate("production", None, root, env={})
    lines = [v.message for v in report.violations if v.policy == "governance-gate-settings"]
    assert lines == ["leadgen:governance.monthlyBudgetUsd is set in Pulumi.production.yaml; production is "
                     "protected, so its gate settings live in governance/gates.yaml "
                     "(stacks.production.monthly_budget_usd), never in the stack's config: remove the key"]
