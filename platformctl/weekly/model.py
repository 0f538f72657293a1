"""What every section of the weekly report is made of, and how a section reaches its sources.

A section never passes silently: a source that cannot be reached or answers in a shape we do not
know makes the section "not assessed" with the reason, and the report's exit status non-zero.
Sections read every outside answer through `Context.fetch`, so offline tests drive them from
recorded answers of the real APIs and the live command from the signed, deadline-bounded clients
the gates use.
"""
from __future__ import annotations

import dataclasses
import datetime
from typing import Any, Callable, Mapping

OK = "ok"
ATTENTION = "attention"
ACTION_NEEDED = "action needed"
NOT_ASSESSED = "not assessed"
STATUSES = (OK, ATTENTION, ACTION_NEEDED, NOT_ASSESSED)


class Unreachable(Exception):
    """A source could not be reached or answered in a shape we cannot read; str() is the one-line reason."""


# fetch(service, operation, params) -> the decoded JSON answer, or raises Unreachable.
# service/operation pairs: ("prometheus", "query" | "query_range"), ("loki", "query_range"),
# ("s3", "ListObjectsV2" | "GetObject"), ("ecr", "DescribeImageScanFindings"),
# ("secretsmanager", "ListSecrets"), ("ce", "GetCostAndUsage"), ("eks", "DescribeCluster" |
# "DescribeAddonVersions"), ("pulumi", "stack-output" | "stack-history" | "stack-export").
# AWS answers are shaped as `aws <service> <operation> --output json` prints them (times ISO 8601);
# platformctl/weekly/sources.py says how each is recorded and replayed.
Fetch = Callable[[str, str, Mapping[str, Any]], Any]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Finding:
    """One row of a section: the thing judged, its figure and its own status."""
    name: str
    figure: str
    status: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class Section:
    key: str      # backups, certificates, kubernetes, slos, cost, security, nodes_logs, changes
    title: str
    status: str   # one of STATUSES
    figure: str   # the headline figure behind the status
    action: str   # the command or link that acts on it
    reason: str = ""  # why the section is "not assessed"
    rows: tuple[Finding, ...] = ()

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"section {self.key}: status must be one of {', '.join(STATUSES)}, got {self.status!r}")
        if self.status == NOT_ASSESSED and not self.reason:
            raise ValueError(f"section {self.key}: 'not assessed' needs its reason")


def not_assessed(*, key: str, title: str, reason: str, action: str) -> Section:
    return Section(key=key, title=title, status=NOT_ASSESSED, figure="", action=action, reason=reason)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Context:
    """What a section may read: the stack's validated config, the report's clock and the sources."""
    stack: str
    config: Any                  # leadgen.config's validated configuration of the stack
    now: datetime.datetime       # timezone-aware UTC
    since: datetime.datetime     # start of the reported week
    fetch: Fetch
    project_root: Any = None     # pathlib.Path of the repository (history, governance files)
