"""Change requests as files: `changes/<ID>.yaml`, one per change, with the runbook's CAB fields.

`load` never raises: a missing, unparsable or incomplete file comes back as problems, each one
line naming the file and the field, which the change-request gate reports as violations.
"""
from __future__ import annotations

import datetime as dt
import pathlib
import re
from dataclasses import dataclass
from typing import Any, Optional

import yaml

from .config import CHANGE_REQUEST_ID

CHANGE_TYPES = ("standard", "normal", "emergency")
RISK_LEVELS = ("low", "medium", "high", "critical")
ROLES = ("team-lead", "engineering-manager", "cto", "cab")
ID_PATTERN = CHANGE_REQUEST_ID  # the one shape of an ID, declared with the settings
DURATION_PATTERN = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?$")
MAX_WINDOW = dt.timedelta(hours=24)  # a window is a scheduled slot, not a standing permission
REQUIRED_TEXT = ("id", "title", "description", "service", "impact_analysis", "requested_by")
KNOWN_FIELDS = frozenset(REQUIRED_TEXT + ("change_type", "risk_level", "rollback_plan", "approvals",
                                          "window", "stacks"))


@dataclass(frozen=True)
class Approval:
    by: str
    role: str
    at: dt.datetime


@dataclass(frozen=True)
class ChangeRequest:
    id: str
    title: str
    description: str
    service: str
    change_type: str
    risk_level: str
    impact_analysis: str
    rollback_plan: tuple[str, ...]
    requested_by: str
    approvals: tuple[Approval, ...]
    window_start: dt.datetime
    window_duration: dt.timedelta
    stacks: tuple[str, ...]
    file: str

    @property
    def window_end(self) -> dt.datetime:
        return self.window_start + self.window_duration


@dataclass(frozen=True)
class Loaded:
    """The outcome of reading one change request: `change` when usable, else `problems`."""
    file: str
    change: Optional[ChangeRequest]
    problems: tuple[str, ...]
    change_id: str = ""  # the ID asked for; "" when the update named none


def parse_duration(text: Any) -> dt.timedelta:
    """`1h`, `30m`, `1h30m`; anything else raises ValueError with the reason."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"must be a duration such as 1h or 30m, got {text!r}")
    match = DURATION_PATTERN.match(text.strip())
    if not match or not any(match.groups()):
        raise ValueError(f"must be a duration such as 1h or 30m, got {text!r}")
    hours, minutes = (int(g or 0) for g in match.groups())
    duration = dt.timedelta(hours=hours, minutes=minutes)
    if duration <= dt.timedelta(0):
        raise ValueError(f"must be longer than zero, got {text!r}")
    if duration > MAX_WINDOW:
        raise ValueError(f"must be at most 24h, got {text!r}")
    return duration


def parse_time(value: Any) -> dt.datetime:
    """An ISO 8601 instant with a time zone (YAML gives datetimes; quoted strings are parsed)."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"must be an ISO 8601 time such as 2026-12-15T02:00:00Z, got {value!r}") from None
    if not isinstance(value, dt.datetime):
        raise ValueError(f"must be an ISO 8601 time such as 2026-12-15T02:00:00Z, got {value!r}")
    if value.tzinfo is None:
        raise ValueError(f"must include a time zone (e.g. Z), got {value.isoformat()}")
    return value


def path_for(project_root: pathlib.Path, changes_dir: str, change_id: str) -> pathlib.Path:
    return project_root / changes_dir / f"{change_id}.yaml"


def load(project_root: pathlib.Path, changes_dir: str, change_id: str) -> Loaded:
    """Read and check `<changes_dir>/<change_id>.yaml` under the project root."""
    display = f"{changes_dir.rstrip('/')}/{change_id}.yaml"

    def refused(problem: str) -> Loaded:
        return Loaded(display, None, (problem,), change_id)
    if not change_id:
        return refused("leadgen:changeRequest is not set: name the change request (changes/<ID>.yaml) "
                       "this update carries")
    if not ID_PATTERN.match(change_id):
        # Checked before touching the file system, so the ID cannot point outside changes/.
        return refused(f"leadgen:changeRequest {change_id!r} is not a change request ID like CR-2026-014")
    path = path_for(project_root, changes_dir, change_id)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return refused(f"{display}: file not found")
    except (OSError, UnicodeDecodeError) as err:
        return refused(f"{display}: cannot be read ({err.__class__.__name__})")
    return parse(text, display, change_id)


