"""Whether one update of a stack complies with its change request: the CAB rules, in one place.

The pack's gates judge the update about to run (`at` is now); platformctl's history audit judges
past updates (`at` is when each started, `finished` when it ended). Both call `assess`, so a stack
that passes the gate today is one the audit finds compliant tomorrow, and the other way round.

The rules, from the runbook's CAB process and what an ISO 27001 auditor checks (A.8.32 change
management, A.5.3 segregation of duties):
- the update names a change request that exists and is complete (`changes.load` reports why not);
- the request covers the stack;
- the requester is whoever's key verifiably signed the request's `requester` entry (`requester`,
  from `approvers.requester`), not the text of `requested_by`: without that signature the update
  waits for it, and an approval signed by the requester's key counts for nothing whatever address
  it carries (a team lead once approved their own change by writing someone else's address in
  `requested_by`);
- approvals count only when signed by the approver (`signatures`, from `approvers.check`), not
  by the requester, and dated no later than the update's start; the requester approves nothing,
  and an approval dated after the moment it is judged at is a false date;
- someone other than the requester approved it; a high or critical risk needs a team-lead or
  engineering-manager approval *and* a cab approval, from two different people, except in an
  emergency, where the cto's approval stands in for both (a regional failover cannot wait for a
  CAB; the pack flags every emergency for the CAB's review afterwards);
- it carries a rollback plan;
- the update runs inside the request's window (a finished update must also have ended by its
  close). An emergency change may run outside it only while it is fresh: inside its window, or
  within `EMERGENCY_VALIDITY` of its cto approval. After that it needs a new request.

Findings that a preview should forecast rather than block on carry `deferrable=True` and a
`forecast` line: a window still ahead, an approval not yet given or not yet signed. Everything
else (a broken request, a closed window, a false date) blocks a preview too.

Pure: no clock, no file system, no config. It never raises.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional, Sequence

from .changes import Approval, ChangeRequest, Loaded

HIGH_RISK = ("high", "critical")
LINE_ROLES = ("team-lead", "engineering-manager")  # who answers for the change in the team's line
# How long an emergency change stays usable after its cto approval when outside its window.
EMERGENCY_VALIDITY = dt.timedelta(hours=4)

# What each finding is about; the change-request gate reports all but WINDOW, the window gate WINDOW.
REQUEST, STACKS, APPROVAL, ROLLBACK, WINDOW = "request", "stacks", "approval", "rollback", "window"


@dataclass(frozen=True)
class Finding:
    rule: str  # REQUEST, STACKS, APPROVAL, ROLLBACK or WINDOW
    message: str  # one line naming the change request file and the field or fact
    # True when a preview should report it as what the update will meet, not block on it.
    deferrable: bool = False
    forecast: str = ""  # that preview line ("blocked until ... unless ..."), for deferrable findings


@dataclass(frozen=True)
class Assessment:
    """The verdict on one update and the evidence behind it."""

    findings: tuple[Finding, ...]
    change: Optional[ChangeRequest]
    # Approvals that count: signed (when signatures were checked), by someone other than the
    # requester, given by the time the update began.
    approvals: tuple[Approval, ...] = ()
    in_window: bool = False
    # True when the update ran outside its window on a fresh emergency change a cto approved.
    emergency_override: bool = False
    # For an emergency change with a counted cto approval: the end of the time it may be used.
    emergency_until: Optional[dt.datetime] = None
    # The requester's signed entry when it verified (and was given by the time judged), and the
    # fingerprint of its key: who asked, as a fact. None when unverified or not checked.
    requester: Optional[Approval] = None
    requester_key: str = ""

    @property
    def requester_shown(self) -> str:
        """Who asked, as an audit trail may state it: the verified signer, else "unverified"."""
        if self.requester is None:
            claimed = f" (requested_by says {self.change.requested_by})" if self.change is not None else ""
            return f"unverified{claimed}"
        return f"{self.requester.by} (key {self.requester_key})" if self.requester_key else self.requester.by

    @property
    def compliant(self) -> bool:
        return not self.findings

    @property
    def roles(self) -> frozenset[str]:
        """Roles of the approvals that count (the error-budget matrix reads them too)."""
        return frozenset(a.role for a in self.approvals)

    @property
    def approved_emergency(self) -> bool:
        """An emergency change a cto approved that may still be used now (in window or fresh)."""
        return self.change is not None and self.change.emergency and "cto" in self.roles and (
            self.in_window or self.emergency_override)

    def messages(self, *rules: str, deferrable: Optional[bool] = None) -> list[str]:
        """The findings' lines, in order, limited to `rules` when given, and to deferrable (True)
        or blocking (False) findings when `deferrable` is given."""
        return [f.message for f in self.findings
                if (not rules or f.rule in rules) and (deferrable is None or f.deferrable == deferrable)]

    def forecasts(self) -> list[str]:
        """The preview's lines for the deferrable findings."""
        return [f.forecast or f.message for f in self.findings if f.deferrable]


