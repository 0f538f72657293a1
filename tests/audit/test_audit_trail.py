"""Evidence that matches the gate: each update judged against the change request and approvers as
they were at the commit it ran from, the CSV as a full audit trail, SARIF an auditor's tools take."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import pathlib
import subprocess
import sys

import jsonschema
import pytest

from auditkit import change_request, fingerprint, history_entry, keyring
from platformctl import history, reports
from platformctl.project import ROOT

SINCE, UNTIL = dt.date(2026, 3, 1), dt.date(2026, 3, 31)
SCHEMAS = pathlib.Path("/work/shared/schemas")
if not SCHEMAS.is_dir():
    SCHEMAS = ROOT.parent / "shared" / "schemas"


def git(repo: pathlib.Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), "-c", "user.email=audit@example.com", "-c", "user.name=audit",
                           "-c", "commit.gpgsign=false", *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def program_repo(tmp_path: pathlib.Path) -> pathlib.Path:
    """A git repository whose first commit is a program and the approvers' keys (the approver
    directory is part of what an approval binds)."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "__main__.py").write_text("print('the program')\n")
    keyring().install(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the program the approvals bind")
    return root


@pytest.fixture
def repo(tmp_path):
    """A repository where CR-2026-001 was approved for 2 March 02:00-04:00 (commit `before`), then
    moved a day later and re-approved (commit `after`)."""
    root = program_repo(tmp_path)
    change_request(root, "CR-2026-001")
    change_request(root, "CR-2026-006", risk="high")  # a team lead's approval only: no CAB
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "requests")
    before = git(root, "rev-parse", "HEAD")
    change_request(root, "CR-2026-001", window_start="2026-03-03T02:00:00Z")
    git(root, "commit", "-q", "-am", "move the window")
    after = git(root, "rev-parse", "HEAD")
    return root, before, after


def entry(version, start, end, cr, commit=None, **kw):
    e = history_entry(version, start, end, cr, **kw)
    if commit is not None:
        e["environment"]["git.head"] = commit
    return e


def judge(repo_root, entries, tmp_path, use_repo=True):
    path = tmp_path / "history.json"
    path.write_text(json.dumps(entries))
    return history.judge(path, "production", SINCE, UNTIL, project_root=repo_root,
                         repo=repo_root if use_repo else None)


def test_each_update_is_judged_against_the_request_at_its_commit(repo, tmp_path):
    root, before, after = repo
    entries = [entry(1, "2026-03-02T02:10:00Z", "2026-03-02T02:20:00Z", "CR-2026-001", before),
               entry(2, "2026-03-02T02:10:00Z", "2026-03-02T02:20:00Z", "CR-2026-001", after)]
    first, second = judge(root, entries, tmp_path)
    assert first.evidence.compliant and first.read_from == f"commit {before[:12]}"
    assert first.window == "2026-03-02T02:00:00Z - 2026-03-02T04:00:00Z"
    assert not second.evidence.compliant and "outside the window" in second.evidence.problems[0]
    # Without the repository, today's file is read for both: the first update would look late.
    today = judge(root, entries, tmp_path, use_repo=False)
    assert [j.evidence.compliant for j in today] == [False, False]


def test_an_update_without_a_commit_or_a_request_missing_at_its_commit_is_not_compliant(repo, tmp_path):
    root, before, _ = repo
    no_head, missing, unknown = judge(root, [
        entry(1, "2026-03-02T02:10:00Z", None, "CR-2026-001"),
        entry(2, "2026-03-02T02:10:00Z", None, "CR-2026-042", before),
        entry(3, "2026-03-02T02:10:00Z", None, "CR-2026-001", "0" * 40)], tmp_path)
    assert no_head.evidence.problems == (
        "the update records no git.head, so the change request in force when it ran cannot be read",)
    assert missing.evidence.problems == (
        f"changes/CR-2026-042.yaml: not in the repository at commit {before[:12]}, the update's git.head",)
    assert unknown.evidence.problems == (f"commit {'0' * 12} (the update's git.head) is not in {root}",)


