"""SLOs from stack config, and the Prometheus rules that track them.

Follows the Google SRE workbook ("Alerting on SLOs", multiwindow, multi-burn-rate alerts) the way
Sloth and Pyrra generate it: error ratios recorded over every alert window, and an alert per
(long, short) window pair that fires only when both windows burn faster than the pair's factor.
The factor of a pair is the share of the whole budget it may consume in its long window, scaled
to the SLO window: 2 % of a 30-day budget in 1 h is 14.4x; the same 2 % of a 28-day budget is
13.44x. The runbook's series (`slo_availability_percentage`, `slo_error_budget_remaining`,
`slo_error_budget_burn_rate`) are recorded from the same ratios, labelled `slo_name` and
`service`, because the governance gates read them.

Two rule files, because the SLO window is longer than the cluster's Prometheus keeps samples (15
days against 28): `slo_rule_file` runs in the cluster and records the alert windows (5m to 3d)
from raw series, plus the SLI's good and total event rates over 5m (a year of history in the
long-term store). The long-term store's rule engine runs `slo_window_rule_file`: the window's
ratio from the increase of the SLIs' raw counters, remote-written for the SLOs' services. Summing
the 5m recordings instead (as Sloth does) is exact only while every recording arrives: a hole in
remote write would erase the errors in it, where a counter carries them across. The `service` label counts every track of a service
(`api` and `api-canary` both report `service="api"`), so the canary spends the same budget.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Mapping, Optional, Sequence

from leadgen.observability import SpecError
from leadgen.observability.durations import format_duration, parse_duration
from leadgen.observability.runbooks import (DATA_MISSING, DEFAULT_BASE_URL, SLO_VIOLATION, runbook_url,
                                           HIGH_API_ERROR_RATE as HIGH_API_ERROR_RATE_RUNBOOK)

SLI_KINDS = ("availability", "latency")
FIELDS = ("name", "service", "objective", "window", "sli", "threshold", "description")

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
# A Kubernetes-style name: it is pasted into PromQL label matchers, so nothing that could close
# the string or the selector gets through.
_SERVICE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")

# The application's side of the SLIs (docs/app-contract.md and the README render these, through
# leadgen/observability/contract.py): the request counter and its status label, the histogram whose
# bucket at the threshold counts the fast requests.
REQUESTS = "http_requests_total"
DURATION = "http_request_duration_seconds"
STATUS_LABEL = "code"
ERROR_CODES = "5.."


@dataclass(frozen=True)
class BurnRateAlert:
    """One window pair of the workbook's table, for a 30-day reference window."""

    alert: str
    severity: str
    long_window: str
    short_window: str
    budget_consumed: Decimal  # share of the whole budget spent in long_window at the threshold


# SRE workbook, table 5-8: page at 2 % of the budget in 1 h or 5 % in 6 h; ticket at 10 % in
# 1 d or 10 % in 3 d. The short window (1/12 of the long one) makes the alert stop soon after the
# burn does.
BURN_RATE_ALERTS = (
    BurnRateAlert("SLOViolationCritical", "page", "1h", "5m", Decimal("0.02")),
    BurnRateAlert("SLOViolationCritical", "page", "6h", "30m", Decimal("0.05")),
    BurnRateAlert("SLOViolationWarning", "ticket", "1d", "2h", Decimal("0.10")),
    BurnRateAlert("SLOViolationWarning", "ticket", "3d", "6h", Decimal("0.10")),
)
ALERT_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
# The longest alert window must fit in the SLO window, or the ticket alerts mean nothing; and the
# window's ratio is recorded by the long-term store, the alert windows' in the cluster, so the two
# never record the same series.
MIN_WINDOW_SECONDS = parse_duration("3d") + 1


@dataclass(frozen=True)
class SLO:
    name: str
    service: str
    objective: Decimal  # percent, e.g. 99.9
    window: str  # normalised Prometheus duration, e.g. "28d"
    sli: str
    threshold: Optional[Decimal] = None  # seconds, latency SLIs only
    description: str = ""
    route: Optional[str] = None  # `namespace/route`, edge SLIs only (see `edge_slos`)

    @property
    def window_seconds(self) -> int:
        return parse_duration(self.window)

    @property
    def error_budget(self) -> Decimal:
        """Allowed error ratio: 99.9 % -> 0.001."""
        return (Decimal(100) - self.objective) / Decimal(100)

    def burn_factor(self, pair: BurnRateAlert) -> Decimal:
        """The pair's burn-rate threshold for this SLO's window (14.4 for 1h at 30d)."""
        factor = pair.budget_consumed * self.window_seconds / parse_duration(pair.long_window)
        return factor.quantize(Decimal("0.0001")).normalize()

    @property
    def windows(self) -> list[str]:
        """Every window an error ratio is recorded over, shortest first, SLO window included."""
        seconds = {parse_duration(w): w for w in ALERT_WINDOWS}
        seconds.setdefault(self.window_seconds, self.window)
        return [seconds[s] for s in sorted(seconds)]


