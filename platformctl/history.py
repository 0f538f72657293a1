"""Change-management evidence from `pulumi stack history --json`.

For every update in the audited period it answers the auditor's questions from the runbook's
`check-change-compliance --require-approval`: which change request it ran under, whether someone
other than the requester approved it before it started, whether it carried a rollback plan, and
whether it ran inside the request's window. The request is read with the pack's own parser and
judged by the pack's own rules (`governance.changes`, `governance.compliance`), the ones its gates
apply before an update, so a stack the gate lets through is one the audit finds compliant.
"""
from __future__ import annotations

import datetime as dt
import json
import pathlib
import re
from typing import Any, Iterable

from platformctl.exemptions import Finding
from platformctl.pack import approvers, changes, compliance
from platformctl.project import ROOT
from platformctl.reports.model import ChangeEvidence

# Kinds of history entry that change what runs in the account; previews and refreshes do not.
CHANGING_KINDS = ("update", "destroy", "import")
CHANGE_KEY = "leadgen:changeRequest"
CHANGES_DIR_KEY = "leadgen:governance.changesDir"
EVIDENCE_POLICY = "governance-change-evidence"
# The pack's ID pattern, unanchored, to find "CR-2026-014: scale api" in an update message.
_ID_IN_TEXT = re.compile(r"\b" + changes.ID_PATTERN.pattern.strip("^$") + r"\b")
MAX_HISTORY_BYTES = 256 * 2**20  # a history is small; refuse to read a mistaken huge file whole


class HistoryError(Exception):
    """A history file that cannot be read; str() is one line naming the file and the entry."""


def parse_instant(value: Any) -> dt.datetime:
    """History times: RFC 3339 strings (`2026-03-01T02:10:00.000Z`) or Unix seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, dt.timezone.utc)
    if not isinstance(value, str) or not value.strip():
        raise ValueError("missing")
    parsed = dt.datetime.fromisoformat(value.strip())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def read(path: str | pathlib.Path) -> list[dict]:
    path = pathlib.Path(path)
    try:
        if path.stat().st_size > MAX_HISTORY_BYTES:
            raise HistoryError(f"{path}: larger than {MAX_HISTORY_BYTES // 2**20} MB, not a stack history")
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except OSError as exc:
        raise HistoryError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise HistoryError(f"{path}: not a `pulumi stack history --json` file (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise HistoryError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(document, list):
        raise HistoryError(f"{path}: expected the JSON list `pulumi stack history --json` prints")
    for index, entry in enumerate(document):
        if not isinstance(entry, dict):
            raise HistoryError(f"{path}: entry #{index} is not an object")
        label = f"entry #{index}" + (f" (version {entry['version']})" if "version" in entry else "")
        if not entry.get("kind"):
            raise HistoryError(f'{path}: {label} has no "kind"')
        try:
            entry["_start"] = parse_instant(entry.get("startTime"))
        except (ValueError, TypeError, OverflowError, OSError):
            raise HistoryError(f'{path}: {label} has no valid "startTime" (got {entry.get("startTime")!r})') from None
        end = entry.get("endTime")
        try:
            entry["_end"] = parse_instant(end) if end not in (None, "") else None
        except (ValueError, TypeError, OverflowError, OSError):
            raise HistoryError(f'{path}: {label} has an invalid "endTime" ({end!r})') from None
    return document


def _config_value(entry: dict, key: str) -> str:
    value = (entry.get("config") or {}).get(key)
    if isinstance(value, dict):  # configValueJSON: {"value": ..., "secret": ..., "object": ...}
        if value.get("secret"):
            return ""
        value = value.get("value")
    return value.strip() if isinstance(value, str) else ""


def change_request_of(entry: dict) -> tuple[str, str]:
    """(ID, where found): the stack config the update ran with, else the update message."""
    cr = _config_value(entry, CHANGE_KEY)
    if cr:
        return cr, "config"
    found = _ID_IN_TEXT.search(entry.get("message") or "")
    return (found.group(0), "message") if found else ("", "")


def evidence(entry: dict, stack: str, project_root: pathlib.Path) -> ChangeEvidence:
    start, end = entry["_start"], entry["_end"]
    cr_id, _ = change_request_of(entry)
    changes_dir = _config_value(entry, CHANGES_DIR_KEY) or "changes"
    base = dict(version=entry.get("version"), kind=str(entry.get("kind")), start=start, end=end,
                result=str(entry.get("result") or ""), change_request=cr_id)
    if not cr_id:
        return ChangeEvidence(**base, problems=("no change request: the update named none "
                                                "(leadgen:changeRequest unset, none in the message)",))
    loaded = changes.load(project_root, changes_dir, cr_id)
    if loaded.change is None:
        return ChangeEvidence(**base, problems=tuple(loaded.problems))
    # Every changing update of the audited stack is held to the rules, protected or not, and judged
    # as it ran: approvals by its start, the window over its whole run, each approval's signature
    # checked against the approvers and keys the repository lists, as the gate checks them.
    signatures = approvers.check(loaded.change, approvers.load(project_root))
    verdict = compliance.assess(loaded, stack=stack, protected=True, at=start, finished=end or start,
                                signatures=signatures)
    change = verdict.change
    return ChangeEvidence(**base, requester=change.requested_by,
                          approver=", ".join(sorted({a.by for a in verdict.approvals})),
                          independently_approved=bool(verdict.approvals),
                          rollback_plan=not verdict.messages(compliance.ROLLBACK),
                          in_window=verdict.in_window, problems=tuple(verdict.messages()))


def in_period(entries: Iterable[dict], since: dt.date, until: dt.date) -> list[dict]:
    """Changing updates whose start falls in [since, until], both days inclusive, UTC."""
    chosen = [e for e in entries if e["kind"] in CHANGING_KINDS
              and since <= e["_start"].astimezone(dt.timezone.utc).date() <= until]
    return sorted(chosen, key=lambda e: e["_start"])


def audit(path: str | pathlib.Path, stack: str, since: dt.date, until: dt.date,
          project_root: pathlib.Path = ROOT) -> tuple[list[ChangeEvidence], list[Finding]]:
    """Evidence for each update in the period, and a mandatory finding per non-compliant one."""
    entries = in_period(read(path), since, until)
    found = [evidence(e, stack, project_root) for e in entries]
    findings = [Finding(policy=EVIDENCE_POLICY, level="mandatory", severity="high",
                        urn=f"update/{c.version if c.version is not None else c.start.isoformat()}",
                        message=f"{c.kind} at {c.start.isoformat()}"
                                + (f" under {c.change_request}" if c.change_request else "")
                                + ": " + "; ".join(c.problems))
                for c in found if not c.compliant]
    return found, findings


def parse_day(text: str, flag: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise HistoryError(f"{flag} {text!r} is not a date YYYY-MM-DD") from None

