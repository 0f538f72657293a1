"""Change requests as files, the change-request and change-window gates."""
import dataclasses
import datetime as dt
import pathlib

import pytest
import yaml

from crs import F, IN_WINDOW, good
from policy_baseline import context

from governance import changes, gates

UTC = dt.timezone.utc
REPO = pathlib.Path(__file__).resolve().parents[2]
GOOD = good()


KEYRING = []


@pytest.fixture(autouse=True)
def _keys(keyring):
    KEYRING[:] = [keyring]


def write(root: pathlib.Path, doc, name: str = "CR-2026-014") -> None:
    """A request as text, or a document whose approvals are signed by the test keys."""
    if isinstance(doc, str):
        (root / "changes").mkdir(exist_ok=True)
        (root / "changes" / f"{name}.yaml").write_text(doc)
    else:
        KEYRING[0].write(root, doc, name=name)


def ctx_for(root, now=IN_WINDOW, cr="CR-2026-014", stack="production", **cfg):
    ctx = context(stack, now=now, changeRequest=cr, **cfg)
    return dataclasses.replace(ctx, project_root=root)


def gate(fn, ctx):
    return list(fn([], ctx))


def changed(**fields):
    doc = {k: v for k, v in GOOD.items()}
    for key, value in fields.items():
        if value is ...:
            doc.pop(key)
        else:
            doc[key] = value
    return doc


def test_repository_examples_are_valid():
    files = sorted((REPO / "changes").glob("*.yaml"))
    assert len(files) >= 3
    for path in files:
        loaded = changes.load(REPO, "changes", path.stem)
        assert loaded.problems == () and loaded.change.id == path.stem


def test_the_issue_example_passes_both_gates(tmp_path):
    write(tmp_path, GOOD)
    ctx = ctx_for(tmp_path)
    assert gate(gates.change_request_required, ctx) == []
    assert gate(gates.change_window, ctx) == []


MALFORMED = [
    ("not: [valid", f"{F}: line 2, column 1: not valid YAML (did not find expected ',' or ']')"),
    ("- just\n- a list\n", f"{F}: must be a mapping of change request fields"),
    ("", f"{F}: is empty; it must be a mapping of change request fields"),
    (changed(impact_analysis=...), f"{F}: impact_analysis is missing or empty"),
    (changed(impact_analysis="   "), f"{F}: impact_analysis is missing or empty"),
    (changed(rollback_plan=[]), f"{F}: rollback_plan must list at least one concrete step"),
    (changed(rollback_plan=...), f"{F}: rollback_plan must list at least one concrete step"),
    (changed(rollback_plan=["", "x"]), f"{F}: rollback_plan[0] must be a non-empty step"),
    (changed(approvals=[{"by": "boss@example.com", "role": "ceo", "at": "2026-11-20T10:00:00Z"}]),
     f"{F}: approvals[0].role must be one of team-lead, engineering-manager, cto, cab, requester, got 'ceo'"),
    (changed(approvals=[{"by": "boss", "role": "cto", "at": "2026-11-20T10:00:00Z"}]),
     f"{F}: approvals[0].by must be the approver's e-mail address, got 'boss'"),
    (changed(approvals=[{"by": "cto@example.com", "role": "cto", "at": "yesterday"}]),
     f"{F}: approvals[0].at must be an ISO 8601 time such as 2026-12-15T02:00:00Z, got 'yesterday'"),
    (changed(approvals="cto@example.com"), f"{F}: approvals must be a list of {{by, role, at, signature}}"),
    (changed(window={"start": "2026-12-15T02:00:00Z"}), f"{F}: window.duration is missing"),
    (changed(window={"duration": "1h"}), f"{F}: window.start is missing"),
    (changed(window={"start": "2026-12-15T02:00:00Z", "duration": "an hour"}),
     f"{F}: window.duration must be a duration such as 1h or 30m, got 'an hour'"),
    (changed(window={"start": "2026-12-15T02:00:00Z", "duration": "48h"}),
     f"{F}: window.duration must be at most 24h, got '48h'"),
    (changed(window={"start": "2026-12-15T02:00:00", "duration": "1h"}),
     f"{F}: window.start must include a time zone (e.g. Z), got 2026-12-15T02:00:00"),
    (changed(window="tonight"), f"{F}: window must be a mapping {{start, duration}}"),
    (changed(change_type="infrastructure"),
     f"{F}: change_type must be one of standard, normal, emergency, got 'infrastructure'"),
    (changed(risk_level="minimal"), f"{F}: risk_level must be one of low, medium, high, critical, got 'minimal'"),
    (changed(id="CR-2026-999"), f"{F}: id is 'CR-2026-999' but the file is named for 'CR-2026-014'"),
    (changed(id="change-14"), f"{F}: id must look like CR-2026-014, got 'change-14'"),
    (changed(requested_by="bob"), f"{F}: requested_by must be an e-mail address, got 'bob'"),
    (changed(title=...), f"{F}: title is missing or empty"),
    (changed(stacks=[]), f"{F}: stacks must list the stacks this change may touch"),
    (changed(rollback_plans=["typo"]), f"{F}: rollback_plans is not a change request field"),
    (changed(service=42), f"{F}: service must be text, got 42"),
]


@pytest.mark.parametrize("doc,message", MALFORMED, ids=[m.split(": ", 1)[1][:40] for _, m in MALFORMED])
def test_malformed_change_request_is_one_violation_naming_file_and_field(tmp_path, doc, message):
    write(tmp_path, doc)
    ctx = ctx_for(tmp_path)
    assert gate(gates.change_request_required, ctx) == [message]
    assert gate(gates.change_window, ctx) == [
        f"{F}: no valid change request, so no change window (see change-request-required)"]


