"""Change requests as files: `changes/<ID>.yaml`, one per change, with the runbook's CAB fields.

`load` never raises: a missing, unparsable or incomplete file comes back as problems, each one
line naming the file and the field, which the change-request gate reports as violations.

The file is read as strictly as an auditor reads it, because YAML's conveniences are ways to say
two things at once: a duplicate key silently replaces the first value (`risk_level: critical`
then `risk_level: low`), anchors and aliases repeat content the reader does not see (and expand
into gigabytes), an unquoted `2026-12-15T02:00:00Z` becomes whatever the parser's date rules make
of it (or a crash for `2026-13-45`). So: one document, no duplicate keys, no anchors, aliases,
merge keys or tags, times quoted, at most `MAX_BYTES`, and every refusal one line with the field.
The reading is the project's one strict reader (`strictread`, the same that reads stack files and
exports), capped tighter here, so the pack and the CLI refuse a file the same way.
"""
from __future__ import annotations

import datetime as dt
import errno
import json
import os
import pathlib
import re
import stat
from dataclasses import dataclass
from typing import Any, Optional

from . import escape, strictread
from .config import CHANGE_REQUEST_ID, CHANGES_DIR

CHANGE_TYPES = ("standard", "normal", "emergency")
RISK_LEVELS = ("low", "medium", "high", "critical")
ROLES = ("team-lead", "engineering-manager", "cto", "cab")
# The requester's own signed entry in `approvals`: who asked is the key that signed it, not the text
# of `requested_by` (a team lead once approved their own change by naming someone else there). It is
# no approval and no approvers.yaml role: anyone with a key in allowed_signers may request a change.
REQUESTER = "requester"
ENTRY_ROLES = ROLES + (REQUESTER,)
ID_PATTERN = CHANGE_REQUEST_ID  # the one shape of an ID, declared with the settings
# At most three digits each: `99999999999999h` is not a window, and would overflow timedelta.
DURATION_PATTERN = re.compile(r"^(?:(\d{1,3})h)?(?:(\d{1,4})m)?$")
MAX_WINDOW = dt.timedelta(hours=24)  # a window is a scheduled slot, not a standing permission
REQUIRED_TEXT = ("id", "title", "description", "service", "impact_analysis", "requested_by")
# A change request is a page of text; anything larger is a mistake or an attack on the parser.
MAX_BYTES = 64 * 1024
MAX_DEPTH = 8  # the deepest real field is approvals[i].by (3 levels)
KNOWN_FIELDS = frozenset(REQUIRED_TEXT + ("change_type", "risk_level", "rollback_plan", "approvals",
                                          "window", "stacks", "database_migration", "first_deploy"))
