"""Policy exemptions: a reviewed, dated exception to one policy for the resources a pattern names.

`policies/exemptions.yaml` holds a list under `exemptions:`; each entry has `policy` (exact policy
name), `urn` (an fnmatch pattern over URNs), `reason`, `ticket` and `expires` (YYYY-MM-DD, the last
day it applies). Preview and audit drop the violations an exemption in force covers, reports list
the exemptions in force, and an expired exemption becomes a finding of its own, so an exception
can never outlive its review date silently.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
import pathlib
from typing import Any, Iterable, Sequence

import yaml

from platformctl.pack import EXEMPTIONS as DEFAULT_PATH

EXPIRED_POLICY = "governance-exemption-expired"
FIELDS = ("policy", "urn", "reason", "ticket", "expires")


class ExemptionError(Exception):
    """An exemptions file that cannot be trusted; str() is one line naming the file and entry."""


@dataclasses.dataclass(frozen=True)
class Exemption:
    policy: str
    urn: str
    reason: str
    ticket: str
    expires: dt.date

    def covers(self, violation: Any) -> bool:
        return violation.policy == self.policy and fnmatch.fnmatchcase(violation.urn or "", self.urn)

    def expired(self, today: dt.date) -> bool:
        # `expires` is the last day the exemption applies.
        return today > self.expires

    def as_dict(self) -> dict:
        return {"policy": self.policy, "urn": self.urn, "reason": self.reason, "ticket": self.ticket,
                "expires": self.expires.isoformat()}


@dataclasses.dataclass(frozen=True)
class Finding:
    """A finding platformctl raises itself; the same fields as the policy client's Violation."""

    policy: str
    level: str  # mandatory | advisory
    urn: str
    message: str
    severity: str = "medium"


def load(path: str | pathlib.Path = DEFAULT_PATH) -> list[Exemption]:
    """Reads and validates every entry; a missing file means no exemptions."""
    path = pathlib.Path(path)
    if not path.exists():
        return []
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        cause = str(exc).splitlines()[0]
        raise ExemptionError(f"{path}: not valid YAML ({cause})") from None
    if document is None:
        return []
    if not isinstance(document, dict) or not isinstance(document.get("exemptions", []), list):
        raise ExemptionError(f'{path}: expected a mapping with an "exemptions" list')
    entries = document.get("exemptions") or []
    return [_parse(path, index, entry) for index, entry in enumerate(entries, start=1)]


def _parse(path: pathlib.Path, index: int, entry: Any) -> Exemption:
    where = f"{path}: exemption #{index}"
    if not isinstance(entry, dict):
        raise ExemptionError(f"{where} is not a mapping")
    if "policy" in entry:
        where += f" ({entry['policy']})"
    unknown = sorted(set(entry) - set(FIELDS))
    if unknown:
        raise ExemptionError(f'{where}: unknown field "{unknown[0]}" (expected {", ".join(FIELDS)})')
    for name in FIELDS:
        value = entry.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ExemptionError(f'{where}: "{name}" is required')
    expires = entry["expires"]
    if isinstance(expires, str):
        try:
            expires = dt.date.fromisoformat(expires)
        except ValueError:
            raise ExemptionError(f'{where}: "expires" ({expires!r}) must be a date YYYY-MM-DD') from None
    if isinstance(expires, dt.datetime) or not isinstance(expires, dt.date):
        raise ExemptionError(f'{where}: "expires" ({expires!r}) must be a date YYYY-MM-DD')
    urn = str(entry["urn"])
    if not (urn.startswith("urn:pulumi:") or urn.startswith("*")):
        raise ExemptionError(f'{where}: "urn" ({urn!r}) must be a URN pattern starting urn:pulumi:')
    return Exemption(policy=str(entry["policy"]), urn=urn, reason=str(entry["reason"]),
                     ticket=str(entry["ticket"]), expires=expires)


def in_force(exemptions: Iterable[Exemption], today: dt.date) -> list[Exemption]:
    return [e for e in exemptions if not e.expired(today)]


def apply(violations: Sequence[Any], exemptions: Sequence[Exemption], today: dt.date
          ) -> tuple[list[Any], list[tuple[Any, Exemption]], list[Finding]]:
    """Splits violations into (kept, exempted with the exemption that covers each, expired findings).

    An expired exemption covers nothing: its violations stay in `kept` at their own level. It
    is also reported as an advisory finding (advisory because the violation it used to hide is
    already back at its own level; counting it mandatory twice would say nothing new).
    """
    active = in_force(exemptions, today)
    kept: list[Any] = []
    exempted: list[tuple[Any, Exemption]] = []
    for violation in violations:
        cover = next((e for e in active if e.covers(violation)), None)
        if cover is None:
            kept.append(violation)
        else:
            exempted.append((violation, cover))
    findings = [
        Finding(policy=EXPIRED_POLICY, level="advisory", urn=e.urn, severity="medium",
                message=(f"exemption from {e.policy} ({e.ticket}) expired on {e.expires.isoformat()}: "
                         "fix the resources or renew it with a new review"))
        for e in exemptions if e.expired(today)
    ]
    return kept, exempted, findings
