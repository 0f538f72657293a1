"""What a report says, independent of how it is printed.

Violations are duck-typed: anything with `policy, level, urn, message` and optionally `severity`
(the policy client's `Violation` and platformctl's own `exemptions.Finding` both fit).
"""
from __future__ import annotations

import collections
import dataclasses
import datetime as dt
from typing import Any, Optional, Sequence

LEVELS = ("mandatory", "advisory")
SEVERITIES = ("critical", "high", "medium", "low")
# An audit that could judge too little of a stack says so as this mandatory finding, never PASS.
NOT_ASSESSED_POLICY = "audit-not-assessed"
EXIT_NOT_ASSESSED = 3


@dataclasses.dataclass(frozen=True)
class CostItem:
    component: str  # the top-level leadgen component the resource belongs to, or "(stack)"
    urn: str
    type: str
    monthly_usd: float
    note: str = ""


@dataclasses.dataclass(frozen=True)
class CostView:
    """The pack's estimate, by resource; `baseline_usd` is the compared export's total, if any."""

    total_usd: float
    items: tuple[CostItem, ...] = ()
    baseline_usd: Optional[float] = None
    baseline_source: str = ""

    def by_component(self) -> list[tuple[str, float]]:
        totals: dict[str, float] = collections.defaultdict(float)
        for item in self.items:
            totals[item.component] += item.monthly_usd
        return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))

    @property
    def delta_usd(self) -> Optional[float]:
        return None if self.baseline_usd is None else self.total_usd - self.baseline_usd

    @property
    def delta_percent(self) -> Optional[float]:
        if self.baseline_usd is None:
            return None
        if self.baseline_usd == 0:
            return None if self.total_usd == 0 else float("inf")
        return 100.0 * (self.total_usd - self.baseline_usd) / self.baseline_usd


@dataclasses.dataclass(frozen=True)
class ChangeEvidence:
    """One `pulumi up` (or destroy) in the audited period and what the change records say."""

    version: Optional[int]
    kind: str
    start: dt.datetime
    end: Optional[dt.datetime]
    result: str
    change_request: str  # "" when the update named none
    requester: str = ""
    approver: str = ""
    independently_approved: bool = False
    rollback_plan: bool = False
    in_window: bool = False
    problems: tuple[str, ...] = ()

    @property
    def compliant(self) -> bool:
        return not self.problems


@dataclasses.dataclass
class Report:
    stack: str
    project: str
    kind: str  # "preview" | "audit" | "cost" | "gate"
    generated_at: dt.datetime
    resource_count: int
    violations: Sequence[Any] = ()
    exemptions: Sequence[Any] = ()  # exemptions in force (exemptions.Exemption)
    exempted: Sequence[tuple[Any, Any]] = ()  # (violation, exemption) pairs dropped by an exemption
    cost: Optional[CostView] = None
    changes: Sequence[ChangeEvidence] = ()
    period: Optional[tuple[dt.date, dt.date]] = None
    source: str = ""
    notes: Sequence[str] = ()
    # Values that must never appear in any format (e.g. the Prometheus password, decrypted config
    # secrets): every renderer replaces them with "***", as it does credentials inside URLs.
    secrets: Sequence[str] = dataclasses.field(default=(), repr=False)

    def count(self, level: str) -> int:
        return sum(1 for v in self.violations if v.level == level)

    @property
    def mandatory(self) -> int:
        return self.count("mandatory")

    @property
    def advisory(self) -> int:
        return self.count("advisory")

    @property
    def noncompliant_changes(self) -> int:
        return sum(1 for c in self.changes if not c.compliant)

    def exit_code(self) -> int:
        """`pulumi policy analyze` semantics: 2 on mandatory violations, else 0 (advisory is fine);
        3 when the only mandatory finding is that too little of the stack was judged, so every
        format (the JSON summary included) and the process agree on "not assessed"."""
        mandatory = [v for v in self.violations if v.level == "mandatory"]
        if mandatory and all(v.policy == NOT_ASSESSED_POLICY for v in mandatory):
            return EXIT_NOT_ASSESSED
        return 2 if mandatory else 0

    def by_policy(self) -> list[tuple[str, str, str, int]]:
        """(policy, level, severity, count), worst first."""
        counts: dict[tuple[str, str, str], int] = collections.Counter(
            (v.policy, v.level, severity_of(v)) for v in self.violations)
        return sorted(((p, l, s, n) for (p, l, s), n in counts.items()),
                      key=lambda row: (LEVELS.index(row[1]) if row[1] in LEVELS else 9,
                                       SEVERITIES.index(row[2]) if row[2] in SEVERITIES else 9,
                                       -row[3], row[0]))

    def by_severity(self) -> list[tuple[str, int]]:
        counts = collections.Counter(severity_of(v) for v in self.violations)
        order = list(SEVERITIES) + sorted(set(counts) - set(SEVERITIES))
        return [(s, counts[s]) for s in order if counts.get(s)]


def severity_of(violation: Any) -> str:
    return str(getattr(violation, "severity", None) or "medium").lower()


def sorted_violations(violations: Sequence[Any]) -> list[Any]:
    return sorted(violations, key=lambda v: (LEVELS.index(v.level) if v.level in LEVELS else 9,
                                             SEVERITIES.index(severity_of(v)) if severity_of(v) in SEVERITIES else 9,
                                             v.policy, v.urn or ""))
