"""The history audit re-checks what the gate checks, at each update's commit: of 8 non-compliant
updates built from real commits it once flagged 1. Each case here was judged compliant before."""
from __future__ import annotations

import datetime as dt
import json

import pytest
import yaml

from auditkit import change_request, keyring
from platformctl import history, history_checks
from test_audit_trail import SINCE, UNTIL, entry, git, program_repo


@pytest.fixture
def repo(tmp_path):
    """A program commit, a request approved at it (binding it), the approvals committed."""
    root = program_repo(tmp_path)
    change_request(root, "CR-2026-001")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the approved request")
    return root, git(root, "rev-parse", "HEAD")


def judged(root, entries, tmp_path):
    path = tmp_path / "history.json"
    path.write_text(json.dumps(entries))
    return history.judge(path, "production", SINCE, UNTIL, project_root=root, repo=root)


def clean(version, commit, **env):
    e = entry(version, "2026-03-02T02:10:00Z", "2026-03-02T02:20:00Z", "CR-2026-001", commit)
    e["environment"].update({"git.dirty": "false", "git.headName": "refs/heads/main", **env})
    return e


def test_a_clean_update_of_the_approved_commit_is_compliant_and_nothing_is_left_unsaid(repo, tmp_path):
    root, head = repo
    (j,) = judged(root, [clean(1, head)], tmp_path)
    assert j.evidence.compliant, j.evidence.problems
    assert j.unchecked == ()


def test_a_resource_import_is_an_update_too(repo, tmp_path):
    root, head = repo
    e = clean(1, head)
    e["kind"] = "resource-import"
    (j,) = judged(root, [e], tmp_path)
    assert j.evidence.kind == "resource-import"


def test_a_dirty_checkout_on_a_feature_branch_is_not_compliant(repo, tmp_path):
    root, head = repo
    (j,) = judged(root, [clean(1, head, **{"git.dirty": "true", "git.headName": "refs/heads/quick-fix"})], tmp_path)
    assert j.evidence.problems == (
        "ran from a checkout with uncommitted changes (git.dirty): the program that ran is not the commit recorded",
        "ran from refs/heads/quick-fix, not main: only main is deployed")


def test_gate_settings_in_the_recorded_config_are_not_compliant(repo, tmp_path):
    root, head = repo
    e = clean(1, head)
    e["config"]["leadgen:governance.prometheusUrl"] = {"value": "http://fake-prometheus:9090", "secret": False}
    e["config"]["leadgen:governance.monthlyBudgetUsd"] = {"value": "99999999", "secret": False}
    (j,) = judged(root, [e], tmp_path)
    assert [p.split(";")[0] for p in j.evidence.problems] == [
        "recorded config: leadgen:governance.prometheusUrl is set in Pulumi.production.yaml",
        "recorded config: leadgen:governance.monthlyBudgetUsd is set in Pulumi.production.yaml"]


def test_a_program_commit_the_approvals_did_not_sign_is_not_compliant(repo, tmp_path):
    root, head = repo
    (root / "__main__.py").write_text("print('after the approval')\n")
    git(root, "commit", "-q", "-am", "slipped in")
    later = git(root, "rev-parse", "HEAD")
    (j,) = judged(root, [clean(1, later)], tmp_path)
    # The approval and the requester's signature both bound the earlier commit.
    assert len(j.evidence.problems) == 2 and all("changes __main__.py since" in p for p in j.evidence.problems)
    assert any("approvals[1] (requester, alice@insurance-lead-gen.com) signed commit" in p for p in j.evidence.problems)


def test_a_program_staging_never_attested_is_not_compliant(repo, tmp_path):
    root, _ = repo
    approvers = root / "governance" / "approvers.yaml"
    doc = yaml.safe_load(approvers.read_text())
    doc["promotion"] = {"signer": "pipeline@insurance-lead-gen.com", "from_stack": "staging", "soak_minutes": 60,
                        "smoke_tests": ["api-health"]}
    approvers.write_text(yaml.safe_dump(doc))
    git(root, "commit", "-q", "-am", "adopt promotion")
    change_request(root, "CR-2026-001")  # re-approved at the new commit
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "re-approved")
    head = git(root, "rev-parse", "HEAD")
    (j,) = judged(root, [clean(1, head)], tmp_path)
    assert len(j.evidence.problems) == 1
    assert j.evidence.problems[0].startswith(f"commit {head[:12]} has no attestation that staging applied it")


def test_an_approval_by_a_key_added_with_its_request_is_not_compliant(tmp_path):
    """The gate refuses a key that was not on main before the request; the audit once judged the
    update it let through compliant."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "__main__.py").write_text("print('the program')\n")
    keys = keyring()
    keys.install(root)
    signers = root / "governance" / "allowed_signers"
    signers.write_text(keys.signers_text([a for a in keys.people if a != "bob@insurance-lead-gen.com"]))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the program; main knows no key for bob")
    signers.write_text(keys.signers_text())
    change_request(root, "CR-2026-001", approvals=())
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the request, and a key for its approver")
    change_request(root, "CR-2026-001")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the approval")
    (j,) = judged(root, [clean(1, git(root, "rev-parse", "HEAD"))], tmp_path)
    assert len(j.evidence.problems) == 1, j.evidence.problems
    assert "(team-lead, bob@insurance-lead-gen.com) is signed with key SHA256:" in j.evidence.problems[0]
    assert j.evidence.problems[0].endswith("at the parent of the request's first commit "
                                           f"({git(root, 'rev-parse', 'HEAD~1')[:12]}): a key must be on main "
                                           "before the request it approves")


def test_what_cannot_be_re_checked_is_said(repo, tmp_path):
    root, head = repo
    e = clean(1, head)
    del e["environment"]["git.headName"]
    (j,) = judged(root, [e], tmp_path)
    assert j.unchecked == ("the update records no git.headName (its branch)",)
    assert any("error budget" in line for line in history_checks.NOT_RECHECKED)
    assert any("policy pack ran" in line for line in history_checks.NOT_RECHECKED)
