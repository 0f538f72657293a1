"""Reviewed exemptions, enforced inside the pack so the Pulumi CLI and platformctl agree.

`policies/exemptions.yaml` lists entries `{policy, urn, reason, ticket, expires}`: the violations of
`policy` on resources whose URN matches `urn` (an fnmatch pattern) are not reported until the end
of `expires` (a quoted date, "YYYY-MM-DD", the last day it applies). Before, only platformctl
applied them, so `pulumi up --policy-pack policies` blocked on what `platformctl preview` passed.
platformctl reads the file with this module too (it has no reader of its own) and keeps listing the
exemptions in force and the expired ones in its reports; an expired exemption covers nothing here,
so its violation is back at its own level.

The file ships inside the pack (a policy group publishes the folder); it is read strictly, and a
file the pack cannot read exempts nothing.

An exemption cannot switch the update gates off: entries for the gate and governance policies with
`urn: "*"` and `expires: "9999-12-31"` once gave 0 mandatory findings on an update with no change
request. So an entry is refused (with one line) when it names a policy of the `gate` or
`governance` group, when it runs more than `MAX_DAYS` past today (renewed through review, not
granted for good), or when it names no change request (`change_request: CR-2026-014`, the CAB
record that accepted the risk).
"""
from __future__ import annotations

import datetime as dt
import fnmatch
import functools
import os
import pathlib
from dataclasses import dataclass
from typing import Optional

from . import changes
from .config import CHANGE_REQUEST_ID

FILE = pathlib.Path(__file__).resolve().parent.parent / "exemptions.yaml"
FIELDS = ("policy", "urn", "reason", "ticket", "change_request", "expires")
MAX_DAYS = 90
# The policy groups whose findings no exemption may hide (catalog.GROUPS).
UNEXEMPTABLE_GROUPS = ("gate", "governance")
# How every problem ends in the pack, which carries on without the file; platformctl refuses the file.
NONE_APPLIES = "; no exemption applies"


@dataclass(frozen=True)
class Exemption:
    policy: str
    urn: str
    reason: str
    ticket: str
    expires: dt.date
    change_request: str = ""

    def covers(self, policy: str, urn: str, today: dt.date) -> bool:
        return not self.expired(today) and policy == self.policy and fnmatch.fnmatchcase(urn or "", self.urn)

    def expired(self, today: dt.date) -> bool:
        return today > self.expires  # `expires` is the last day it applies

    def as_dict(self) -> dict:
        return {"policy": self.policy, "urn": self.urn, "reason": self.reason, "ticket": self.ticket,
                "change_request": self.change_request, "expires": self.expires.isoformat()}


@dataclass(frozen=True)
class Exemptions:
    entries: tuple[Exemption, ...]
    problems: tuple[str, ...] = ()

    def covers(self, policy: str, urn: str, today: dt.date) -> Optional[Exemption]:
        return next((e for e in self.entries if e.covers(policy, urn, today)), None)


def load(path: pathlib.Path = FILE, today: Optional[dt.date] = None) -> Exemptions:
    from . import clock

    try:
        info = os.lstat(path)
        version = (info.st_ino, info.st_mtime_ns, info.st_size)
    except OSError:
        version = (-1,)
    return _load(str(path), version, today or clock.now().date())


def _unexemptable() -> frozenset[str]:
    from . import catalog  # the catalog imports the gates, which import this module

    return frozenset(s.name for s in catalog.SPECS if s.group in UNEXEMPTABLE_GROUPS)


@functools.lru_cache(maxsize=4)
def _load(path: str, version: tuple, today: dt.date) -> Exemptions:
    if version == (-1,):
        return Exemptions(())
    shown = pathlib.Path(path).name
    file = pathlib.Path(path)
    try:
        doc = changes.read_document(changes.read_in_repo(file.parent, ".", file.name), shown)
    except changes.RequestUnreadable as err:
        return Exemptions((), (f"{shown}: {err}{NONE_APPLIES}",))
    except changes._Refused as err:
        return Exemptions((), (f"{shown}: {err}{NONE_APPLIES}",))
    listed = doc.get("exemptions") or []
    if not isinstance(listed, list):
        return Exemptions((), (f"{shown}: exemptions must be a list{NONE_APPLIES}",))
    entries, problems = [], []
    for i, entry in enumerate(listed):
        # Numbered from 1 and named by its policy, as a reviewer counts entries in the file.
        where = f"{shown}: exemption #{i + 1}"
        if isinstance(entry, dict) and isinstance(entry.get("policy"), str):
            where += f" ({entry['policy'][:80]})"
        if not isinstance(entry, dict) or set(entry) != set(FIELDS):
            problems.append(f"{where} must have exactly {', '.join(FIELDS)}")
            continue
        if not all(isinstance(entry[k], str) and entry[k].strip() for k in FIELDS):
            problems.append(f"{where}: every field is text (quote the date: \"2027-05-31\")")
            continue
        try:
            expires = dt.date.fromisoformat(entry["expires"])
        except ValueError:
            problems.append(f"{where}: \"expires\" ({entry['expires'][:40]!r}) must be a date YYYY-MM-DD")
            continue
        if not (entry["urn"].startswith("urn:pulumi:") or entry["urn"].startswith("*")):
            problems.append(f"{where}: \"urn\" must be a URN pattern starting urn:pulumi:")
            continue
        if entry["policy"] in _unexemptable():
            problems.append(f"{where}: {entry['policy']} decides whether an update may run at all; no exemption "
                            "covers it (use an emergency change request instead)")
            continue
        if expires > today + dt.timedelta(days=MAX_DAYS):
            problems.append(f"{where}: \"expires\" {expires.isoformat()} is more than {MAX_DAYS} days ahead; an "
                            "exemption is renewed through review, never granted for good")
            continue
        if not CHANGE_REQUEST_ID.match(entry["change_request"].strip()):
            problems.append(f"{where}: \"change_request\" ({entry['change_request'][:40]!r}) must name the change "
                            "request that accepted the risk, like CR-2026-014")
            continue
        entries.append(Exemption(entry["policy"], entry["urn"], entry["reason"], entry["ticket"], expires,
                                 entry["change_request"].strip()))
    return Exemptions(tuple(entries), tuple(problems))