# --- config ------------------------------------------------------------------------------------

def parse_slos(items: Sequence[Any], key: str = "observability.slos") -> tuple[SLO, ...]:
    """Validate the SLO list; the first problem raises SpecError naming `key[i].field`."""
    if not isinstance(items, (list, tuple)):
        raise SpecError(key, "must be a list of SLO mappings")
    slos: list[SLO] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        where = f"{key}[{index}]"
        slo = _parse_one(item, where)
        if slo.name in seen:
            raise SpecError(f"{where}.name", f"({slo.name!r}) duplicates {key}[{seen[slo.name]}].name")
        seen[slo.name] = index
        slos.append(slo)
    return tuple(slos)


def _parse_one(item: Any, where: str) -> SLO:
    if not isinstance(item, Mapping):
        raise SpecError(where, "must be a mapping with name, service, objective, window and sli")
    unknown = sorted(set(map(str, item)) - set(FIELDS))
    if unknown:
        raise SpecError(f"{where}.{unknown[0]}", f"is not an SLO field (allowed: {', '.join(FIELDS)})")
    for field in ("name", "service", "objective", "sli"):
        if item.get(field) in (None, ""):
            raise SpecError(f"{where}.{field}", "is required")

    name = item["name"]
    if not isinstance(name, str) or not _NAME.match(name):
        raise SpecError(f"{where}.name", f"({name!r}) must be lower-case letters, digits and dashes")
    service = item["service"]
    if not isinstance(service, str) or not _SERVICE.match(service):
        raise SpecError(f"{where}.service", f"({service!r}) must be a Kubernetes service name")

    objective = _number(item["objective"], f"{where}.objective")
    if not Decimal(0) < objective < Decimal(100):
        raise SpecError(f"{where}.objective", f"({objective}) must be above 0 and below 100 (percent)")

    raw_window = item.get("window", "28d")
    try:
        window_seconds = parse_duration(raw_window)
    except ValueError as exc:
        raise SpecError(f"{where}.window", f"({raw_window!r}) {exc}, e.g. 28d") from None
    if window_seconds < MIN_WINDOW_SECONDS:
        raise SpecError(f"{where}.window", f"({raw_window!r}) must be longer than 3d, the longest alert window")

    sli = item["sli"]
    if sli not in SLI_KINDS:
        raise SpecError(f"{where}.sli", f"({sli!r}) must be one of: {', '.join(SLI_KINDS)}")
    threshold = None
    if sli == "latency":
        if item.get("threshold") in (None, ""):
            raise SpecError(f"{where}.threshold", "is required for a latency SLI (seconds, a histogram bucket bound)")
        threshold = _number(item["threshold"], f"{where}.threshold")
        if threshold <= 0:
            raise SpecError(f"{where}.threshold", f"({threshold}) must be positive (seconds)")
    elif item.get("threshold") not in (None, ""):
        raise SpecError(f"{where}.threshold", "applies only to latency SLIs")
    description = item.get("description", "")
    if not isinstance(description, str):
        raise SpecError(f"{where}.description", "must be a string")
    return SLO(name, service, objective, format_duration(window_seconds), sli, threshold, description)


def _number(value: Any, where: str) -> Decimal:
    # Decimal, so 99.9 gives a budget of exactly 0.001 in the generated PromQL.
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise SpecError(where, f"({value!r}) must be a number")
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        raise SpecError(where, f"({value!r}) must be a number") from None
    if not number.is_finite():
        raise SpecError(where, f"({value!r}) must be a finite number")
    return number


# --- rules -------------------------------------------------------------------------------------

def _num(value: Decimal) -> str:
    return format(value.normalize(), "f")


def format_bound(threshold: Decimal) -> str:
    """A bucket bound as the SLO rules match it (`0.5`; an integral bound also as `1.0`)."""
    return _num(threshold)