# The only spellings of a boolean: YAML 1.1 also reads yes/no/on/off/True as one, a reader does not.
BOOLEAN_SPELLINGS = {"true": True, "false": False}
APPROVAL_FIELDS = ("by", "role", "at", "signature", "commit", "config")
# What an approval binds (binding.py): the program commit and each stack's config digest.
COMMIT = re.compile(r"^[0-9a-f]{40}\Z")
CONFIG_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}\Z")
# An address a person reads mail at: local part, @, a dotted domain. `@` alone is not an approver.
EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
# What `platformctl change new` writes into the fields the requester must fill in: left as they are,
# the request says nothing, so the parser refuses them (`verify` once called such a request ready).
TEMPLATE_TEXT = {
    "description": "What changes, in one or two sentences",
    "impact_analysis": "Who or what notices, and for how long",
    "rollback_plan": "Replace this line with the first command or action that undoes the change",
}
# Rollback "plans" that say there is none.
PLACEHOLDER = re.compile(r"^\s*(?:n\.?\s*/?\s*a\.?|none|nil|null|nothing|no|-+|_+|\.+|\?+|tbd|tba|todo|"
                         r"wip|later|see above|revert|rollback|roll back|undo)\s*\.?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Approval:
    by: str
    role: str
    at: dt.datetime
    signature: str = ""  # armored `ssh-keygen -Y sign` output, namespace leadgen-change-approval
    index: int = 0  # position in `approvals`, for messages
    commit: str = ""  # the program commit the approver signed (binding.py)
    config: tuple[tuple[str, str], ...] = ()  # (stack, digest of its resolved config), sorted


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
    # The document without its approvals as sorted compact JSON: what every approval signs.
    canonical: bytes = b""
    # The update changes the database schema: the pipeline takes a backup before `pulumi up`.
    database_migration: bool = False
    # The stack's first update (no prior state, no SLO store yet): governance/first_deploy.py.
    first_deploy: bool = False
    # The requester's signed entry (role `requester` in `approvals`, kept out of `approvals`): the
    # gate takes the requester to be the key that verifiably signed it (compliance.py).
    request_signature: Optional[Approval] = None

    @property
    def window_end(self) -> dt.datetime:
        return self.window_start + self.window_duration

    @property
    def emergency(self) -> bool:
        return self.change_type == "emergency"


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
    return project_root / CHANGES_DIR / f"{change_id}.yaml"


def load(project_root: pathlib.Path, changes_dir: str, change_id: str) -> Loaded:
    """Read and check `changes/<change_id>.yaml` under the project root.

    `changes_dir` is kept for callers that still pass the old setting; anything but `changes` is
    refused, because a stack that chose the folder chose which requests its gates believe."""
    display = f"{CHANGES_DIR}/{change_id}.yaml"

    def refused(problem: str) -> Loaded:
        return Loaded(display, None, (problem,), change_id)
    if not change_id:
        return refused("leadgen:changeRequest is not set: name the change request (changes/<ID>.yaml) "
                       "this update carries")
    if not ID_PATTERN.match(change_id):
        # Checked before touching the file system, so the ID cannot point outside changes/.
        return refused(f"leadgen:changeRequest {change_id!r} is not a change request ID like CR-2026-014")
    if (changes_dir or CHANGES_DIR).strip().rstrip("/") != CHANGES_DIR:
        return refused(f"leadgen:governance.changesDir {changes_dir!r}: change requests are read only from "
                       f"the repository's {CHANGES_DIR}/ folder")
    try:
        data = read_request(project_root, change_id)
    except RequestUnreadable as err:
        return refused(f"{display}: {err}")
    return parse(data, display, change_id)


class RequestUnreadable(Exception):
    """Why a change request file was not read; one line, without the file name."""


def read_request(project_root: pathlib.Path, change_id: str) -> bytes:
    """The bytes of `changes/<change_id>.yaml` (see `read_in_repo`)."""
    return read_in_repo(project_root, CHANGES_DIR, f"{change_id}.yaml")


def read_in_repo(project_root: pathlib.Path, folder_name: str, file_name: str, max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of `<folder_name>/<file_name>`, read only if it is a regular file that really lives
    in that folder of the repository: no symlinked folder, no symlinked file, no hard link, no `..`.
    A symlink is refused rather than resolved, so no file outside the repository is ever opened
    (and none of its content can reach a report)."""
    root = pathlib.Path(os.path.realpath(project_root))
    folder = root if folder_name in ("", ".") else root / folder_name
    try:
        folder_stat = os.lstat(folder)
    except FileNotFoundError:
        raise RequestUnreadable("file not found") from None
    if stat.S_ISLNK(folder_stat.st_mode):
        raise RequestUnreadable(f"{folder_name}/ is a symbolic link; {folder_name}/ must live in the repository")
    if not stat.S_ISDIR(folder_stat.st_mode):
        raise RequestUnreadable(f"{folder_name}/ is not a folder")
    path = folder / file_name
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise RequestUnreadable("file not found") from None
    except OSError as err:
        if err.errno == errno.ELOOP or os.path.islink(path):
            raise RequestUnreadable(f"is a symbolic link; it must be a file in {folder_name}/") from None
        raise RequestUnreadable(f"cannot be read ({errno.errorcode.get(err.errno, 'error')})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise RequestUnreadable("is not a regular file")
    with os.fdopen(fd, "rb") as handle:
        if info.st_nlink > 1:
            # A hard link is another name for a file that may live anywhere on the same disk.
            raise RequestUnreadable("has other hard links; it must be a file of its own")
        # The folder and the file, resolved, must still be where they were named (a rename race).
        if os.path.realpath(path) != str(path):
            raise RequestUnreadable(f"does not resolve to itself inside {folder_name}/")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise RequestUnreadable(f"is larger than {max_bytes // 1024} KiB; it is meant to be a short document")
    return data


class _Refused(Exception):
    def __init__(self, where: str, why: str):
        super().__init__(f"{where} {why}" if where else why)


# The one strict reader's caps, tightened to a change request: a page of text, nested no deeper
# than a real field needs, and no aliases (so no anchors either: every value is written out once).
LIMITS = strictread.Limits(max_bytes=MAX_BYTES, max_depth=MAX_DEPTH, max_aliases=0, max_nodes=10_000,
                           max_int_digits=32)


def _field(path: str) -> str:
    return path or "the document"


def _refused(err: strictread.ReadError) -> _Refused:
    """The reader's one line without the file name, which every caller puts first itself."""
    text, prefix = str(err), escape.visible(f"{err.source}: ")
    return _Refused("", text[len(prefix):] if text.startswith(prefix) else text)


def _check(node: strictread.Node, booleans: dict[str, str]) -> None:
    """What the strict reader accepts in a stack file but an auditor does not in a request: an
    unquoted date or time (YAML's date rules decide what it means). Records how booleans were
    written, since YAML 1.1 also reads yes/no/on/off/True as one."""
    pending = [node]
    while pending:
        current = pending.pop()
        if current.kind == "scalar":
            if current.tag == "timestamp":
                raise _Refused(_field(current.path), f"is an unquoted date or time ({current.text}); "
                                                     f"quote it: \"{current.text}\"")
            if current.tag == "bool":
                booleans[current.path] = current.text
        else:
            children = current.value if current.kind == "list" else list(current.value.values())
            pending.extend(reversed(children))


def read_document(data: bytes | str, display: str) -> dict:
    """The document's fields as plain data, or `_Refused` naming the field and the cause."""
    return _read(data, display)[0]


def _read(data: bytes | str, display: str = "") -> tuple[dict, dict[str, str]]:
    """The fields, and how each boolean among them was spelled."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_BYTES:
        raise _Refused("", f"is larger than {MAX_BYTES // 1024} KiB; a change request is a short document")
    try:
        root = strictread.parse_yaml(data, name=display or "document", limits=LIMITS, expect=None)
    except strictread.ReadError as err:
        raise _refused(err) from None
    if root.kind != "map":
        raise _Refused("", "must be a mapping of change request fields")
    if not root.value:
        raise _Refused("", "is empty; it must be a mapping of change request fields")
    booleans: dict[str, str] = {}
    _check(root, booleans)
    return root.plain(), booleans


def _text(value: Any) -> Optional[str]:
    return value.strip() if isinstance(value, str) and value.strip() else None


def parse(text: bytes | str, display: str, expected_id: Optional[str] = None) -> Loaded:
    try:
        doc, booleans = _read(text, display)
    except _Refused as err:
        return Loaded(display, None, (f"{display}: {err}",), expected_id or "")

    problems: list[str] = []

    def bad(field: str, why: str) -> None:
        problems.append(f"{display}: {field} {why}")

    for key in sorted(set(doc) - KNOWN_FIELDS):
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
    for key in ("description", "impact_analysis"):
        if text_fields.get(key) == TEMPLATE_TEXT[key]:
            bad(key, "is still the template's placeholder text; say what this change does")
    if "id" in text_fields:
        if not ID_PATTERN.match(text_fields["id"]):
            bad("id", f"must look like CR-2026-014, got {text_fields['id']!r}")
        elif expected_id and text_fields["id"] != expected_id:
            bad("id", f"is {text_fields['id']!r} but the file is named for {expected_id!r}")
    if "requested_by" in text_fields and not EMAIL.match(text_fields["requested_by"]):
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
    else:
        for i, step in enumerate(rollback):
            if not isinstance(step, str) or not step.strip():
                bad(f"rollback_plan[{i}]", "must be a non-empty step")
            elif PLACEHOLDER.match(step) or step.strip() == TEMPLATE_TEXT["rollback_plan"]:
                bad(f"rollback_plan[{i}]", f"({step.strip()!r}) is a placeholder, not a concrete step")

    approvals = []
    request_signature: Optional[Approval] = None
    raw_approvals = doc.get("approvals", [])
    if raw_approvals is None:
        raw_approvals = []
    if not isinstance(raw_approvals, list):
        bad("approvals", "must be a list of {by, role, at, signature}")
        raw_approvals = []
    for i, entry in enumerate(raw_approvals):
        field = f"approvals[{i}]"
        if not isinstance(entry, dict):
            bad(field, "must be a mapping {by, role, at, signature}")
            continue
        ok = True
        for key in sorted(set(entry) - set(APPROVAL_FIELDS)):
            bad(f"{field}.{key}", f"is not an approval field ({', '.join(APPROVAL_FIELDS)})")
            ok = False
        by, role, signature = entry.get("by"), entry.get("role"), entry.get("signature", "")
        if role == REQUESTER and not EMAIL.match(text_fields.get("requested_by", "")):
            ok = False  # requested_by's own problem is the one line: the entry is held to it
        elif not isinstance(by, str) or not EMAIL.match(by.strip()):
            bad(f"{field}.by", f"must be the approver's e-mail address, got {by!r}")
            ok = False
        if role not in ENTRY_ROLES:
            bad(f"{field}.role", f"must be one of {', '.join(ENTRY_ROLES)}, got {role!r}")
            ok = False
        if not isinstance(signature, str):
            bad(f"{field}.signature", "must be the text ssh-keygen -Y sign wrote")
            ok = False
        try:
            at = parse_time(entry.get("at"))
        except ValueError as err:
            bad(f"{field}.at", str(err))
            ok = False
        commit, config = entry.get("commit", ""), entry.get("config", {})
        if commit != "" and (not isinstance(commit, str) or not COMMIT.match(commit)):
            bad(f"{field}.commit", f"must be the 40-hex program commit signed, got {commit!r}")
            ok = False
        if not isinstance(config, dict) or not all(
                isinstance(k, str) and isinstance(v, str) and CONFIG_DIGEST.match(v) for k, v in config.items()):
            bad(f"{field}.config", "must map each stack to the sha256: digest of its resolved config")
            ok = False
        if ok and role == REQUESTER:
            claimed = text_fields.get("requested_by", "")
            if request_signature is not None:
                bad(field, f"repeats approvals[{request_signature.index}] (the requester's signature); a request "
                           "has one requester")
            elif by.strip().casefold() != claimed.casefold():
                bad(f"{field}.by", f"{by.strip()} signs as requester but requested_by is {claimed or 'missing'}; "
                                   "the requester's entry is signed by requested_by")
            else:
                request_signature = Approval(by.strip(), role, at, signature.strip(), i, commit,
                                             tuple(sorted(config.items())))
            continue
        if ok:
            # Addresses are compared case-folded everywhere; the same person in the same role twice
            # is one approval written twice (the same signature appended 29 times once counted).
            same = next((a for a in approvals if a.by.casefold() == by.strip().casefold() and a.role == role), None)
            if same is not None:
                bad(field, f"repeats approvals[{same.index}] ({role} by {same.by}); one approval per person and role")
                continue
            approvals.append(Approval(by.strip(), role, at, signature.strip(), i, commit,
                                      tuple(sorted(config.items()))))

    window = doc.get("window")
    start = duration = None
    if not isinstance(window, dict):
        bad("window", "must be a mapping {start, duration}")
    else:
        for key in sorted(set(window) - {"start", "duration"}):
            bad(f"window.{key}", "is not a window field (start, duration)")
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
    if not isinstance(stacks, list) or not stacks or not all(isinstance(s, str) and s.strip() for s in stacks):
        bad("stacks", "must list the stacks this change may touch")
        stacks = []

    flags = {}
    for flag in ("database_migration", "first_deploy"):
        value = flags[flag] = doc.get(flag, False)
        if flag in doc and (not isinstance(value, bool) or booleans.get(flag) not in BOOLEAN_SPELLINGS):
            written = booleans.get(flag, repr(value))
            bad(flag, f"must be true or false, unquoted, got {written}")

    if problems:
        return Loaded(display, None, tuple(problems), expected_id or "")
    change = ChangeRequest(
        id=text_fields["id"], title=text_fields["title"], description=text_fields["description"],
        service=text_fields["service"], change_type=change_type, risk_level=risk,
        impact_analysis=text_fields["impact_analysis"], rollback_plan=tuple(s.strip() for s in rollback),
        requested_by=text_fields["requested_by"], approvals=tuple(approvals), window_start=start,
        window_duration=duration, stacks=tuple(s.strip() for s in stacks), file=display,
        canonical=canonical(doc), database_migration=flags["database_migration"],
        first_deploy=flags["first_deploy"], request_signature=request_signature)
    return Loaded(display, change, (), expected_id or change.id)


def canonical(document: dict) -> bytes:
    """What an approval signs of the request: every field but `approvals`, as sorted compact JSON."""
    return json.dumps({k: v for k, v in document.items() if k != "approvals"}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False).encode("utf-8")
