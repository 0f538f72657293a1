"""Policy exemptions in platformctl's reports: the pack's own file, read by the pack's own reader.

`policies/exemptions.yaml` is read and judged by `governance.exemptions`, the module the pack
applies inside every policy, so `pulumi up --policy-pack policies` and platformctl can never
disagree on what an entry says or whether it is in force. What platformctl adds is the reporting:
the violations an exemption in force covers are listed as exempted, the exemptions in force are
listed, and an expired exemption becomes a finding of its own, so an exception never outlives its
review date silently. Where the pack carries on without a file it cannot read (and exempts
nothing), platformctl refuses it: an audit over a broken exemptions file is bad input.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
import pathlib
from typing import Any, Iterable, Sequence

from platformctl.pack import exemptions as _pack

EXPIRED_POLICY = "governance-exemption-expired"
DEFAULT_PATH = _pack.FILE
Exemption = _pack.Exemption


class ExemptionError(Exception):
    """An exemptions file that cannot be trusted; str() is one line naming the file and entry."""


@dataclasses.dataclass(frozen=True)
class Finding:
    """A finding platformctl raises itself; the same fields as the policy client's Violation."""

    policy: str
    level: str  # mandatory | advisory
    urn: str
    message: str
    severity: str = "medium"


def load(path: str | pathlib.Path = DEFAULT_PATH, *, named: bool = False) -> list[Exemption]:
    """Every entry, as the pack reads them; any problem the pack would report (and skip) is an
    ExemptionError naming the file and the entry. A missing default file means no exemptions; a
    file the user `named` (--exemptions) must exist: a mistyped path is not "nothing exempted"."""
    path = pathlib.Path(path)
    if named and not os.path.lexists(path):
        raise ExemptionError(f"{path}: no such file (--exemptions names the exemptions file to apply)")
    found = _pack.load(path)
    if found.problems:
        # The pack names the file only (it ships inside the pack); here the path the user gave.
        problem = found.problems[0].removesuffix(_pack.NONE_APPLIES).removeprefix(f"{path.name}: ")
        raise ExemptionError(f"{path}: {problem}")
    return list(found.entries)


def in_force(exemptions: Iterable[Exemption], today: dt.date) -> list[Exemption]:
    return [e for e in exemptions if not e.expired(today)]


def apply(violations: Sequence[Any], exemptions: Sequence[Exemption], today: dt.date
          ) -> tuple[list[Any], list[tuple[Any, Exemption]], list[Finding]]:
    """Splits violations into (kept, exempted with the exemption that covers each, expired findings).

    An expired exemption covers nothing (the pack's own `covers`): its violations stay in `kept`
    at their own level. It is also reported as an advisory finding (advisory because the
    violation it used to hide is already back at its own level; counting it mandatory twice would
    say nothing new).
    """
    kept: list[Any] = []
    exempted: list[tuple[Any, Exemption]] = []
    for violation in violations:
        cover = next((e for e in exemptions if e.covers(violation.policy, violation.urn, today)), None)
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