def test_a_commit_that_is_not_a_commit_id_is_refused_before_git_sees_it(repo, tmp_path):
    root, _, _ = repo
    (j,) = judge(root, [entry(1, "2026-03-02T02:10:00Z", None, "CR-2026-001", "--output=/tmp/x")], tmp_path)
    assert j.evidence.problems == ("the update's git.head '--output=/tmp/x' is not a commit id",)


def test_high_risk_without_cab_is_what_the_gate_says(repo, tmp_path):
    root, before, _ = repo
    (j,) = judge(root, [entry(1, "2026-03-02T02:10:00Z", None, "CR-2026-006", before)], tmp_path)
    assert any("risk_level high needs a cab approval" in p for p in j.evidence.problems)
    assert j.approvals == (("bob@insurance-lead-gen.com", "team-lead"),)


def platformctl(*args):
    return subprocess.run([sys.executable, "-m", "platformctl", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_the_csv_is_the_full_audit_trail(repo, tmp_path):
    root, before, after = repo
    path = tmp_path / "history.json"
    path.write_text(json.dumps([
        entry(1, "2026-03-02T02:10:00Z", "2026-03-02T02:20:00Z", "CR-2026-001", before),
        entry(2, "2026-03-02T02:10:00Z", None, "CR-2026-006", before),
        entry(3, "2026-03-05T10:00:00Z", None, None, after),
        entry(4, "2026-03-05T11:00:00Z", None, None, after, kind="preview"),  # not a change
    ]))
    out = tmp_path / "trail.csv"
    result = platformctl("audit", "--history", str(path), "--since", "2026-03-01", "--until", "2026-03-31",
                         "--stack", "production", "--repo", str(root), "--format", "csv", "--out", str(out))
    assert result.returncode == 2, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert tuple(rows[0]) == history.TRAIL_COLUMNS
    assert [(r["record"], r["version"], r["verdict"]) for r in rows] == [
        ("update", "1", "compliant"), ("update", "2", "non-compliant"), ("update", "3", "non-compliant")]
    ok = rows[0]
    assert ok["time"] == "2026-03-02T02:10:00+00:00" and ok["stack"] == "production"
    assert (ok["change_request"], ok["requester"], ok["approvers"]) == (
        "CR-2026-001", f"alice@insurance-lead-gen.com (key {fingerprint('alice@insurance-lead-gen.com')})",
        "bob@insurance-lead-gen.com (team-lead)")
    assert ok["window"] == "2026-03-02T02:00:00Z - 2026-03-02T04:00:00Z"
    assert ok["read_from"] == f"commit {before[:12]}" and ok["reason"] == ""
    assert "risk_level high needs a cab approval" in rows[1]["reason"]
    assert rows[2]["reason"].startswith("no change request")


def test_the_trail_states_the_verified_requester_never_the_claimed_one(tmp_path):
    """bob, a team lead, writes carol's address in requested_by and approves his own change: the trail
    once recorded carol as its requester. Nobody signed as requester, so it says so, and the update
    is not compliant."""
    root = program_repo(tmp_path)
    change_request(root, "CR-2026-010", requested_by="carol@insurance-lead-gen.com", requester_signs=False)
    change_request(root, "CR-2026-011")  # alice asked, and signed it
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the requests")
    head = git(root, "rev-parse", "HEAD")
    path = tmp_path / "history.json"
    path.write_text(json.dumps([entry(1, "2026-03-02T02:10:00Z", "2026-03-02T02:20:00Z", "CR-2026-010", head),
                                entry(2, "2026-03-02T02:30:00Z", "2026-03-02T02:40:00Z", "CR-2026-011", head)]))
    out = tmp_path / "trail.csv"
    result = platformctl("audit", "--history", str(path), "--since", "2026-03-01", "--until", "2026-03-31",
                         "--stack", "production", "--repo", str(root), "--format", "csv", "--out", str(out))
    assert result.returncode == 2, result.stderr
    claimed, signed = list(csv.DictReader(io.StringIO(out.read_text())))
    assert (claimed["requester"], claimed["verdict"]) == (
        "unverified (requested_by says carol@insurance-lead-gen.com)", "non-compliant")
    assert "requested_by carol@insurance-lead-gen.com has not signed the request" in claimed["reason"]
    assert (signed["requester"], signed["verdict"]) == (
        f"alice@insurance-lead-gen.com (key {fingerprint('alice@insurance-lead-gen.com')})", "compliant")


def _report_with(findings):
    return reports.Report(stack="production", project="leadgen", kind="audit",
                          generated_at=dt.datetime(2026, 3, 31, tzinfo=dt.timezone.utc), resource_count=0,
                          violations=findings)


def test_sarif_fingerprints_are_unique_and_stable_and_rules_carry_help(repo, tmp_path):
    root, before, _ = repo
    entries = [entry(v, f"2026-03-{2 + v % 20:02d}T02:10:00Z", None, None, before) for v in range(1, 15)]
    for e in entries:
        e.pop("version")  # older CLIs: no version, so each finding is told apart by its time
    path = tmp_path / "history.json"
    path.write_text(json.dumps(entries))
    judged = history.judge(path, "production", SINCE, UNTIL, project_root=root, repo=root)
    findings = history.findings_of(judged)
    assert len(findings) == 14
    sarif = json.loads(reports.render(_report_with(findings), "sarif"))
    again = json.loads(reports.render(_report_with(findings), "sarif"))
    prints = [r["partialFingerprints"]["platformctlFinding/v2"] for r in sarif["runs"][0]["results"]]
    assert len(set(prints)) == 14
    assert prints == [r["partialFingerprints"]["platformctlFinding/v2"] for r in again["runs"][0]["results"]]
    (rule,) = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert rule["fullDescription"]["text"].startswith("Every update of the audited period")
    assert rule["help"]["text"] and rule["help"]["markdown"]
    schema = json.loads((SCHEMAS / "sarif-2.1.0.json").read_text())
    jsonschema.validate(sarif, schema)


def test_two_findings_on_one_resource_are_two_alerts():
    from platformctl.exemptions import Finding

    urn = "urn:pulumi:production::leadgen::kubernetes:apps/v1:Deployment::api"
    findings = [Finding(policy="kubernetes-container-non-root", level="mandatory", severity="high", urn=urn,
                        message=f"api: container {c} must set securityContext.runAsNonRoot: true") for c in ("a", "b")]
    findings.append(findings[0])  # the very same finding twice still gives two identities
    sarif = json.loads(reports.render(_report_with(findings), "sarif"))
    prints = [r["partialFingerprints"]["platformctlFinding/v2"] for r in sarif["runs"][0]["results"]]
    assert len(set(prints)) == 3
    (rule,) = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert rule["fullDescription"]["text"] == "Containers run as non-root."
    jsonschema.validate(sarif, json.loads((SCHEMAS / "sarif-2.1.0.json").read_text()))


def test_an_emergency_outside_its_window_on_a_cto_approval_is_compliant_and_named(repo, tmp_path):
    root, _, _ = repo
    change_request(root, "CR-2026-009", change_type="emergency",
                   approvals=(("carol@insurance-lead-gen.com", "cto", "2026-03-02T05:30:00Z"),))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "emergency")
    head = git(root, "rev-parse", "HEAD")
    late, expired = judge(root, [entry(1, "2026-03-02T06:00:00Z", "2026-03-02T06:10:00Z", "CR-2026-009", head),
                                 entry(2, "2026-03-02T10:00:00Z", "2026-03-02T10:10:00Z", "CR-2026-009", head)],
                          tmp_path)
    assert late.evidence.compliant and not late.evidence.in_window
    assert late.verdict == "compliant (emergency change, ran outside its window on a cto approval)"
    assert expired.verdict == "non-compliant (emergency change)"
    assert any("the emergency change expired" in p for p in expired.evidence.problems)