def _le_matcher(threshold: Decimal) -> str:
    # Go clients write an integral bucket bound as `1`, Python clients as `1.0`; match both.
    text = _num(threshold)
    if threshold == threshold.to_integral_value():
        return f'le=~"{text}|{text}\\\\.0"'
    return f'le="{text}"'


def error_ratio_expr(slo: SLO, window: str) -> str:
    """PromQL for the share of bad events over `window`."""
    selector = f'service="{slo.service}"'
    if slo.sli == EDGE_SLI:
        total = f"sum(rate({EDGE_METRIC}{{{_edge_selector(slo)}}}[{window}]))"
        return f'(sum(rate({EDGE_METRIC}{{{_edge_selector(slo)},{EDGE_ERRORS}}}[{window}])) or 0 * {total})\n/\n{total}'
    if slo.sli == "availability":
        # No 5xx series is no error only where there is traffic (`0 * total`): `or vector(0)` would
        # also make up a 0 with no traffic at all. A renamed status label is SLOErrorLabelMissing.
        total = f"sum(rate({REQUESTS}{{{selector}}}[{window}]))"
        return f'(sum(rate({REQUESTS}{{{selector},{STATUS_LABEL}=~"{ERROR_CODES}"}}[{window}])) or 0 * {total})\n/\n{total}'
    return (
        f"1 - (\n  sum(rate({DURATION}_bucket{{{selector},{_le_matcher(slo.threshold)}}}[{window}]))\n"
        f"  /\n  sum(rate({DURATION}_count{{{selector}}}[{window}]))\n)"
    )


def ratio_record(window: str) -> str:
    return f"slo:sli_error:ratio_rate{window}"


# Event rates over the shortest window: what the long-term store keeps and sums over the SLO window.
ERROR_EVENTS = "slo:sli_error_events:rate5m"
TOTAL_EVENTS = "slo:sli_events:rate5m"
EVENTS_WINDOW = ALERT_WINDOWS[0]


def event_rate_exprs(slo: SLO) -> tuple[str, str]:
    """(bad events per second, all events per second) over 5m."""
    selector = f'service="{slo.service}"'
    w = EVENTS_WINDOW
    if slo.sli == EDGE_SLI:
        total = f"sum(rate({EDGE_METRIC}{{{_edge_selector(slo)}}}[{w}]))"
        return f"sum(rate({EDGE_METRIC}{{{_edge_selector(slo)},{EDGE_ERRORS}}}[{w}])) or 0 * {total}", total
    if slo.sli == "availability":
        total = f"sum(rate({REQUESTS}{{{selector}}}[{w}]))"
        return f'sum(rate({REQUESTS}{{{selector},{STATUS_LABEL}=~"{ERROR_CODES}"}}[{w}])) or 0 * {total}', total
    total = f"sum(rate({DURATION}_count{{{selector}}}[{w}]))"
    good = f"sum(rate({DURATION}_bucket{{{selector},{_le_matcher(slo.threshold)}}}[{w}]))"
    return f"{total}\n-\n{good}", total


def signal_series(slo: SLO) -> str:
    """The raw series whose absence leaves the SLO blind (the first of `signal_selectors`)."""
    return signal_selectors(slo)[0]


def signal_selectors(slo: SLO) -> list[str]:
    """Every raw series the SLI reads: for latency the bucket at the threshold too, since a
    client whose buckets skip the threshold reports a count and silently no SLO."""
    if slo.sli == EDGE_SLI:
        return [f"{EDGE_METRIC}{{{_edge_selector(slo)}}}"]
    if slo.sli == "availability":
        return [f'{REQUESTS}{{service="{slo.service}"}}']
    return [f'{DURATION}_count{{service="{slo.service}"}}',
            f'{DURATION}_bucket{{service="{slo.service}",{_le_matcher(slo.threshold)}}}']



