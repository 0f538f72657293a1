"""Change requests parsed as strictly as an auditor reads them: every YAML convenience that lets a
file say two things, and every placeholder that says nothing, is one line naming file and field."""
import tracemalloc

import pytest

from governance import changes

F = "changes/CR-2026-014.yaml"
BASE = """\
id: CR-2026-014
title: API service scaling
description: Increase API replicas from 3 to 5
service: api-service
change_type: standard
risk_level: low
impact_analysis: Minimal impact, gradual scale up
rollback_plan:
  - pulumi config set --path workloads.api.minReplicas 3 && pulumi up
requested_by: requester@example.com
approvals:
  - {by: team-lead@example.com, role: team-lead, at: "2026-11-20T10:00:00Z"}
window: {start: "2026-12-15T02:00:00Z", duration: 1h}
stacks: [production]
"""


def problems(text: str) -> tuple:
    return changes.parse(text, F, "CR-2026-014").problems


def test_the_baseline_parses():
    loaded = changes.parse(BASE, F, "CR-2026-014")
    assert loaded.problems == () and loaded.change.risk_level == "low"


@pytest.mark.parametrize("text,problem", [
    # A second key silently replaced the first: critical became low.
    (BASE.replace("risk_level: low", "risk_level: critical") + "risk_level: low\n",
     f"{F}: risk_level: duplicate key (first on line 6, again on line 15); the last would silently win"),
    (BASE.replace('duration: 1h}', 'duration: 1h, start: "2026-01-01T00:00:00Z"}'),
     f"{F}: window.start: duplicate key (first on line 13, again on line 13); the last would silently win"),
    (BASE.replace("title: API service scaling", "title: &t API service scaling").replace(
        "description: Increase API replicas from 3 to 5", "description: *t"),
     f"{F}: title: carries an anchor (&t); this file takes no aliases: write every value out, once"),
    (BASE + "extra: &e {a: 1}\n", f"{F}: extra: carries an anchor (&e); this file takes no aliases: write every value out, once"),
    (BASE.replace("window: {", "window: {<<: {a: 1}, "),
     f"{F}: window: merge keys (<<) are not allowed; write the keys out"),
    (BASE.replace("service: api-service", "service: !!binary aGk="),
     f"{F}: service: tag tag:yaml.org,2002:binary is not allowed"),
    (BASE.replace("service: api-service", "service: !!python/object/apply:os.system [id]"),
     f"{F}: service: tag tag:yaml.org,2002:python/object/apply:os.system is not allowed"),
    (BASE.replace('start: "2026-12-15T02:00:00Z"', "start: 2026-12-15T02:00:00Z"),
     f'{F}: window.start is an unquoted date or time (2026-12-15T02:00:00Z); quote it: "2026-12-15T02:00:00Z"'),
    # An impossible unquoted date used to crash the pack and hide every other result.
    (BASE.replace('start: "2026-12-15T02:00:00Z"', "start: 2026-13-45T25:00:00Z"),
     f"{F}: window.start: 2026-13-45T25:00:00Z is not a real date (month must be in 1..12)"),
    (BASE.replace('start: "2026-12-15T02:00:00Z"', 'start: "2026-13-45T25:00:00Z"'),
     f"{F}: window.start must be an ISO 8601 time such as 2026-12-15T02:00:00Z, got '2026-13-45T25:00:00Z'"),
    (BASE.replace("duration: 1h", "duration: 99999999999999999999h"),
     f"{F}: window.duration must be a duration such as 1h or 30m, got '99999999999999999999h'"),
    (BASE.replace("duration: 1h", "duration: 1" + "0" * 5000),
     f"{F}: window.duration: integer with 5001 digits; the limit is 32"),
    (BASE + "---\nid: CR-2026-999\n", f"{F}: line 15: a second YAML document (---) follows the first; one document is expected and a reader could take either"),
    (BASE.replace("service: api-service", "service: api\x07service"),
     f"{F}: service: character U+0007 at line 4, column 13 is not allowed (a control or invisible formatting character)"),
])
def test_yaml_that_says_two_things_is_refused(text, problem):
    assert problems(text) == (problem,)


@pytest.mark.parametrize("step", ["N/A", "n/a", "NA", "none", "None.", "-", "--", "tbd", "TBD", "todo", "?",
                                  "revert", "..."])
def test_placeholder_rollback_plans_are_refused(step):
    text = BASE.replace("  - pulumi config set --path workloads.api.minReplicas 3 && pulumi up",
                        f'  - "{step}"')
    assert problems(text) == (f"{F}: rollback_plan[0] ({step.strip()!r}) is a placeholder, not a concrete step",)


@pytest.mark.parametrize("address", ["@", "a@", "@example.com", "a@b", "a b@example.com", "a@example..com",
                                     "<a@example.com>", "a@-example.com"])
def test_addresses_that_are_not_addresses_are_refused(address):
    requester = BASE.replace("requested_by: requester@example.com", f'requested_by: "{address}"')
    assert problems(requester) == (f"{F}: requested_by must be an e-mail address, got {address!r}",)
    approver = BASE.replace("by: team-lead@example.com", f'by: "{address}"')
    assert problems(approver) == (f"{F}: approvals[0].by must be the approver's e-mail address, got {address!r}",)


def test_unknown_approval_and_window_fields_are_named():
    text = BASE.replace("role: team-lead,", "role: team-lead, approved: yes,").replace(
        "duration: 1h}", "duration: 1h, end: later}")
    assert problems(text) == (f"{F}: approvals[0].approved is not an approval field (by, role, at, signature, commit, "
                              "config)",
                              f"{F}: window.end is not a window field (start, duration)")


def test_an_alias_bomb_is_refused_in_bounded_time_and_memory():
    # 790 bytes that expand to 9^9 strings in a naive loader (900 MB measured with yaml.safe_load).
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        bomb += f"{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
    assert len(bomb) < 800
    tracemalloc.start()
    got = problems(bomb)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert got == (f"{F}: a: carries an anchor (&a); this file takes no aliases: write every value out, once",)
    assert peak < 2_000_000


def test_deep_nesting_and_size_are_capped():
    assert problems("a: " + "[" * 5000 + "]" * 5000 + "\n") == (f"{F}: a[0][0][0][0][0][0][0]: nested deeper than 8 levels",)
    assert problems(BASE + "#" * changes.MAX_BYTES) == (
        f"{F}: is larger than 64 KiB; a change request is a short document",)


def test_a_database_migration_is_declared_with_a_real_boolean_and_defaults_to_none():
    assert changes.parse(BASE, F, "CR-2026-014").change.database_migration is False
    for written, value in (("true", True), ("false", False)):
        loaded = changes.parse(BASE + f"database_migration: {written}\n", F, "CR-2026-014")
        assert loaded.problems == () and loaded.change.database_migration is value
    # What an approval signs includes the declaration: adding it after approval invalidates them.
    assert changes.parse(BASE + "database_migration: true\n", F).change.canonical != \
        changes.parse(BASE, F).change.canonical


@pytest.mark.parametrize("written,shown", [
    ('"true"', "'true'"), ("yes", "yes"), ("on", "on"), ("True", "True"), ("FALSE", "FALSE"),
    ("1", "1"), ("", "None"), ("[true]", "[True]"),
])
def test_a_database_migration_that_is_not_unquoted_true_or_false_is_named(written, shown):
    assert problems(BASE + f"database_migration: {written}\n") == (
        f"{F}: database_migration must be true or false, unquoted, got {shown}",)