def assess(loaded: Loaded, *, stack: str, protected: bool, at: dt.datetime,
           finished: Optional[dt.datetime] = None,
           signatures: Optional[Sequence[str]] = None,
           keys: Optional[Sequence[str]] = None,
           requester: Optional[tuple[str, str]] = None) -> Assessment:
    """Judge the update of `stack` that starts at `at` (and, for a past update, ended at
    `finished`) against the change request `loaded` (from `changes.load`). An unprotected stack
    needs no change request: its assessment has no findings.

    `signatures`: for each of the request's approvals, "" when its signature verified, else why
    not (`approvers.check`). None means signatures were not checked: every approval is taken at
    its word (only for callers that verify elsewhere; the gates always pass them).

    `keys`: for each approval, the fingerprint of the key that signed it ("" when it did not
    verify), from `approvers.fingerprints`. People are told apart by key, not by address: one key
    listed for two addresses once approved a critical change as both lead and CAB.

    `requester`: (why the request's `requester` entry does not verify, "" when it does; the
    fingerprint of its key), from `approvers.requester`. None means it was not checked (as with
    `signatures`); the gates and the history audit always pass it."""
    change = loaded.change
    if change is None:
        if not protected:
            return Assessment((), None)
        if not loaded.change_id:
            no_window = "leadgen:changeRequest is not set, so there is no change window"
        else:
            no_window = f"{loaded.file}: no valid change request, so no change window (see change-request-required)"
        return Assessment(tuple(Finding(REQUEST, p) for p in loaded.problems) + (Finding(WINDOW, no_window),), None)

    signed = _signed(change, signatures)
    approvals = _counted(change, at, signed)
    key_of = {a.index: k for a, k in zip(change.approvals, keys)} if keys is not None else {}
    approvals, shared = _one_per_key(approvals, key_of, change.file)
    asked, asked_key, asking = _requester(change, requester, at, finished)
    approvals, own = _not_by_requester_key(change, approvals, key_of, asked, asked_key)
    in_window = change.window_start <= at < change.window_end and (finished is None or finished <= change.window_end)
    cto = [a for a in approvals if a.role == "cto"]
    fresh_until = max(a.at for a in cto) + EMERGENCY_VALIDITY if change.emergency and cto else None
    # Outside its window an emergency runs only while its latest cto approval is fresh.
    override = not in_window and fresh_until is not None and (finished or at) <= fresh_until
    until = max(change.window_end, fresh_until) if fresh_until is not None else None
    findings: list[Finding] = []
    if protected:
        findings += _coverage(change, stack)
        findings += shared
        findings += _approval(change, approvals, at, finished, signatures, key_of)
        findings += asking + own
        findings += _rollback(change)
        if not in_window and not override:
            findings.append(_outside(change, at, finished, cto))
    return Assessment(tuple(findings), change, approvals, in_window, override, until, asked, asked_key)