def slo_rule_group(slo: SLO, runbook_base_url: str) -> dict:
    """One rule group per SLO: recordings first, so alerts in the same evaluation see them."""
    labels = {"slo_name": slo.name, "service": slo.service}
    sel = f'{{slo_name="{slo.name}", service="{slo.service}"}}'
    budget = _num(slo.error_budget)
    rules: list[dict] = []
    alert_windows = list(ALERT_WINDOWS)
    for window in alert_windows:
        rules.append({"record": ratio_record(window), "expr": error_ratio_expr(slo, window),
                      "labels": dict(labels)})
    errors, total = event_rate_exprs(slo)
    rules += [
        {"record": ERROR_EVENTS, "expr": errors, "labels": dict(labels)},
        {"record": TOTAL_EVENTS, "expr": total, "labels": dict(labels)},
        {"record": "slo:objective:ratio", "expr": f"vector({_num(slo.objective / 100)})", "labels": dict(labels)},
        {"record": "slo:error_budget:ratio", "expr": f"vector({budget})", "labels": dict(labels)},
    ]
    for window in alert_windows:
        rules.append({"record": "slo_error_budget_burn_rate",
                      "expr": f"{ratio_record(window)}{sel} / {budget}",
                      "labels": {**labels, "window": window}})
    url = runbook_url(runbook_base_url, SLO_VIOLATION)
    for pair in BURN_RATE_ALERTS:
        factor = _num(slo.burn_factor(pair))
        rules.append({
            "alert": pair.alert,
            "expr": (f"{ratio_record(pair.long_window)}{sel} > ({factor} * {budget})\nand\n"
                     f"{ratio_record(pair.short_window)}{sel} > ({factor} * {budget})"),
            # slo_name and service come with the series too; stating them keeps every alert
            # rule unique (promtool's duplicate-rules lint) and readable on its own.
            "labels": {**labels, "severity": pair.severity, "long_window": pair.long_window,
                       "short_window": pair.short_window, "burn_rate": factor},
            "annotations": {
                "summary": (f"SLO {slo.name} ({slo.service}) is spending its error budget {factor}x "
                            f"too fast over {pair.long_window} and {pair.short_window}"),
                "description": (f"Error ratio over {pair.long_window} is {{{{ $value | humanizePercentage }}}} "
                                f"against a budget of {budget} ({_num(slo.objective)} % over {slo.window}); "
                                f"at this rate {_num(pair.budget_consumed * 100)} % of the budget goes in "
                                f"{pair.long_window}."),
                "runbook_url": url,
            },
        })
    # Without its raw series the SLO, its alerts and the error-budget gate all go blind.
    for selector in signal_selectors(slo):
        metric = selector.split("{")[0]
        rules.append({
            "alert": "SLOSignalMissing",
            "expr": f"absent({selector})",
            "for": "10m",
            "labels": {**labels, "severity": "page", "signal": metric},
            "annotations": {
                "summary": f"SLO {slo.name} has no data: nothing reports {selector}",
                "description": (f"For 10 minutes no target has exported {selector}; the SLO, its "
                                "burn-rate alerts and the error-budget gate cannot see this service."),
                "runbook_url": runbook_url(runbook_base_url, DATA_MISSING),
            },
        })
    if slo.sli == "availability":
        # Requests arrive but none carries a status code: a renamed label (`status`) would
        # otherwise read as zero errors, a perfect SLO whatever the service answers.
        selector = f'service="{slo.service}"'
        rules.append({
            "alert": "SLOErrorLabelMissing",
            "expr": (f"sum(rate({REQUESTS}{{{selector}}}[5m])) > 0\n"
                     f'unless on ()\ncount({REQUESTS}{{{selector},{STATUS_LABEL}=~"[1-5][0-9][0-9]"}})'),
            "for": "10m",
            "labels": {**labels, "severity": "page", "signal": STATUS_LABEL},
            "annotations": {
                "summary": (f"SLO {slo.name} cannot see errors: {slo.service}'s {REQUESTS} "
                            f"has no `{STATUS_LABEL}` label"),
                "description": (f"{slo.service} serves {{{{ $value | printf \"%.1f\" }}}} requests per second, but no "
                                f"series carries a status in `{STATUS_LABEL}`: the error ratio reads 0 whatever "
                                "the service answers."),
                "runbook_url": runbook_url(runbook_base_url, DATA_MISSING),
            },
        })
    return {"name": f"slo-{slo.name}", "rules": rules}