def parse(text: str, display: str, expected_id: Optional[str] = None) -> Loaded:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        return Loaded(display, None, (f"{display}: not valid YAML{where}",), expected_id or "")
    if not isinstance(doc, dict):
        return Loaded(display, None, (f"{display}: must be a mapping of change request fields",), expected_id or "")

    problems: list[str] = []

    def bad(field: str, why: str) -> None:
        problems.append(f"{display}: {field} {why}")

    for key in sorted(set(map(str, doc)) - KNOWN_FIELDS):
        bad(key, "is not a change request field")
    text_fields = {}
    for key in REQUIRED_TEXT:
        value = doc.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            bad(key, "is missing or empty")
        elif not isinstance(value, str):
            bad(key, f"must be text, got {value!r}")
        else:
            text_fields[key] = value.strip()
    if "id" in text_fields:
        if not ID_PATTERN.match(text_fields["id"]):
            bad("id", f"must look like CR-2026-014, got {text_fields['id']!r}")
        elif expected_id and text_fields["id"] != expected_id:
            bad("id", f"is {text_fields['id']!r} but the file is named for {expected_id!r}")
    if "requested_by" in text_fields and "@" not in text_fields["requested_by"]:
        bad("requested_by", f"must be an e-mail address, got {text_fields['requested_by']!r}")

    change_type = doc.get("change_type")
    if change_type not in CHANGE_TYPES:
        bad("change_type", f"must be one of {', '.join(CHANGE_TYPES)}, got {change_type!r}")
    risk = doc.get("risk_level")
    if risk not in RISK_LEVELS:
        bad("risk_level", f"must be one of {', '.join(RISK_LEVELS)}, got {risk!r}")

    rollback = doc.get("rollback_plan")
    if isinstance(rollback, str):
        rollback = [rollback]
    if not isinstance(rollback, list) or not rollback:
        bad("rollback_plan", "must list at least one concrete step")
        rollback = []
    elif not all(isinstance(step, str) and step.strip() for step in rollback):
        bad("rollback_plan", "steps must be non-empty text")

    approvals = []
    raw_approvals = doc.get("approvals", [])
    if raw_approvals is None:
        raw_approvals = []
    if not isinstance(raw_approvals, list):
        bad("approvals", "must be a list of {by, role, at}")
        raw_approvals = []
    for i, entry in enumerate(raw_approvals):
        field = f"approvals[{i}]"
        if not isinstance(entry, dict):
            bad(field, "must be a mapping {by, role, at}")
            continue
        by, role = entry.get("by"), entry.get("role")
        ok = True
        if not isinstance(by, str) or "@" not in by:
            bad(f"{field}.by", f"must be the approver's e-mail address, got {by!r}")
            ok = False
        if role not in ROLES:
            bad(f"{field}.role", f"must be one of {', '.join(ROLES)}, got {role!r}")
            ok = False
        try:
            at = parse_time(entry.get("at"))
        except ValueError as err:
            bad(f"{field}.at", str(err))
            ok = False
        if ok:
            approvals.append(Approval(by.strip(), role, at))

    window = doc.get("window")
    start = duration = None
    if not isinstance(window, dict):
        bad("window", "must be a mapping {start, duration}")
    else:
        if window.get("start") is None:
            bad("window.start", "is missing")
        else:
            try:
                start = parse_time(window["start"])
            except ValueError as err:
                bad("window.start", str(err))
        if window.get("duration") is None:
            bad("window.duration", "is missing")
        else:
            try:
                duration = parse_duration(window["duration"])
            except ValueError as err:
                bad("window.duration", str(err))

    stacks = doc.get("stacks")
    if isinstance(stacks, str):
        stacks = [stacks]
    if not isinstance(stacks, list) or not stacks or not all(isinstance(s, str) and s for s in stacks):
        bad("stacks", "must list the stacks this change may touch")
        stacks = []

    if problems:
        return Loaded(display, None, tuple(problems), expected_id or "")
    change = ChangeRequest(
        id=text_fields["id"], title=text_fields["title"], description=text_fields["description"],
        service=text_fields["service"], change_type=change_type, risk_level=risk,
        impact_analysis=text_fields["impact_analysis"], rollback_plan=tuple(s.strip() for s in rollback),
        requested_by=text_fields["requested_by"], approvals=tuple(approvals), window_start=start,
        window_duration=duration, stacks=tuple(stacks), file=display)
    return Loaded(display, change, (), expected_id or change.id)