def _requester(change: ChangeRequest, requester: Optional[tuple[str, str]], at: dt.datetime,
               finished: Optional[dt.datetime]) -> tuple[Optional[Approval], str, list[Finding]]:
    """(the verified requester entry or None, its key's fingerprint, findings). Not checked: none."""
    if requester is None:
        return None, "", []
    reason, key = requester
    f, entry = change.file, change.request_signature
    sign = (f"platformctl change approve {change.id} --role requester --by {change.requested_by} "
            "--key <your ssh key>")
    if entry is None:
        return None, "", [_unsigned(f"{f}: requested_by {change.requested_by} has not signed the request, so who "
                                    f"asked is not established; the requester signs it first ({sign})")]
    who = f"{f}: approvals[{entry.index}] (requester, {entry.by})"
    if reason:
        return None, "", [_unsigned(f"{who} does not verify: {reason}; the requester is whoever's key signed the "
                                    f"request ({sign})")]
    if entry.at > at:
        when = "is in the future" if finished is None else "is after the update started"
        return None, "", [Finding(APPROVAL, f"{who}.at {_fmt(entry.at)} {when} ({_fmt(at)}); the request is signed "
                                            "before it is approved and run")]
    return entry, key, []


def _not_by_requester_key(change: ChangeRequest, approvals: tuple[Approval, ...], key_of: dict[int, str],
                          asked: Optional[Approval], asked_key: str) -> tuple[tuple[Approval, ...], list[Finding]]:
    """Approvals signed by the key that signed as requester count for nothing, whatever address
    they carry: one key is one person, and that person asked for the change."""
    if asked is None or not asked_key:
        return approvals, []
    kept, out = [], []
    for a in approvals:
        if key_of.get(a.index, "") == asked_key:
            out.append(Finding(APPROVAL, f"{change.file}: approvals[{a.index}] ({a.role}, {a.by}) is signed by the "
                                         f"requester's key ({asked_key}, which signed approvals[{asked.index}] as "
                                         f"{asked.by}): the requester approves nothing, so it does not count"))
        else:
            kept.append(a)
    return tuple(kept), out


def _signed(change: ChangeRequest, signatures: Optional[Sequence[str]]) -> tuple[Approval, ...]:
    if signatures is None:
        return change.approvals
    return tuple(a for a, reason in zip(change.approvals, signatures) if not reason)


def _counted(change: ChangeRequest, at: dt.datetime, signed: tuple[Approval, ...]) -> tuple[Approval, ...]:
    """Nobody approves their own change, and an approval dated after the update began is not one."""
    requester = change.requested_by.strip().casefold()
    return tuple(a for a in signed if a.by.strip().casefold() != requester and a.at <= at)


def _one_per_key(approvals: tuple[Approval, ...], key_of: dict[int, str], file: str
                 ) -> tuple[tuple[Approval, ...], list[Finding]]:
    """Approvals whose key already signed an approval under another address count once."""
    first: dict[str, Approval] = {}
    kept, findings = [], []
    for a in approvals:
        key = key_of.get(a.index, "")
        other = first.get(key) if key else None
        if other is not None and other.by.casefold() != a.by.casefold():
            findings.append(Finding(APPROVAL, f"{file}: approvals[{a.index}] ({a.role}, {a.by}) is signed by the key that "
                                              f"signed approvals[{other.index}] as {other.by} ({key}): one key is one "
                                              "person, so it does not count"))
            continue
        if key:
            first.setdefault(key, a)
        kept.append(a)
    return tuple(kept), findings


def _coverage(change: ChangeRequest, stack: str) -> list[Finding]:
    if stack in change.stacks:
        return []
    return [Finding(STACKS, f"{change.file}: stacks {list(change.stacks)} does not include {stack}")]


def _pending(message: str) -> Finding:
    """An approval still to be given or signed: the preview says what the update will need."""
    return Finding(APPROVAL, message, True, f"{message}; the update will be blocked until it is given "
                                            "(platformctl change approve)")


def _unsigned(message: str) -> Finding:
    """The requester's signature still to be made (the message names the command)."""
    return Finding(APPROVAL, message, True, f"{message}; the update will be blocked until the requester signs")