# --- the edge ------------------------------------------------------------------------------------
# The SLIs above count what reaches the pods. Users meet the service at Envoy Gateway's proxies:
# a 503 Envoy answers itself (no healthy endpoint, a broken route's backend, an upstream reset)
# never reaches a pod. Each availability SLO of a service published through an HTTPRoute gets an
# edge twin, `<name>-edge`, with the same objective and window, read from Envoy's per-route
# upstream counters: Envoy Gateway names one cluster per route rule
# (`httproute/<namespace>/<route>/rule/<n>`) and Envoy labels each request with its status class.
# The total is the sum over every class, not `envoy_cluster_upstream_rq_total`, because a request
# Envoy answers with a 503 before any upstream stream exists is counted in the class but not in the
# total. The twin is judged like the pods' SLI everywhere: the cluster's alert windows, the long-term
# store's window (from the same counters, remote-written for the published routes only) and so
# the error-budget gate, which takes the lowest budget of a service's SLOs, twins included.
EDGE_SLI = "edge"
EDGE_METRIC = "envoy_cluster_upstream_rq_xx"
EDGE_ROUTE_LABEL = "envoy_cluster_name"
EDGE_ERRORS = 'envoy_response_code_class="5"'


def _edge_selector(slo: SLO) -> str:
    return f'{EDGE_ROUTE_LABEL}=~"httproute/{slo.route}/rule/[0-9]+"'


def edge_slos(slos: Sequence[SLO], routes: Mapping[str, str]) -> tuple[SLO, ...]:
    """The edge twin of every availability SLO whose service `routes` publishes (service ->
    `namespace/route`)."""
    for service, route in routes.items():
        namespace, _, name = route.partition("/")
        if not (_SERVICE.match(namespace) and _SERVICE.match(name)):
            raise SpecError(f"public route of {service}", f"({route!r}) must be `namespace/route`, Kubernetes names")
    return tuple(SLO(f"{s.name}-edge", s.service, s.objective, s.window, EDGE_SLI, None,
                     f"{s.description or s.name}, measured at the gateway (Envoy, HTTPRoute {routes[s.service]})",
                     routes[s.service])
                 for s in slos if s.sli == "availability" and s.service in routes)


# An edge failure (load balancer, gateway, route, certificate) never reaches the pods: their
# ratio is 0/0 and no burn-rate alert can fire. What they do see is their traffic vanish, so a
# service whose requests fall below this share of the same minutes a week earlier pages, once
# last week had enough traffic to judge by (no pages for a quiet night).
TRAFFIC_DROP_RATIO = Decimal("0.5")
TRAFFIC_DROP_MIN_RPS = Decimal("1")
TRAFFIC_DROP_WINDOW = "10m"


def traffic_drop_rule(service: str, metric: str, runbook_base_url: str) -> dict:
    now = f'sum(rate({metric}{{service="{service}"}}[{TRAFFIC_DROP_WINDOW}]))'
    week = f'sum(rate({metric}{{service="{service}"}}[{TRAFFIC_DROP_WINDOW}] offset 1w))'
    ratio = _num(TRAFFIC_DROP_RATIO)
    return {
        "alert": "SLOTrafficDrop",
        # `or 0 * week`: a service whose series vanished entirely has dropped to zero too.
        "expr": (f"({now} or 0 * {week})\n< {ratio} * {week}\nand\n{week} > {_num(TRAFFIC_DROP_MIN_RPS)}"),
        "for": "5m",
        "labels": {"service": service, "severity": "page"},
        "annotations": {
            "summary": (f"{service} receives less than {_num(TRAFFIC_DROP_RATIO * 100)} % of its traffic of a week "
                        "ago: users may not reach it (load balancer, gateway, route, certificate, DNS)"),
            "description": ("{{ $value | printf \"%.2f\" }} requests per second now; the SLOs only see requests "
                            "that reach the pods, so an outage in front of them burns no budget."),
            "runbook_url": runbook_url(runbook_base_url, HIGH_API_ERROR_RATE_RUNBOOK),
        },
    }


def slo_rule_file(slos: Sequence[SLO], runbook_base_url: str, edge_routes: Optional[Mapping[str, str]] = None) -> dict:
    """The in-cluster rule file (`groups:`), as promtool and the PrometheusRule spec take it;
    `edge_routes` (service -> `namespace/route`) adds the edge twins of `edge_slos`."""
    services: dict[str, str] = {}
    for slo in slos:
        metric = signal_series(slo).split("{")[0]
        if services.get(slo.service) != REQUESTS:
            services[slo.service] = metric
    drops = [traffic_drop_rule(service, metric, runbook_base_url) for service, metric in services.items()]
    every = [*slos, *edge_slos(slos, edge_routes or {})]
    return {"groups": [*(slo_rule_group(s, runbook_base_url) for s in every),
                       *([{"name": "slo-traffic", "rules": drops}] if drops else [])]}


