"""The failover's emergency path: what the on-call DBA and the CTO can carry out in minutes.

A regional failover is a critical change; outside an emergency a critical change needs a cab and a
team-lead or engineering-manager approval from two people, which a regional outage at night
cannot wait for. In an emergency the CTO's approval stands in for both (the pack flags it for the
CAB's review afterwards); in a normal change it does not."""
from __future__ import annotations

import datetime as dt

import pytest
import yaml

import platformctl.pack  # noqa: F401  (the pack's modules import as `governance`)
from governance import changes, compliance

UTC = dt.timezone.utc
F = "changes/CR-2026-951.yaml"
NOW = dt.datetime(2026, 12, 3, 7, 0, tzinfo=UTC)
FAILOVER = {
    "id": "CR-2026-951", "title": "Regional failover: production-dr takes over from us-east-1",
    "description": "dr.state active", "service": "api", "change_type": "emergency", "risk_level": "critical",
    "impact_analysis": "Writes resume in us-west-2", "rollback_plan": ["Failback, each step under its own request"],
    "requested_by": "dba-oncall@example.com",
    "approvals": [{"by": "cto@example.com", "role": "cto", "at": "2026-12-03T06:58:00Z"}],
    # The window starts when the DBA writes the request.
    "window": {"start": "2026-12-03T06:57:00Z", "duration": "4h"},
    "stacks": ["production-dr"],
}


def judge(**fields):
    loaded = changes.parse(yaml.safe_dump({**FAILOVER, **fields}), F, "CR-2026-951")
    return compliance.assess(loaded, stack="production-dr", protected=True, at=NOW)


def test_the_dbas_emergency_with_the_ctos_signature_is_compliant():
    verdict = judge()
    assert verdict.findings == () and verdict.approved_emergency and verdict.in_window


@pytest.mark.parametrize("fields, missing", [
    # The same critical change as a normal one: the CTO alone is not the CAB.
    ({"change_type": "normal"}, ["risk_level critical needs a cab approval",
                                 "risk_level critical needs a team-lead or engineering-manager approval"]),
    # An emergency without the CTO: a team lead's approval is no stand-in.
    ({"approvals": [{"by": "team-lead@example.com", "role": "team-lead", "at": "2026-12-03T06:58:00Z"}]},
     ["risk_level critical needs a cab approval"]),
    # The requester signs nothing, whatever their title.
    ({"requested_by": "cto@example.com"}, ["approvals[0] is by the requester cto@example.com, who approves nothing; "
                                           "remove it",
                                           "approvals has no approval from anyone other than the requester "
                                           "cto@example.com"]),
])
def test_without_the_ctos_emergency_approval_a_critical_failover_waits(fields, missing):
    verdict = judge(**fields)
    assert [m.split(": ", 1)[1] for m in verdict.messages()] == missing
