"""Change-management evidence from `pulumi stack history --json`.

For every update in the audited period it answers the auditor's questions from the runbook's
`check-change-compliance --require-approval`: which change request it ran under, who requested it
(the verified signer of its `requester` entry, address and key, or "unverified"), whether someone
other than the requester approved it before it started, whether it carried a rollback plan, and
whether it ran inside the request's window. The request is read with the pack's own parser and
judged by the pack's own rules (`governance.changes`, `governance.compliance`), the ones its gates
apply before an update, so a stack the gate lets through is one the audit finds compliant.

With a repository (`--repo`), each update is judged against the change request and the approver
directory as they stood at the commit it ran from (`git.head` in the update's environment, which
the Pulumi CLI records), not as they stand today: a request edited after the fact, or an approver
added later, changes nothing in the evidence. Every update in the period is kept, compliant or
not, so the CSV is the period's audit trail.
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import pathlib
import re
import shutil
import subprocess
import tempfile
from typing import Any, Iterable, Optional

from platformctl.exemptions import Finding
from platformctl.pack import approvers, capped, changes, compliance
from platformctl.project import ROOT
from platformctl.reports.model import ChangeEvidence

# Kinds of history entry that change what runs in the account. Every kind but these is counted, so a
# kind this tool does not know yet (`resource-import` was once silently dropped) is judged, not skipped.
NOT_CHANGING_KINDS = ("preview", "refresh", "rename")
CHANGING_KINDS = ("update", "destroy", "import", "resource-import")
CHANGE_KEY = "leadgen:changeRequest"
CHANGES_DIR_KEY = "leadgen:governance.changesDir"
EVIDENCE_POLICY = "governance-change-evidence"
# The pack's ID pattern, unanchored, to find "CR-2026-014: scale api" in an update message.
_ID_IN_TEXT = re.compile(r"\b" + changes.ID_PATTERN.pattern.removeprefix("^").removesuffix("\\Z").removesuffix("$")
                         + r"\b")
MAX_HISTORY_BYTES = 256 * 2**20  # a history is small; refuse to read a mistaken huge file whole
_MAX_DEPTH = 64  # a history entry nests five levels; json's parser recurses
COMMIT_KEY = "git.head"  # where `pulumi up` records the commit it ran from (its update environment)
_COMMIT = re.compile(r"[0-9a-f]{7,64}")
_GIT_TIMEOUT_S = 30


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
        # Capped while reading: /dev/zero or a FIFO report a size of 0 to stat().
        data = capped.read_capped(path, MAX_HISTORY_BYTES)
    except capped.TooLarge:
        raise HistoryError(f"{path}: larger than {MAX_HISTORY_BYTES // 2**20} MB, not a stack history") from None
    except OSError as exc:
        raise HistoryError(f"{path}: {exc.strerror or exc}") from None
    if capped.json_depth(data) > _MAX_DEPTH:
        raise HistoryError(f"{path}: nested deeper than {_MAX_DEPTH} levels, not a stack history")
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise HistoryError(f"{path}: not a `pulumi stack history --json` file (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise HistoryError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except (ValueError, RecursionError) as exc:  # an integer over Python's digit limit, say
        raise HistoryError(f"{path}: not valid JSON ({str(exc)[:100]})") from None
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


@dataclasses.dataclass(frozen=True)
class Judged:
    """One update of the period and how it was judged: the evidence every report shows, plus what
    the audit trail adds (the stack, the window, the approvers' roles, where the request was read)."""

    evidence: ChangeEvidence
    stack: str
    window: str = ""  # "start - end" of the request's window, "" without a valid request
    approvals: tuple[tuple[str, str], ...] = ()  # (by, role) of each approval that counted
    commit: str = ""
    read_from: str = ""  # "commit <sha>" or "working tree"
    unchecked: tuple[str, ...] = ()  # what could not be re-checked for this update
    emergency: str = ""  # "" | "emergency change" | "emergency change, ran outside its window on a cto approval"

    @property
    def verdict(self) -> str:
        verdict = "compliant" if self.evidence.compliant else "non-compliant"
        # An emergency is named in the trail whatever its verdict: auditors sample every one.
        return f"{verdict} ({self.emergency})" if self.emergency else verdict


class Snapshots:
    """The change requests and approver directory as each commit had them, read with `git show`
    into one small folder per commit laid out like the repository (so the pack's own readers,
    with their checks on what a file may be, read them unchanged)."""

    def __init__(self, repo: pathlib.Path):
        self.repo = pathlib.Path(repo)
        self._root = pathlib.Path(tempfile.mkdtemp(prefix="platformctl-history-"))
        self._made: dict[str, pathlib.Path] = {}
        if not (self.repo / ".git").exists() and self._git("rev-parse", "--git-dir") is None:
            raise HistoryError(f"--repo {self.repo}: not a git repository")

    def close(self) -> None:
        shutil.rmtree(self._root, ignore_errors=True)

    def _git(self, *args: str) -> Optional[bytes]:
        try:
            done = subprocess.run(["git", "-C", str(self.repo), *args], capture_output=True, timeout=_GIT_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout if done.returncode == 0 else None

    def at(self, commit: str, change_id: str) -> tuple[Optional[pathlib.Path], str]:
        """(a project root holding the request and approvers at `commit`, or None; why not)."""
        if not _COMMIT.fullmatch(commit):
            return None, f"the update's {COMMIT_KEY} {commit!r} is not a commit id"
        root = self._made.get(commit)
        if root is None:
            if self._git("cat-file", "-e", f"{commit}^{{commit}}") is None:
                return None, f"commit {commit[:12]} (the update's {COMMIT_KEY}) is not in {self.repo}"
            root = self._root / commit
            for folder, name in ((approvers.FOLDER, approvers.APPROVERS), (approvers.FOLDER, approvers.SIGNERS)):
                data = self._git("show", f"{commit}:{folder}/{name}")
                if data is not None:
                    (root / folder).mkdir(parents=True, exist_ok=True)
                    (root / folder / name).write_bytes(data)
            for name in (f"{gate_settings_module().FOLDER}/{gate_settings_module().FILE}", "Pulumi.yaml"):
                self._copy(commit, name, root)
            listing = self._git("ls-tree", "--name-only", f"{commit}:attestations")
            for name in (listing or b"").decode("utf-8", "replace").splitlines():
                if name.endswith(".yaml") and "/" not in name:
                    self._copy(commit, f"attestations/{name}", root)
            (root / "changes").mkdir(parents=True, exist_ok=True)
            self._made[commit] = root
        target = root / "changes" / f"{change_id}.yaml"
        if changes.ID_PATTERN.match(change_id) and not target.exists():
            data = self._git("show", f"{commit}:changes/{change_id}.yaml")
            if data is None:
                return None, f"changes/{change_id}.yaml: not in the repository at commit {commit[:12]}, the update's {COMMIT_KEY}"
            target.write_bytes(data)
        return root, ""


    def _copy(self, commit: str, name: str, root: pathlib.Path) -> None:
        data = self._git("show", f"{commit}:{name}")
        if data is not None:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)

    def stack_file(self, commit: str, stack: str) -> None:
        """Pulumi.<stack>.yaml at `commit` into its snapshot (read for the config an approval signed)."""
        root = self._made.get(commit)
        if root is not None and re.fullmatch(r"[A-Za-z0-9._-]+", stack):
            self._copy(commit, f"Pulumi.{stack}.yaml", root)


def gate_settings_module():
    from platformctl.pack import gate_settings
    return gate_settings


def evidence(entry: dict, stack: str, project_root: pathlib.Path,
             snapshots: Optional[Snapshots] = None) -> ChangeEvidence:
    return judge_entry(entry, stack, project_root, snapshots).evidence


def judge_entry(entry: dict, stack: str, project_root: pathlib.Path,
                snapshots: Optional[Snapshots] = None) -> Judged:
    start, end = entry["_start"], entry["_end"]
    cr_id, _ = change_request_of(entry)
    changes_dir = _config_value(entry, CHANGES_DIR_KEY) or "changes"
    environment = entry.get("environment")
    commit = str((environment if isinstance(environment, dict) else {}).get(COMMIT_KEY) or "").strip()
    base = dict(version=entry.get("version"), kind=str(entry.get("kind")), start=start, end=end,
                result=str(entry.get("result") or ""), change_request=cr_id)
    read_from = "working tree"
    if not cr_id:
        return Judged(ChangeEvidence(**base, problems=("no change request: the update named none "
                                                       "(leadgen:changeRequest unset, none in the message)",)),
                      stack, commit=commit)
    if snapshots is not None:
        if not commit:
            return Judged(ChangeEvidence(**base, problems=(
                f"the update records no {COMMIT_KEY}, so the change request in force when it ran cannot be read",)),
                stack, read_from="")
        project_root, why = snapshots.at(commit, cr_id)
        if project_root is None:
            return Judged(ChangeEvidence(**base, problems=(why,)), stack, commit=commit)
        read_from = f"commit {commit[:12]}"
    loaded = changes.load(project_root, changes_dir, cr_id)
    if loaded.change is None:
        return Judged(ChangeEvidence(**base, problems=tuple(loaded.problems)), stack, commit=commit, read_from=read_from)
    # Every changing update of the audited stack is held to the rules, protected or not, and judged
    # as it ran: approvals by its start, the window over its whole run, each approval's signature
    # checked against the approvers and keys the repository lists, as the gate checks them.
    directory = approvers.load(project_root)
    signatures = approvers.check(loaded.change, directory)
    verdict = compliance.assess(loaded, stack=stack, protected=True, at=start, finished=end or start,
                                signatures=signatures, keys=approvers.fingerprints(loaded.change, directory),
                                requester=approvers.requester(loaded.change, directory))
    change = verdict.change
    counted = tuple(sorted({(a.by, a.role) for a in verdict.approvals}))
    problems = list(verdict.messages())
    unchecked: list[str] = []
    if snapshots is not None:
        extra, unchecked = _rechecked(entry, stack, project_root, snapshots, commit, start, verdict)
        problems += extra
    else:
        unchecked.append("without --repo, nothing is re-checked at the update's commit (approval binding, "
                         "promotion, gate settings, the checkout)")
    # Who asked is the key that signed the request, never the text of `requested_by`: that text once
    # named someone else while the team lead approved their own change, and the trail stated it as fact.
    return Judged(ChangeEvidence(**base, requester=verdict.requester_shown,
                                 approver=", ".join(f"{by} ({role})" for by, role in counted),
                                 independently_approved=bool(verdict.approvals),
                                 rollback_plan=not verdict.messages(compliance.ROLLBACK),
                                 in_window=verdict.in_window,
                                 problems=tuple(problems)),
                  stack, window=f"{_iso(change.window_start)} - {_iso(change.window_end)}", approvals=counted,
                  commit=commit, read_from=read_from, unchecked=tuple(unchecked),
                  emergency=("emergency change, ran outside its window on a cto approval" if verdict.emergency_override
                             else "emergency change" if change.emergency else ""))


def _rechecked(entry: dict, stack: str, snapshot: pathlib.Path, snapshots: Snapshots, commit: str,
               start: dt.datetime, verdict) -> tuple[list[str], list[str]]:
    """What the gates would also have said of this update at its commit (history_checks)."""
    from platformctl import history_checks
    from platformctl.pack import config as gconfig
    from platformctl.project import pack_config

    environment = entry.get("environment") if isinstance(entry.get("environment"), dict) else {}
    problems, unchecked = history_checks.checkout(environment)
    recorded = {k: _config_value(entry, k) for k in (entry.get("config") or {})}
    settings, lines = history_checks.recorded_settings(recorded, stack, snapshot)
    problems += lines
    snapshots.stack_file(commit, stack)
    try:
        resolved = pack_config(stack, snapshot)
    except Exception:  # noqa: BLE001 a stack file that does not read: the binding check says it does not match
        resolved = None
    problems += history_checks.rechecks(repo=snapshots.repo, snapshot=snapshot, commit=commit, stack=stack,
                                        start=start, verdict=verdict, resolved_config=resolved,
                                        protected=gconfig.is_protected(stack, settings))
    return problems, unchecked


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def in_period(entries: Iterable[dict], since: dt.date, until: dt.date) -> list[dict]:
    """Changing updates whose start falls in [since, until], both days inclusive, UTC."""
    chosen = [e for e in entries if e["kind"] not in NOT_CHANGING_KINDS
              and since <= e["_start"].astimezone(dt.timezone.utc).date() <= until]
    return sorted(chosen, key=lambda e: e["_start"])


def judge(path: str | pathlib.Path, stack: str, since: dt.date, until: dt.date,
          project_root: pathlib.Path = ROOT, repo: Optional[pathlib.Path] = None) -> list[Judged]:
    """Every changing update of the period, judged; with `repo`, against the requests at its commit."""
    entries = in_period(read(path), since, until)
    snapshots = Snapshots(repo) if repo is not None else None
    try:
        return [judge_entry(e, stack, project_root, snapshots) for e in entries]
    finally:
        if snapshots is not None:
            snapshots.close()


def findings_of(judged: Iterable[Judged]) -> list[Finding]:
    """A mandatory finding per non-compliant update."""
    out = []
    for j in judged:
        c = j.evidence
        if c.compliant:
            continue
        out.append(Finding(policy=EVIDENCE_POLICY, level="mandatory", severity="high",
                           urn=f"update/{c.version if c.version is not None else c.start.isoformat()}",
                           message=f"{c.kind} at {c.start.isoformat()}"
                                   + (f" under {c.change_request}" if c.change_request else "")
                                   + ": " + "; ".join(c.problems)))
    return out


def audit(path: str | pathlib.Path, stack: str, since: dt.date, until: dt.date,
          project_root: pathlib.Path = ROOT, repo: Optional[pathlib.Path] = None
          ) -> tuple[list[ChangeEvidence], list[Finding]]:
    """Evidence for each update in the period, and a mandatory finding per non-compliant one."""
    judged = judge(path, stack, since, until, project_root, repo)
    return [j.evidence for j in judged], findings_of(judged)


TRAIL_COLUMNS = ("record", "time", "end", "stack", "version", "kind", "result", "change_request", "read_from",
                 "requester", "approvers", "window", "verdict", "reason", "policy", "level", "severity", "urn")


def trail_csv(judged: Iterable[Judged], findings: Iterable[Any], stack: str, cell=str) -> str:
    """The audit trail: one row per update of the period (compliant ones too) with its time,
    stack, change request, requester, approvers and their roles, window, verdict and reason; then
    one row per finding on the standing state. `cell` makes a value safe for a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TRAIL_COLUMNS)
    for j in judged:
        c = j.evidence
        writer.writerow(["update", c.start.isoformat(), c.end.isoformat() if c.end else "", cell(j.stack),
                         "" if c.version is None else c.version, cell(c.kind), cell(c.result),
                         cell(c.change_request), cell(j.read_from), cell(c.requester),
                         cell("; ".join(f"{by} ({role})" for by, role in j.approvals)), cell(j.window), j.verdict,
                         cell("; ".join(c.problems)), EVIDENCE_POLICY if c.problems else "", "", "", ""])
    for v in findings:
        if getattr(v, "policy", "") == EVIDENCE_POLICY:
            continue  # already a row above, as its update
        writer.writerow(["finding", "", "", cell(stack), "", "", "", "", "", "", "", "", "open", cell(v.message),
                         cell(v.policy), cell(v.level), cell(str(getattr(v, "severity", "") or "")), cell(v.urn or "")])
    return buffer.getvalue()


def parse_day(text: str, flag: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise HistoryError(f"{flag} {text!r} is not a date YYYY-MM-DD") from None