# The error-budget matrix of the runbook (docs/runbooks/slo-violation.md): below 10 % left the
# service freezes features (CTO approval); below 0 % the SLO is broken for the window. Both are
# decisions for the working day, so they open tickets; the burn-rate alerts do the paging.
@dataclass(frozen=True)
class BudgetAlert:
    alert: str
    below_percent: int
    state: str
    action: str


BUDGET_ALERTS = (
    BudgetAlert("SLOErrorBudgetLow", 10, "has less than 10 % of its error budget left",
                "feature freeze until it recovers (error-budget matrix: below 10 %, CTO approval)"),
    BudgetAlert("SLOErrorBudgetExhausted", 0, "has spent its whole error budget",
                "the SLO is broken for the window: feature freeze, reliability work only (CTO approval)"),
)
# The store sees nothing of an SLO for this long: remote write is broken or Prometheus is down.
REMOTE_WRITE_GAP = "15m"
# Each evaluation of the window reads 28 days of raw samples (about 80,000 a series at a 30 s
# scrape): hourly keeps the store's query load small, and a 28-day budget moves slowly.
WINDOW_INTERVAL = "1h"


def window_counts(slo: SLO, window: str) -> tuple[str, str]:
    """(bad events, all events) over `window`, from the raw counters. A counter carries every
    event across any gap in its samples, so a hole in remote write or a Prometheus restart
    delays the count instead of erasing it (the 5m rate recordings of a gap are simply missing).
    Only a pod that restarts inside the gap loses what it counted there."""
    selector = f'service="{slo.service}"'
    if slo.sli == EDGE_SLI:
        total = f"sum(increase({EDGE_METRIC}{{{_edge_selector(slo)}}}[{window}]))"
        errors = f"sum(increase({EDGE_METRIC}{{{_edge_selector(slo)},{EDGE_ERRORS}}}[{window}]))"
        return f"({errors} or 0 * {total})", total
    if slo.sli == "availability":
        total = f"sum(increase({REQUESTS}{{{selector}}}[{window}]))"
        errors = f'sum(increase({REQUESTS}{{{selector},{STATUS_LABEL}=~"{ERROR_CODES}"}}[{window}]))'
        # No 5xx series at all is no error, but only where there was traffic: never a made-up 0.
        return f"({errors} or 0 * {total})", total
    total = f"sum(increase({DURATION}_count{{{selector}}}[{window}]))"
    good = f"sum(increase({DURATION}_bucket{{{selector},{_le_matcher(slo.threshold)}}}[{window}]))"
    return f"({total} - {good})", total


def window_series(slo: SLO) -> list[str]:
    """The raw series the store reads for this SLO (and so must be remote-written), as selectors."""
    selector = f'service="{slo.service}"'
    if slo.sli == EDGE_SLI:
        return [f"{EDGE_METRIC}{{{_edge_selector(slo)}}}"]
    if slo.sli == "availability":
        return [f"{REQUESTS}{{{selector}}}"]
    return [f"{DURATION}_count{{{selector}}}",
            f"{DURATION}_bucket{{{selector},{_le_matcher(slo.threshold)}}}"]


def slo_window_group(slo: SLO, runbook_base_url: str = DEFAULT_BASE_URL) -> dict:
    """The SLO window's ratio and the runbook's series, from the raw counters; the budget alerts
    and the remote-write gap alert the store evaluates (its Alertmanager opens tickets)."""
    labels = {"slo_name": slo.name, "service": slo.service}
    sel = f'{{slo_name="{slo.name}", service="{slo.service}"}}'
    budget = _num(slo.error_budget)
    w = slo.window
    ratio = ratio_record(w)
    bad, total = window_counts(slo, w)
    url = runbook_url(runbook_base_url, SLO_VIOLATION)
    rules: list[dict] = [
        {"record": ratio, "expr": f"{bad}\n/\n{total}", "labels": dict(labels)},
        {"record": "slo_availability_percentage", "expr": f"100 * (1 - {ratio}{sel})", "labels": dict(labels)},
        # Percent of the window's budget left: 100 untouched, 0 spent, negative when overspent.
        {"record": "slo_error_budget_remaining", "expr": f"100 * (1 - {ratio}{sel} / {budget})",
         "labels": dict(labels)},
        {"record": "slo_error_budget_burn_rate", "expr": f"{ratio}{sel} / {budget}",
         "labels": {**labels, "window": w}},
    ]
    for b in BUDGET_ALERTS:
        rules.append({
            "alert": b.alert,
            "expr": f"slo_error_budget_remaining{sel} < {b.below_percent}",
            "labels": {**labels, "severity": "ticket"},
            "annotations": {
                "summary": f"SLO {slo.name} ({slo.service}) {b.state} over {w}: {b.action}",
                "description": (f"{{{{ $value | printf \"%.1f\" }}}} % of the {w} error budget of {slo.name} "
                                f"({_num(slo.objective)} %) is left."),
                "runbook_url": url,
            },
        })
    return {"name": f"slo-{slo.name}-window", "interval": WINDOW_INTERVAL, "rules": rules}


