"""Kubernetes minors on Amazon EKS and the day each leaves standard support: the one table that the
program's config validation (`leadgen/config/cluster.py`), the `aws-eks-cluster-supported-version`
guardrail and the per-minor pins (`leadgen/versions.py`, checked by tests/foundation/test_pins.py)
read. Which minors are supported is computed from these dates and the day asked about, so nothing
goes stale when a minor leaves standard support: the table only grows when AWS releases a minor.

A minor is in standard support for 14 months after its EKS release; after that EKS either bills
extended support (six times the hourly price) or, with `upgrade_policy.support_type = STANDARD`,
upgrades the control plane by itself, outside any change window. The last day is exclusive here:
on `end_of_standard_support` the minor is out.

Standard library only, like `governance/config.py`: the program imports it without the pack's
dependencies.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

CALENDAR = "https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html#kubernetes-release-calendar"
# A third-party copy of the same calendar, used to cross-check the dates AWS's page gave.
CALENDAR_MIRROR = "https://endoflife.date/amazon-eks"


@dataclass(frozen=True, kw_only=True)
class EksVersion:
    minor: str  # "1.35"
    end_of_standard_support: dt.date
    confirmed_by: str  # where the date was read
    checked: str  # YYYY-MM-DD the date was last compared with the source


VERSIONS: tuple[EksVersion, ...] = (
    EksVersion(minor="1.33", end_of_standard_support=dt.date(2026, 7, 29), confirmed_by=CALENDAR_MIRROR,
               checked="2026-12-03"),
    EksVersion(minor="1.34", end_of_standard_support=dt.date(2026, 12, 2), confirmed_by=CALENDAR_MIRROR,
               checked="2026-12-03"),
    EksVersion(minor="1.35", end_of_standard_support=dt.date(2027, 3, 27), confirmed_by=CALENDAR_MIRROR,
               checked="2026-12-03"),
    # On EKS since 2026-06-02; its end is the 14-month rule from that release, as the calendar
    # page (kubernetes-versions-standard) listed it on 2026-11-30.
    EksVersion(minor="1.36", end_of_standard_support=dt.date(2027, 8, 2), confirmed_by=CALENDAR,
               checked="2026-11-30"),
)
BY_MINOR = {v.minor: v for v in VERSIONS}


def parse_minor(version: object) -> Optional[tuple[int, int]]:
    """`"1.35"` (or `"1.35.2"`) -> (1, 35); None when it is not a Kubernetes minor."""
    parts = str(version).strip().split(".")[:2]
    try:
        return int(parts[0]), int(parts[1])
    except (ValueError, IndexError):
        return None


def end_of_standard_support(minor: str) -> Optional[dt.date]:
    version = BY_MINOR.get(minor)
    return version.end_of_standard_support if version else None


def supported(on: dt.date) -> tuple[str, ...]:
    """The minors in EKS standard support on `on`, oldest first."""
    return tuple(v.minor for v in sorted(VERSIONS, key=lambda v: parse_minor(v.minor))
                 if on < v.end_of_standard_support)


def oldest_supported(on: dt.date) -> str:
    """The oldest minor in standard support on `on`. Past the table's newest end, the newest minor
    is named: the table has to grow before anything can be called supported again."""
    in_support = supported(on)
    return in_support[0] if in_support else max((v.minor for v in VERSIONS), key=parse_minor)


def today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()