def test_missing_file_unset_id_and_bad_id(tmp_path):
    assert gate(gates.change_request_required, ctx_for(tmp_path)) == [f"{F}: file not found"]
    assert gate(gates.change_request_required, ctx_for(tmp_path, cr="")) == [
        "leadgen:changeRequest is not set: name the change request (changes/<ID>.yaml) this update carries"]
    assert gate(gates.change_window, ctx_for(tmp_path, cr="")) == [
        "leadgen:changeRequest is not set, so there is no change window"]
    # An ID is checked before it is joined to a path, so it cannot reach outside changes/.
    assert gate(gates.change_request_required, ctx_for(tmp_path, cr="../../etc/passwd")) == [
        "leadgen:changeRequest '../../etc/passwd' is not a change request ID like CR-2026-014"]


def test_gates_do_not_apply_to_unprotected_stacks(tmp_path):
    ctx = ctx_for(tmp_path, cr="", stack="dev")
    assert gate(gates.change_request_required, ctx) == [] and gate(gates.change_window, ctx) == []


@pytest.mark.parametrize("fields,message", [
    ({"approvals": []}, f"{F}: approvals has no approval from anyone other than the requester requester@example.com"),
    ({"approvals": [{"by": "Requester@example.com", "role": "team-lead", "at": "2026-11-20T10:00:00Z"}]},
     f"{F}: approvals[0] is by the requester requester@example.com, who approves nothing; remove it"),
    ({"risk_level": "high"}, f"{F}: risk_level high needs a cab approval"),
    ({"risk_level": "critical"}, f"{F}: risk_level critical needs a cab approval"),
    ({"stacks": ["staging"]}, f"{F}: stacks ['staging'] does not include production"),
])
def test_change_request_rules(tmp_path, fields, message):
    write(tmp_path, changed(**fields))
    assert gate(gates.change_request_required, ctx_for(tmp_path))[:1] == [message]


def test_high_risk_with_cab_passes(tmp_path):
    approvals = GOOD["approvals"] + [{"by": "cab@example.com", "role": "cab", "at": "2026-11-21T10:00:00Z"}]
    write(tmp_path, changed(risk_level="critical", approvals=approvals))
    assert gate(gates.change_request_required, ctx_for(tmp_path)) == []


@pytest.mark.parametrize("now,ok", [
    (dt.datetime(2026, 12, 15, 2, 0, tzinfo=UTC), True),
    (dt.datetime(2026, 12, 15, 2, 59, 59, tzinfo=UTC), True),
    (dt.datetime(2026, 12, 15, 3, 0, tzinfo=UTC), False),  # the window is [start, start + duration)
    (dt.datetime(2026, 12, 15, 1, 59, tzinfo=UTC), False),
    (dt.datetime(2026, 12, 14, 21, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5))), True),  # 02:30Z
])
def test_change_window_edges(tmp_path, now, ok):
    write(tmp_path, GOOD)
    result = gate(gates.change_window, ctx_for(tmp_path, now=now))
    if ok:
        assert result == []
    else:
        stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert result == [f"{F}: now ({stamp}) is outside the window 2026-12-15T02:00:00Z - 2026-12-15T03:00:00Z"]


def test_emergency_outside_window_needs_cto(tmp_path):
    late = dt.datetime(2026, 12, 16, 4, 0, tzinfo=UTC)
    write(tmp_path, changed(change_type="emergency"))
    assert gate(gates.change_window, ctx_for(tmp_path, now=late)) == [
        f"{F}: now (2026-12-16T04:00:00Z) is outside the window 2026-12-15T02:00:00Z - 2026-12-15T03:00:00Z; "
        "an emergency change outside its window needs a cto approval"]
    other = tmp_path / "b"
    other.mkdir()
    write(other, changed(change_type="emergency", approvals=[
        {"by": "cto@example.com", "role": "cto", "at": "2026-12-16T03:55:00Z"}]))
    assert gate(gates.change_window, ctx_for(other, now=late)) == []


def test_duration_parsing():
    assert changes.parse_duration("1h30m") == dt.timedelta(minutes=90)
    assert changes.parse_duration("45m") == dt.timedelta(minutes=45)
    for bad in ("0h", "1d", "", "h", 60):
        with pytest.raises(ValueError):
            changes.parse_duration(bad)


def test_clock_override_is_always_reported():
    from governance import clock

    fixed = clock.read({"LEADGEN_GOVERNANCE_NOW": "2026-12-15T02:30:00Z"})
    assert fixed.now == dt.datetime(2026, 12, 15, 2, 30, tzinfo=UTC) and fixed.override
    ctx = dataclasses.replace(context(), clock=fixed)
    assert gate(gates.clock_override, ctx) == [
        "LEADGEN_GOVERNANCE_NOW=2026-12-15T02:30:00Z fixes the change-window clock; unset it outside tests"]
    bad = clock.read({"LEADGEN_GOVERNANCE_NOW": "soon"})
    assert bad.override == "soon" and bad.now.year >= 2025
    assert gate(gates.clock_override, dataclasses.replace(ctx, clock=bad)) == [
        "LEADGEN_GOVERNANCE_NOW='soon' is not an ISO 8601 time; using the real clock"]
    assert gate(gates.clock_override, context()) == []