def remote_write_gap_rule(slo: SLO, runbook_base_url: str) -> dict:
    """Recorded every evaluation in the cluster and remote-written: its absence in the store means
    the budget, the error-budget gate and the SLO history are going stale."""
    sel = f'{{slo_name="{slo.name}", service="{slo.service}"}}'
    return {
        "alert": "SLORemoteWriteGap",
        "expr": f"absent_over_time(slo:objective:ratio{sel}[{REMOTE_WRITE_GAP}])",
        "labels": {"slo_name": slo.name, "service": slo.service, "severity": "ticket"},
        "annotations": {
            "summary": f"The long-term store has received nothing for SLO {slo.name} in {REMOTE_WRITE_GAP}",
            "description": ("Remote write from the cluster's Prometheus has stopped, or Prometheus is down: "
                            "the budget, the error-budget gate and the SLO history are stale. The budget "
                            "counts raw counters, so the events of the gap are counted once writes resume."),
            "runbook_url": runbook_url(runbook_base_url, DATA_MISSING),
        },
    }


def slo_window_rule_file(slos: Sequence[SLO], runbook_base_url: str = DEFAULT_BASE_URL,
                         edge_routes: Optional[Mapping[str, str]] = None) -> dict:
    """The long-term store's rule file: every SLO over its whole window, and its budget alerts;
    the remote-write gap alerts in a group of their own, evaluated every minute. `edge_routes`
    (service -> `namespace/route`) adds the edge twins, as `slo_rule_file` does in the cluster."""
    every = [*slos, *edge_slos(slos, edge_routes or {})]
    gaps = [remote_write_gap_rule(s, runbook_base_url) for s in every]
    return {"groups": [*(slo_window_group(s, runbook_base_url) for s in every),
                       *([{"name": "slo-remote-write", "rules": gaps}] if gaps else [])]}


def remote_write_relabelings(slos: Sequence[SLO], edge_routes: Optional[Mapping[str, str]] = None) -> list[dict]:
    """What the cluster remote-writes: every SLO recording, and the raw series the store counts
    the window from (the threshold bucket only, not the whole histogram; Envoy's counters of the
    published routes only, for the edge twins), and the firing `ALERTS` of the alerts the store
    keeps a history of (catalog.LONG_TERM_ALERTS). One `keep` rule: Prometheus joins the source
    labels with `;` and keeps a series only when the whole joined value matches."""
    from leadgen.observability.catalog import LONG_TERM_ALERTS, REMOTE_WRITE_KEEP

    alerts = "|".join(re.escape(name) for name in LONG_TERM_ALERTS)
    keep = [f"({REMOTE_WRITE_KEEP});.*;.*;.*;.*;.*", f"ALERTS;.*;.*;.*;({alerts});firing"]
    for slo in [*slos, *edge_slos(slos, edge_routes or {})]:
        service = re.escape(slo.service)
        if slo.sli == EDGE_SLI:
            keep.append(f"{EDGE_METRIC};.*;.*;httproute/{re.escape(slo.route)}/rule/[0-9]+;.*;.*")
        elif slo.sli == "availability":
            keep.append(f"{REQUESTS};{service};.*;.*;.*;.*")
        else:
            le = _num(slo.threshold).replace(".", r"\.")
            bound = f"{le}|{le}\\.0" if slo.threshold == slo.threshold.to_integral_value() else le
            keep.append(f"{DURATION}_count;{service};.*;.*;.*;.*")
            keep.append(f"{DURATION}_bucket;{service};({bound});.*;.*;.*")
    return [{"sourceLabels": ["__name__", "service", "le", EDGE_ROUTE_LABEL, "alertname", "alertstate"],
             "separator": ";", "regex": "|".join(dict.fromkeys(keep)), "action": "keep"}]
