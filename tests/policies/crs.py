"""The change request the governance tests start from: the repository's CR-2026-014 as a compliant
standard, low-risk change signed by its requester, with one team-lead approval, in a window that
opens 2026-12-15 02:00Z. Each test changes one thing of it; `good()` gives every module its own copy
to change. The requester's signed entry (`REQUESTER_SIGNS`, role `requester`) is part of the baseline:
a test that replaces `approvals` keeps it, unless it asks for `requester_signs=False`."""
from __future__ import annotations

import copy
import datetime as dt

F = "changes/CR-2026-014.yaml"
IN_WINDOW = dt.datetime(2026, 12, 15, 2, 30, tzinfo=dt.timezone.utc)  # half an hour into its window
_GOOD = {
    "id": "CR-2026-014", "title": "API service scaling", "description": "Increase API replicas from 3 to 5",
    "service": "api-service", "change_type": "standard", "risk_level": "low",
    "impact_analysis": "Minimal impact, gradual scale up",
    "rollback_plan": ["pulumi config set --path workloads.api.minReplicas 3 && pulumi up"],
    "requested_by": "requester@example.com",
    "approvals": [{"by": "team-lead@example.com", "role": "team-lead", "at": "2026-11-20T10:00:00Z"}],
    # (REQUESTER_SIGNS is appended by good(): last, so the approvals' indices stay those of the list given.)
    "window": {"start": "2026-12-15T02:00:00Z", "duration": "1h"},
    "stacks": ["production"],
}


# The requester signs the request before anyone approves it (platformctl change approve --role requester).
REQUESTER_SIGNS = {"by": "requester@example.com", "role": "requester", "at": "2026-11-19T09:00:00Z"}


def good(requester_signs: bool = True, **fields) -> dict:
    """A fresh copy of the compliant request, with `fields` replaced; its requester's entry appended
    to `approvals` (a list) unless `requester_signs` is False or the list has one already."""
    doc = {**copy.deepcopy(_GOOD), **copy.deepcopy(fields)}
    approvals = doc.get("approvals")
    if requester_signs and isinstance(approvals, list) and not any(
            isinstance(a, dict) and a.get("role") == "requester" for a in approvals):
        doc["approvals"] = approvals + [{**REQUESTER_SIGNS, "by": doc.get("requested_by", REQUESTER_SIGNS["by"])}]
    return doc
