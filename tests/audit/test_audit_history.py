"""Change-management evidence from `pulumi stack history --json`."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from auditkit import change_request, fingerprint, history_entry
from platformctl import history

SINCE, UNTIL = dt.date(2026, 3, 1), dt.date(2026, 3, 31)


@pytest.fixture
def project(tmp_path):
    change_request(tmp_path, "CR-2026-001")  # approved by bob, window 02:00-04:00 on 2 March
    change_request(tmp_path, "CR-2026-002", approvals=(("alice@insurance-lead-gen.com", "team-lead",
                                                        "2026-03-01T10:00:00Z"),))  # self-approved
    change_request(tmp_path, "CR-2026-003", rollback=False)
    change_request(tmp_path, "CR-2026-004", approvals=(("bob@insurance-lead-gen.com", "cab", "2026-03-02T03:00:00Z"),))
    change_request(tmp_path, "CR-2026-005", stacks=("staging",))
    change_request(tmp_path, "CR-2026-006", risk="high")  # approved by a team lead, not the CAB
    change_request(tmp_path, "CR-2026-007", signed=False)  # an approval anyone could have typed
    return tmp_path


def audit(project, entries):
    path = project / "history.json"
    path.write_text(json.dumps(entries))
    return history.audit(path, "production", SINCE, UNTIL, project_root=project)


def test_a_compliant_update_has_every_piece_of_evidence(project):
    found, findings = audit(project, [history_entry(7, "2026-03-02T02:10:00.000Z", "2026-03-02T02:25:00.000Z", "CR-2026-001")])
    (c,) = found
    assert (c.change_request, c.independently_approved, c.rollback_plan, c.in_window) == ("CR-2026-001", True, True, True)
    assert c.approver == "bob@insurance-lead-gen.com (team-lead)"
    # Who asked is the key that signed the request, stated with its fingerprint, not requested_by's text.
    assert c.requester == f"alice@insurance-lead-gen.com (key {fingerprint('alice@insurance-lead-gen.com')})"
    assert c.compliant and findings == []


@pytest.mark.parametrize("entry,problem", [
    (history_entry(8, "2026-03-02T02:10:00Z", None, None), "no change request"),
    (history_entry(9, "2026-03-02T02:10:00Z", None, "CR-2026-002"), "has no approval from anyone other than the requester"),
    (history_entry(10, "2026-03-02T02:10:00Z", None, "CR-2026-003"), "rollback_plan must list at least one concrete step"),
    (history_entry(11, "2026-03-02T05:00:00Z", "2026-03-02T05:10:00Z", "CR-2026-001"), "outside the window"),
    (history_entry(12, "2026-03-02T03:50:00Z", "2026-03-02T04:20:00Z", "CR-2026-001"), "outside the window"),
    (history_entry(13, "2026-03-02T02:10:00Z", None, "CR-2026-004"), "approved only after the update started"),
    (history_entry(14, "2026-03-02T02:10:00Z", None, "CR-2026-005"), "does not include production"),
    (history_entry(15, "2026-03-02T02:10:00Z", None, "CR-2026-099"), "changes/CR-2026-099.yaml: file not found"),
    # The gate's rule, applied to past updates as well: one implementation of change compliance.
    (history_entry(16, "2026-03-02T02:10:00Z", None, "CR-2026-006"), "risk_level high needs a cab approval"),
    (history_entry(17, "2026-03-02T02:10:00Z", None, "CR-2026-007"), "does not count: is not signed"),
])
def test_non_compliant_updates_are_mandatory_findings(project, entry, problem):
    found, findings = audit(project, [entry])
    assert not found[0].compliant
    assert any(problem in p for p in found[0].problems), found[0].problems
    (finding,) = findings
    assert finding.level == "mandatory" and finding.policy == history.EVIDENCE_POLICY
    assert finding.urn == f"update/{entry['version']}" and problem in finding.message


def test_period_and_kinds_select_the_updates(project):
    entries = [
        history_entry(1, "2026-02-28T23:59:59Z", None, None),                      # before the period
        history_entry(2, "2026-03-02T02:10:00Z", None, "CR-2026-001", kind="preview"),
        history_entry(3, "2026-03-02T02:10:00Z", None, None, kind="refresh"),
        history_entry(4, "2026-03-02T02:30:00Z", None, None, message="CR-2026-001: scale api to 5"),
        history_entry(5, "2026-03-31T23:00:00Z", None, None, kind="destroy"),     # last day counts
        history_entry(6, "2026-04-01T00:00:00Z", None, None),                      # after it
    ]
    found, findings = audit(project, entries)
    assert [c.version for c in found] == [4, 5]
    assert found[0].change_request == "CR-2026-001" and found[0].compliant  # found in the message
    assert [f.urn for f in findings] == ["update/5"]


@pytest.mark.parametrize("content,expected", [
    ('[{"version": 1, "kind": "update", "message": ""}]', 'entry #0 (version 1) has no valid "startTime"'),
    ('[{"version": 1, "kind": "update", "startTime": "last tuesday"}]', 'has no valid "startTime"'),
    ('{"version": 1}', "expected the JSON list"),
    ('[{"version": 1, "kind": "update", "startTime": "2026-03-01T00:00:00Z"', "not valid JSON"),
    ('[{"version": 1, "startTime": "2026-03-01T00:00:00Z"}]', 'has no "kind"'),
])
def test_bad_history_files_fail_with_one_line(tmp_path, content, expected):
    path = tmp_path / "history.json"
    path.write_text(content)
    with pytest.raises(history.HistoryError) as caught:
        history.read(path)
    assert expected in str(caught.value) and str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_binary_history_fails_with_one_line(tmp_path):
    path = tmp_path / "history.json"
    path.write_bytes(b"\x00\xff\xfe\x89binary")
    with pytest.raises(history.HistoryError, match="not a `pulumi stack history --json` file"):
        history.read(path)


def test_an_approval_whose_signature_no_longer_verifies_is_not_evidence(project):
    # Signed, then edited: the audit checks each signature as the gate does, so the approval that
    # was given for other content counts for nothing.
    path = project / "changes" / "CR-2026-001.yaml"
    path.write_text(path.read_text().replace("Increase API replicas from 3 to 5", "Increase API replicas from 3 to 50"))
    found, findings = audit(project, [history_entry(18, "2026-03-02T02:10:00Z", "2026-03-02T02:25:00Z", "CR-2026-001")])
    (c,) = found
    assert not c.compliant and not c.independently_approved and c.approver == ""
    assert any("approvals[0] (team-lead, bob@insurance-lead-gen.com) does not count" in p for p in c.problems), c.problems
    assert [f.level for f in findings] == ["mandatory"]
