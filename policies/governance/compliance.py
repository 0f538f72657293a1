"""Whether one update of a stack complies with its change request: the CAB rules, in one place.

The pack's gates judge the update about to run (`at` is now); platformctl's history audit judges
past updates (`at` is when each started, `finished` when it ended). Both call `assess`, so a stack
that passes the gate today is one the audit finds compliant tomorrow, and the other way round.

The rules, from the runbook's CAB process:
- the update names a change request that exists and is complete (`changes.load` reports why not);
- the request covers the stack;
- someone other than the requester approved it, before the update began; a high or critical risk
  needs a `cab` approval among those;
- it carries a rollback plan;
- the update runs inside the request's window (a finished update must also have ended by its
  close); an emergency change with a `cto` approval may run outside it.

Pure: no clock, no file system, no config. It never raises.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from .changes import Approval, ChangeRequest, Loaded

HIGH_RISK = ("high", "critical")

# What each finding is about; the change-request gate reports all but WINDOW, the window gate WINDOW.
REQUEST, STACKS, APPROVAL, ROLLBACK, WINDOW = "request", "stacks", "approval", "rollback", "window"


@dataclass(frozen=True)
class Finding:
    rule: str  # REQUEST, STACKS, APPROVAL, ROLLBACK or WINDOW
    message: str  # one line naming the change request file and the field or fact


@dataclass(frozen=True)
class Assessment:
    """The verdict on one update and the evidence behind it."""

    findings: tuple[Finding, ...]
    change: Optional[ChangeRequest]
    # Approvals that count: from someone other than the requester, given by the time the update began.
    approvals: tuple[Approval, ...] = ()
    in_window: bool = False
    # True when the update ran outside its window on an emergency change a cto approved.
    emergency_override: bool = False

    @property
    def compliant(self) -> bool:
        return not self.findings

    @property
    def roles(self) -> frozenset[str]:
        """Roles of the approvals that count (the error-budget matrix reads them too)."""
        return frozenset(a.role for a in self.approvals)

    @property
    def approved_emergency(self) -> bool:
        return self.change is not None and self.change.change_type == "emergency" and "cto" in self.roles

    def messages(self, *rules: str) -> list[str]:
        """The findings' lines, in order, limited to `rules` when given."""
        return [f.message for f in self.findings if not rules or f.rule in rules]


def assess(loaded: Loaded, *, stack: str, protected: bool, at: dt.datetime,
           finished: Optional[dt.datetime] = None) -> Assessment:
    """Judge the update of `stack` that starts at `at` (and, for a past update, ended at
    `finished`) against the change request `loaded` (from `changes.load`). An unprotected stack
    needs no change request: its assessment has no findings."""
    change = loaded.change
    if change is None:
        if not protected:
            return Assessment((), None)
        if not loaded.change_id:
            no_window = "leadgen:changeRequest is not set, so there is no change window"
        else:
            no_window = f"{loaded.file}: no valid change request, so no change window (see change-request-required)"
        return Assessment(tuple(Finding(REQUEST, p) for p in loaded.problems) + (Finding(WINDOW, no_window),), None)

    approvals = _counted(change, at)
    in_window = change.window_start <= at < change.window_end and (finished is None or finished <= change.window_end)
    override = (not in_window and change.change_type == "emergency"
                and "cto" in frozenset(a.role for a in approvals))
    findings: list[Finding] = []
    if protected:
        findings += _coverage(change, stack)
        findings += _approval(change, approvals, at)
        findings += _rollback(change)
        if not in_window and not override:
            findings.append(Finding(WINDOW, _outside(change, at, finished)))
    return Assessment(tuple(findings), change, approvals, in_window, override)


def _counted(change: ChangeRequest, at: dt.datetime) -> tuple[Approval, ...]:
    """Nobody approves their own change, and an approval dated after the update began is not one."""
    requester = change.requested_by.strip().lower()
    return tuple(a for a in change.approvals if a.by.strip().lower() != requester and a.at <= at)


def _coverage(change: ChangeRequest, stack: str) -> list[Finding]:
    if stack in change.stacks:
        return []
    return [Finding(STACKS, f"{change.file}: stacks {list(change.stacks)} does not include {stack}")]


def _approval(change: ChangeRequest, counted: tuple[Approval, ...], at: dt.datetime) -> list[Finding]:
    requester = change.requested_by.strip().lower()
    independent = [a for a in change.approvals if a.by.strip().lower() != requester]
    if not independent:
        return [Finding(APPROVAL, f"{change.file}: approvals has no approval from anyone other than the "
                                  f"requester {change.requested_by}")]
    if not counted:
        first = min(a.at for a in independent)
        return [Finding(APPROVAL, f"{change.file}: approved only after the update started at {_fmt(at)} "
                                  f"(first approval {_fmt(first)})")]
    if change.risk_level in HIGH_RISK and "cab" not in {a.role for a in counted}:
        return [Finding(APPROVAL, f"{change.file}: risk_level {change.risk_level} needs a cab approval")]
    return []


def _rollback(change: ChangeRequest) -> list[Finding]:
    # The parser already refuses a request without one; a request built any other way is held to it too.
    if change.rollback_plan and all(step.strip() for step in change.rollback_plan):
        return []
    return [Finding(ROLLBACK, f"{change.file}: rollback_plan must list at least one concrete step")]


def _outside(change: ChangeRequest, at: dt.datetime, finished: Optional[dt.datetime]) -> str:
    span = f"{_fmt(change.window_start)} - {_fmt(change.window_end)}"
    moment = f"now ({_fmt(at)})" if finished is None else f"the update ({_fmt(at)} - {_fmt(finished)})"
    line = f"{change.file}: {moment} is outside the window {span}"
    if change.change_type == "emergency":
        line += "; an emergency change outside its window needs a cto approval"
    return line


def _fmt(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
