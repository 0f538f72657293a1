"""The error-budget decision matrix operators read in the SLO runbook is the one the gate applies:
every row of the runbook's table names the action and approval `error_budget.band` returns for a
budget inside that row."""
from __future__ import annotations

import pathlib
import re

from governance.error_budget import band

RUNBOOK = pathlib.Path(__file__).resolve().parents[2] / "docs" / "runbooks" / "slo-violation.md"
# A budget well inside each row's range, as the runbook writes the range.
INSIDE = {"> 50 %": 75.0, "30-50 %": 40.0, "10-30 %": 20.0, "< 10 %": 5.0}


def _matrix() -> dict[str, tuple[str, str]]:
    text = RUNBOOK.read_text(encoding="utf-8")
    section = text.split("## Error-budget decision matrix", 1)[1]
    rows = {}
    for line in section.splitlines()[3:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = (cells[1], cells[2])
    return rows


def _role(text: str) -> str | None:
    return None if text == "none" else re.sub(r"\s+", "-", text.lower())


def test_the_runbooks_matrix_has_the_four_rows_of_the_gate():
    assert sorted(_matrix()) == sorted(INSIDE)


def test_each_row_names_the_action_and_approval_the_gate_applies():
    for budget_range, (action, approval) in _matrix().items():
        row = band(INSIDE[budget_range])
        assert (action, _role(approval)) == (row.action, row.role), budget_range
