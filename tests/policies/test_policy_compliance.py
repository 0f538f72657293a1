"""Change compliance as one pure function: a compliant update, then one rule broken per case."""
import dataclasses
import datetime as dt

import pytest
import yaml

from crs import F, IN_WINDOW, good
from policy_baseline import context

from governance import changes, compliance, gates

UTC = dt.timezone.utc
GOOD = good()


def loaded(**fields) -> changes.Loaded:
    return changes.parse(yaml.safe_dump({**GOOD, **fields}), F, "CR-2026-014")


def judge(cr: changes.Loaded, at=IN_WINDOW, finished=None, stack="production", protected=True):
    return compliance.assess(cr, stack=stack, protected=protected, at=at, finished=finished)


def test_compliant_update_and_its_evidence():
    verdict = judge(loaded(), finished=IN_WINDOW + dt.timedelta(minutes=10))
    assert verdict.compliant and verdict.findings == ()
    assert verdict.in_window and not verdict.emergency_override
    assert [a.by for a in verdict.approvals] == ["team-lead@example.com"] and verdict.roles == {"team-lead"}


def test_an_unprotected_stack_needs_nothing():
    assert judge(changes.load(None, "changes", ""), stack="dev", protected=False).findings == ()
    assert judge(loaded(stacks=["staging"]), stack="dev", protected=False).findings == ()


def test_missing_and_invalid_requests():
    unset = judge(changes.load(None, "changes", ""))
    assert [(f.rule, f.message) for f in unset.findings] == [
        (compliance.REQUEST, "leadgen:changeRequest is not set: name the change request (changes/<ID>.yaml) "
                             "this update carries"),
        (compliance.WINDOW, "leadgen:changeRequest is not set, so there is no change window")]
    broken = judge(loaded(rollback_plan=[]))
    assert broken.messages() == [
        f"{F}: rollback_plan must list at least one concrete step",
        f"{F}: no valid change request, so no change window (see change-request-required)"]


CASES = [
    ({"stacks": ["staging"]}, IN_WINDOW, None, compliance.STACKS,
     f"{F}: stacks ['staging'] does not include production"),
    ({"approvals": []}, IN_WINDOW, None, compliance.APPROVAL,
     f"{F}: approvals has no approval from anyone other than the requester requester@example.com"),
    # Judged now, an approval dated later than now is a false date.
    ({"approvals": [{"by": "team-lead@example.com", "role": "team-lead", "at": "2026-12-15T02:40:00Z"}]}, IN_WINDOW,
     None, compliance.APPROVAL,
     f"{F}: approvals[0].at 2026-12-15T02:40:00Z is in the future (now 2026-12-15T02:30:00Z); an approval is dated "
     "when it is given"),
    # Judged afterwards (the history audit), it was given after the update began.
    ({"approvals": [{"by": "team-lead@example.com", "role": "team-lead", "at": "2026-12-15T02:40:00Z"}]}, IN_WINDOW,
     IN_WINDOW + dt.timedelta(minutes=5), compliance.APPROVAL,
     f"{F}: approved only after the update started at 2026-12-15T02:30:00Z (first approval 2026-12-15T02:40:00Z)"),
    ({"risk_level": "high", "approvals": [{"by": "cab@example.com", "role": "cab", "at": "2026-11-20T10:00:00Z"}]},
     IN_WINDOW, None, compliance.APPROVAL, f"{F}: risk_level high needs a team-lead or engineering-manager approval"),
    ({"risk_level": "critical", "approvals": [
        {"by": "manager-on-cab@example.com", "role": "engineering-manager", "at": "2026-11-20T10:00:00Z"},
        {"by": "manager-on-cab@example.com", "role": "cab", "at": "2026-11-20T10:05:00Z"}]},
     IN_WINDOW, None, compliance.APPROVAL, f"{F}: risk_level critical needs its cab and its team-lead/engineering-manager "
     "approvals from two different people (both are manager-on-cab@example.com)"),
    ({"risk_level": "high"}, IN_WINDOW, None, compliance.APPROVAL, f"{F}: risk_level high needs a cab approval"),
    ({"risk_level": "critical", "approvals": GOOD["approvals"] + [
        {"by": "cab@example.com", "role": "cab", "at": "2026-12-16T10:00:00Z"}]}, IN_WINDOW,
     IN_WINDOW + dt.timedelta(minutes=5), compliance.APPROVAL,
     f"{F}: risk_level critical needs a cab approval"),  # the cab approved after the update
    ({}, dt.datetime(2026, 12, 15, 3, 0, tzinfo=UTC), None, compliance.WINDOW,
     f"{F}: now (2026-12-15T03:00:00Z) is outside the window 2026-12-15T02:00:00Z - 2026-12-15T03:00:00Z"),
    # A past update that started inside the window but was still running after it closed.
    ({}, IN_WINDOW, dt.datetime(2026, 12, 15, 3, 20, tzinfo=UTC), compliance.WINDOW,
     f"{F}: the update (2026-12-15T02:30:00Z - 2026-12-15T03:20:00Z) is outside the window "
     "2026-12-15T02:00:00Z - 2026-12-15T03:00:00Z"),
    ({"change_type": "emergency"}, dt.datetime(2026, 12, 16, 4, 0, tzinfo=UTC), None, compliance.WINDOW,
     f"{F}: now (2026-12-16T04:00:00Z) is outside the window 2026-12-15T02:00:00Z - 2026-12-15T03:00:00Z; "
     "an emergency change outside its window needs a cto approval"),
]