def _approval(change: ChangeRequest, counted: tuple[Approval, ...], at: dt.datetime,
              finished: Optional[dt.datetime], signatures: Optional[Sequence[str]],
              key_of: Optional[dict[int, str]] = None) -> list[Finding]:
    f = change.file
    requester = change.requested_by.strip().casefold()
    out: list[Finding] = []
    for a in change.approvals:
        if a.by.strip().casefold() == requester:
            out.append(Finding(APPROVAL, f"{f}: approvals[{a.index}] is by the requester {change.requested_by}, "
                                         "who approves nothing; remove it"))
        elif finished is None and a.at > at:
            # Judged now: a date after now was not written when the approval was given.
            out.append(Finding(APPROVAL, f"{f}: approvals[{a.index}].at {_fmt(a.at)} is in the future "
                                         f"(now {_fmt(at)}); an approval is dated when it is given"))
    if signatures is not None:
        for a, reason in zip(change.approvals, signatures):
            if reason and a.by.strip().casefold() != requester:
                out.append(_pending(f"{f}: approvals[{a.index}] ({a.role}, {a.by}) does not count: {reason}"))
    independent = [a for a in change.approvals if a.by.strip().casefold() != requester]
    if not independent:
        out.append(_pending(f"{f}: approvals has no approval from anyone other than the requester "
                            f"{change.requested_by}"))
        return out
    if not counted:
        valid = [a for a in _signed(change, signatures) if a.by.strip().casefold() != requester]
        if valid and finished is not None:
            first = min(a.at for a in valid)
            out.append(Finding(APPROVAL, f"{f}: approved only after the update started at {_fmt(at)} "
                                         f"(first approval {_fmt(first)})"))
        elif not valid:
            out.append(_pending(f"{f}: approvals has no valid signed approval from anyone other than the "
                                f"requester {change.requested_by}"))
        return out
    if change.risk_level in HIGH_RISK and not (change.emergency and any(a.role == "cto" for a in counted)):
        line = [a for a in counted if a.role in LINE_ROLES]
        cab = [a for a in counted if a.role == "cab"]
        if not cab:
            out.append(_pending(f"{f}: risk_level {change.risk_level} needs a cab approval"))
        if not line:
            out.append(_pending(f"{f}: risk_level {change.risk_level} needs a team-lead or engineering-manager "
                                "approval"))
        key_of = key_of or {}

        def different(c: Approval, m: Approval) -> bool:
            keys = key_of.get(c.index, ""), key_of.get(m.index, "")
            return c.by.casefold() != m.by.casefold() and (not all(keys) or keys[0] != keys[1])
        if cab and line and not any(different(c, m) for c in cab for m in line):
            out.append(_pending(f"{f}: risk_level {change.risk_level} needs its cab and its team-lead/"
                                f"engineering-manager approvals from two different people (both are {cab[0].by})"))
    return out


def _rollback(change: ChangeRequest) -> list[Finding]:
    # The parser already refuses a request without one; a request built any other way is held to it too.
    if change.rollback_plan and all(step.strip() for step in change.rollback_plan):
        return []
    return [Finding(ROLLBACK, f"{change.file}: rollback_plan must list at least one concrete step")]


def _outside(change: ChangeRequest, at: dt.datetime, finished: Optional[dt.datetime],
             cto: list[Approval]) -> Finding:
    span = f"{_fmt(change.window_start)} - {_fmt(change.window_end)}"
    moment = f"now ({_fmt(at)})" if finished is None else f"the update ({_fmt(at)} - {_fmt(finished)})"
    line = f"{change.file}: {moment} is outside the window {span}"
    if change.emergency and not (cto and finished is None and at < change.window_start):
        if cto:
            fresh_until = max(a.at for a in cto) + EMERGENCY_VALIDITY
            line += (f"; the emergency change expired (its cto approval of {_fmt(max(a.at for a in cto))} was "
                     f"usable until {_fmt(fresh_until)}): file a new change request")
            return Finding(WINDOW, line)
        line += "; an emergency change outside its window needs a cto approval"
        # The approval is what is missing: a preview forecasts it, as it does any approval.
        return Finding(WINDOW, line, finished is None, f"{line}; the update will be blocked until a cto signs it "
                                                       "(platformctl change approve --role cto)")
    if finished is None and at < change.window_start:
        # Ahead of the window: what a preview forecasts; the update itself is blocked until then.
        return Finding(WINDOW, line, True, f"{change.file}: the update is blocked until "
                                           f"{_fmt(change.window_start)}, when its window opens (it closes at "
                                           f"{_fmt(change.window_end)})")
    return Finding(WINDOW, line)


def _fmt(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
