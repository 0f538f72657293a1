"""Ten healthy minutes, read from the SLO store: the check between two failback updates.

Every failback update waits until the site that serves the traffic has been healthy for
`MINUTES` minutes. Healthy means, for every SLO the store holds: the error budget's burn rate
over each 5-minute window of the last `MINUTES` minutes stayed at or below `MAX_BURN` (spending
no faster than the SLO allows), measured all along (a recording at least once a minute: a
window with missing data is not a healthy one), and with traffic (an SLO with no requests has
shown nothing). It reads `slo_error_budget_burn_rate{window="5m"}`, which every cluster records
and remote-writes to its stack's store (leadgen/observability/slo.py).

The store is read through the error-budget gate's own reader (`error_budget.instant` and
`vector`, over `signed_http`): one wall-clock deadline for signing, connect, request and body,
SigV4 for an Amazon Managed Prometheus workspace, the same URLs refused (credentials in them,
plain http off this machine) and the same answers (redirects, over 4 MiB, not strict JSON), with
the same lines. Anything it cannot establish is "not healthy", never a pass.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from platformctl.pack import error_budget as eb, signed_http

MINUTES = 10
MAX_BURN = 1.0
SERIES = 'slo_error_budget_burn_rate{window="5m"}'
# The recording rules run at least once a minute, so ten minutes hold at least ten samples.
MIN_SAMPLES = MINUTES
BURN = f"max_over_time({SERIES}[{MINUTES}m])"
SAMPLES = f"count_over_time({SERIES}[{MINUTES}m])"


class Unhealthy(Exception):
    """The store gave no usable answer: one line saying why."""


@dataclass(frozen=True)
class Slo:
    name: str
    burn: Optional[float]  # None: no traffic in the window (0/0)
    samples: int

    @property
    def ok(self) -> bool:
        return self.burn is not None and self.burn <= MAX_BURN and self.samples >= MIN_SAMPLES

    def line(self) -> str:
        if self.samples < MIN_SAMPLES:
            why = f"{self.samples} recordings in {MINUTES} min, want at least {MIN_SAMPLES}: not measured all along"
        elif self.burn is None:
            why = f"no traffic in the last {MINUTES} min"
        else:
            why = f"highest 5-minute burn rate {self.burn:g}" + (
                f" > {MAX_BURN:g}: spending the budget too fast" if self.burn > MAX_BURN else f" <= {MAX_BURN:g}")
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {why}"


SETTING = "--prometheus"


def bad_input(base_url: str) -> Optional[str]:
    """The line refusing `--prometheus` before anything is asked or printed, or None."""
    if not base_url:
        return f"no SLO store given ({SETTING})"
    reason = signed_http.store_refusal(base_url)
    return f"{SETTING} {signed_http.shown(base_url)!r} {reason}" if reason else None


def shown(base_url: str) -> str:
    """The store's URL as a line may print it (credentials in it never shown)."""
    return signed_http.shown(base_url)


def instant(base_url: str, promql: str, timeout: float = eb.TIMEOUT_SECONDS, *,
            transport=None) -> list[tuple[dict, Optional[str]]]:
    """The (labels, value text or None for NaN) of an instant query, read as the gate reads it."""
    problem = bad_input(base_url)
    if problem:
        raise Unhealthy(problem)
    try:
        body = eb.instant(base_url, promql, setting=SETTING, timeout=timeout,
                          transport=transport or signed_http.connection)
        return eb.vector(body, eb.source(base_url), promql)
    except eb.BudgetUnavailable as err:
        raise Unhealthy(str(err)) from None


def _slo(metric: dict) -> str:
    name = metric.get("slo_name") or metric.get("slo") or "?"
    service = metric.get("service")
    return f"{name} ({service})" if service and service != name else str(name)


def judge(burn: list[tuple[dict, str]], samples: list[tuple[dict, str]]) -> list[Slo]:
    """One line per SLO from the two answers; an SLO missing from either is unmeasured."""
    counts = {_slo(m): v for m, v in samples}
    rates = {_slo(m): v for m, v in burn}
    out = []
    for name in sorted(set(counts) | set(rates)):
        raw = rates.get(name)
        value = None if raw is None else float(raw)
        if value is not None and not math.isfinite(value):
            value = math.inf
        n = counts.get(name)
        out.append(Slo(name, value, int(float(n)) if n is not None else 0))
    return out


def check(base_url: str, timeout: float = eb.TIMEOUT_SECONDS, *, transport=None) -> list[Slo]:
    """The store's SLOs over the last ten minutes; raises Unhealthy when there is nothing to judge."""
    burn = instant(base_url, BURN, timeout, transport=transport)
    samples = instant(base_url, SAMPLES, timeout, transport=transport)
    slos = judge(burn, samples)
    if not slos:
        raise Unhealthy(f"Prometheus at {base_url} has no {SERIES} series: no SLO is recorded")
    return slos