@pytest.mark.parametrize("fields,at,finished,rule,message", CASES, ids=[c[4].split(": ", 1)[1][:45] for c in CASES])
def test_one_broken_rule_is_one_finding(fields, at, finished, rule, message):
    verdict = judge(loaded(**fields), at=at, finished=finished)
    assert [(f.rule, f.message) for f in verdict.findings] == [(rule, message)]


def test_the_requester_approves_nothing():
    verdict = judge(loaded(approvals=[{"by": "REQUESTER@example.com", "role": "cto", "at": "2026-11-20T10:00:00Z"}]))
    assert verdict.messages() == [
        f"{F}: approvals[0] is by the requester requester@example.com, who approves nothing; remove it",
        f"{F}: approvals has no approval from anyone other than the requester requester@example.com"]
    assert verdict.approvals == ()


def test_only_approvals_whose_signature_verified_count():
    two = GOOD["approvals"][:1] + [{"by": "cab@example.com", "role": "cab", "at": "2026-11-21T10:00:00Z"}]
    verdict = compliance.assess(loaded(risk_level="high", approvals=two), stack="production", protected=True,
                                at=IN_WINDOW, signatures=("", "signature does not verify for cab@example.com"))
    assert [(f.message, f.deferrable) for f in verdict.findings] == [
        (f"{F}: approvals[1] (cab, cab@example.com) does not count: signature does not verify for cab@example.com",
         True),
        (f"{F}: risk_level high needs a cab approval", True)]
    assert verdict.roles == {"team-lead"}
    assert verdict.forecasts()[-1] == (f"{F}: risk_level high needs a cab approval; the update will be blocked until "
                                       "it is given (platformctl change approve)")


def test_a_window_ahead_is_forecast_and_a_closed_one_blocks():
    ahead = judge(loaded(), at=dt.datetime(2026, 12, 14, 9, 0, tzinfo=UTC))
    assert [(f.rule, f.deferrable) for f in ahead.findings] == [(compliance.WINDOW, True)]
    assert ahead.forecasts() == [f"{F}: the update is blocked until 2026-12-15T02:00:00Z, when its window opens "
                                 "(it closes at 2026-12-15T03:00:00Z)"]
    closed = judge(loaded(), at=dt.datetime(2026, 12, 16, 9, 0, tzinfo=UTC))
    assert [(f.rule, f.deferrable) for f in closed.findings] == [(compliance.WINDOW, False)]


def test_an_early_emergency_waits_for_its_window_once_its_approval_is_stale():
    cto = [{"by": "cto@example.com", "role": "cto", "at": "2026-12-14T09:00:00Z"}]
    early = judge(loaded(change_type="emergency", approvals=cto), at=dt.datetime(2026, 12, 14, 20, 0, tzinfo=UTC))
    assert not early.approved_emergency and [(f.rule, f.deferrable) for f in early.findings] == [
        (compliance.WINDOW, True)]
    assert early.forecasts() == [f"{F}: the update is blocked until 2026-12-15T02:00:00Z, when its window opens "
                                 "(it closes at 2026-12-15T03:00:00Z)"]


def test_an_emergency_expires():
    cto = [{"by": "cto@example.com", "role": "cto", "at": "2026-12-16T03:55:00Z"}]
    fresh = judge(loaded(change_type="emergency", approvals=cto), at=dt.datetime(2026, 12, 16, 7, 54, tzinfo=UTC))
    assert fresh.compliant and fresh.approved_emergency
    assert fresh.emergency_until == dt.datetime(2026, 12, 16, 7, 55, tzinfo=UTC)
    # A year later the same approval opens nothing, for the window or the error budget.
    stale = judge(loaded(change_type="emergency", approvals=cto), at=dt.datetime(2027, 12, 16, 4, 0, tzinfo=UTC))
    assert not stale.approved_emergency and stale.messages() == [
        f"{F}: now (2027-12-16T04:00:00Z) is outside the window 2026-12-15T02:00:00Z - 2026-12-15T03:00:00Z; the "
        "emergency change expired (its cto approval of 2026-12-16T03:55:00Z was usable until 2026-12-16T07:55:00Z): "
        "file a new change request"]


def test_rollback_plan_is_required_of_a_request_however_it_was_built():
    cr = loaded()
    emptied = dataclasses.replace(cr, change=dataclasses.replace(cr.change, rollback_plan=()))
    assert judge(emptied).messages() == [f"{F}: rollback_plan must list at least one concrete step"]


def test_high_risk_with_a_timely_cab_approval_passes():
    approvals = GOOD["approvals"] + [{"by": "cab@example.com", "role": "cab", "at": "2026-11-21T10:00:00Z"}]
    assert judge(loaded(risk_level="critical", approvals=approvals)).compliant


def test_an_emergency_with_a_cto_approval_may_run_outside_its_window():
    late = dt.datetime(2026, 12, 16, 4, 0, tzinfo=UTC)
    cto = [{"by": "cto@example.com", "role": "cto", "at": "2026-12-16T03:55:00Z"}]
    verdict = judge(loaded(change_type="emergency", approvals=cto), at=late)
    assert verdict.compliant and verdict.emergency_override and verdict.approved_emergency
    # A cto approval given after the update began does not count, for the window as for approvals.
    early = judge(loaded(change_type="emergency", approvals=cto), at=dt.datetime(2026, 12, 16, 3, 0, tzinfo=UTC))
    assert not early.emergency_override and [f.rule for f in early.findings] == [compliance.APPROVAL, compliance.WINDOW]


def test_the_gates_report_what_assess_finds(tmp_path, keyring):
    """The gates are thin: the change-request gate reports every finding but the window's."""
    doc = {**GOOD, "stacks": ["staging"], "risk_level": "high",
           "approvals": [{"by": "team-lead@example.com", "role": "team-lead", "at": "2026-12-15T02:40:00Z"}]}
    keyring.write(tmp_path, doc)
    ctx = dataclasses.replace(context(changeRequest="CR-2026-014", now=dt.datetime(2026, 12, 15, 3, 5, tzinfo=UTC)),
                              project_root=tmp_path)
    verdict = gates.assess(ctx)
    assert list(gates.change_request_required([], ctx)) == verdict.messages(
        compliance.REQUEST, compliance.STACKS, compliance.APPROVAL, compliance.ROLLBACK) == [
        f"{F}: stacks ['staging'] does not include production", f"{F}: risk_level high needs a cab approval"]
    assert list(gates.change_window([], ctx)) == verdict.messages(compliance.WINDOW) == [
        f"{F}: now (2026-12-15T03:05:00Z) is outside the window 2026-12-15T02:00:00Z - 2026-12-15T03:00:00Z"]
