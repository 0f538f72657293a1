"""The generated SLO rules, proved with Prometheus' own promtool.

Each scenario feeds 10,000 requests a minute with a constant share of errors (`burn` times the
error budget) and states which burn-rate alerts must be firing, and which must not, at given
times. Alerts are compared in full: labels and rendered annotations.
"""
from __future__ import annotations

from decimal import Decimal

import pytest

from leadgen.observability.slo import (BURN_RATE_ALERTS, parse_slos, signal_series, slo_rule_file,
                                      slo_window_rule_file)
from tests.observability.tools import expected_alert, run, write

BASE = "https://github.com/insurance-lead-gen/leadgen-platform/blob/main/docs/runbooks"
SLOS = parse_slos([
    {"name": "api-availability", "service": "api", "objective": 99.9, "window": "30d", "sli": "availability"},
    {"name": "backend-availability", "service": "backend", "objective": 99.9, "window": "28d", "sli": "availability"},
    {"name": "api-latency", "service": "api-gw", "objective": 99, "window": "30d", "sli": "latency", "threshold": 0.3},
])
BY_NAME = {s.name: s for s in SLOS}
RULES = slo_rule_file(SLOS, BASE)
WINDOW_RULES = slo_window_rule_file(SLOS)
PER_MINUTE = 10_000


def _rule(slo_name: str, long_window: str) -> dict:
    group = next(g for g in RULES["groups"] if g["name"] == f"slo-{slo_name}")
    return next(r for r in group["rules"] if r.get("labels", {}).get("long_window") == long_window)


def _availability_series(service: str, phases: list[tuple[float, int]]) -> list[dict]:
    """phases: (burn, minutes) against a 0.1 % budget -> counter series for 2xx and 5xx, one
    sample a minute from t=0."""
    good, bad = [], []
    last_good = last_bad = None
    for burn, minutes in phases:
        errors = int(Decimal(str(burn)) * PER_MINUTE / 1000)
        ok = PER_MINUTE - errors
        if last_good is None:  # the first phase starts at 0 and has minutes+1 samples
            good.append(f"0+{ok}x{minutes}")
            bad.append(f"0+{errors}x{minutes}")
            last_good, last_bad = ok * minutes, errors * minutes
        else:
            good.append(f"{last_good + ok}+{ok}x{minutes - 1}")
            bad.append(f"{last_bad + errors}+{errors}x{minutes - 1}")
            last_good, last_bad = last_good + ok * minutes, last_bad + errors * minutes
    return [
        {"series": f'http_requests_total{{service="{service}",code="200"}}', "values": " ".join(good)},
        {"series": f'http_requests_total{{service="{service}",code="500"}}', "values": " ".join(bad)},
    ]


def _alerts(alertname: str, firing: list[tuple[str, str, float]]) -> list[dict]:
    """firing: (slo_name, long_window, long-window error ratio)."""
    out = []
    for slo_name, long_window, ratio in firing:
        if _rule(slo_name, long_window)["alert"] != alertname:
            continue
        slo = BY_NAME[slo_name]
        out.append(expected_alert(_rule(slo_name, long_window),
                                  {"slo_name": slo.name, "service": slo.service}, ratio))
    return out


def _check(eval_time: str, firing: list[tuple[str, str, float]]) -> list[dict]:
    return [{"eval_time": eval_time, "alertname": name, "exp_alerts": _alerts(name, firing)}
            for name in ("SLOViolationCritical", "SLOViolationWarning")]


SCENARIOS = {
    # The workbook's fast page: 14.4x over 1h and 5m. 15x pages within five minutes.
    "15x pages within 5 minutes": (
        _availability_series("api", [(15, 20)]),
        _check("5m", [("api-availability", w, 0.015) for w in ("1h", "6h", "1d", "3d")]),
    ),
    # Below 14.4x the fast pair stays silent; the 6x pair still pages.
    "13x pages only on the 6h/30m pair": (
        _availability_series("api", [(13, 20)]),
        _check("10m", [("api-availability", w, 0.013) for w in ("6h", "1d", "3d")]),
    ),
    "5x opens a ticket and pages nobody": (
        _availability_series("api", [(5, 70)]),
        _check("1h", [("api-availability", w, 0.005) for w in ("1d", "3d")]),
    ),
    "2x opens only the slow 3d/6h ticket": (
        _availability_series("api", [(2, 70)]),
        _check("1h", [("api-availability", "3d", 0.002)]),
    ),
    # A 28-day window spends 2 % of its budget in 1h at 13.44x, so 14x pages there but not on a
    # 30-day SLO.
    "factors scale with the SLO window": (
        _availability_series("api", [(14, 20)]) + _availability_series("backend", [(14, 20)]),
        _check("10m", [("api-availability", "6h", 0.014), ("api-availability", "1d", 0.014),
                       ("api-availability", "3d", 0.014), ("backend-availability", "1h", 0.014),
                       ("backend-availability", "6h", 0.014), ("backend-availability", "1d", 0.014),
                       ("backend-availability", "3d", 0.014)]),
    ),
    # The short windows end the page soon after the burn stops (30m at 15x, then clean traffic).
    "the page resolves once the burn stops": (
        _availability_series("api", [(15, 30), (0, 60)]),
        _check("75m", [])[:1],  # SLOViolationCritical only: the tickets rightly stay open
    ),
    "latency SLI pages at 15x": (
        [{"series": 'http_request_duration_seconds_bucket{service="api-gw",le="0.3"}', "values": "0+850x20"},
         {"series": 'http_request_duration_seconds_bucket{service="api-gw",le="+Inf"}', "values": "0+1000x20"},
         {"series": 'http_request_duration_seconds_count{service="api-gw"}', "values": "0+1000x20"}],
        _check("5m", [("api-latency", w, 0.15) for w in ("1h", "6h", "1d", "3d")]),
    ),
}


@pytest.fixture(scope="module")
def rule_files(tmp_path_factory):
    """The cluster's rules and the long-term store's, evaluated together as the two stores do."""
    folder = tmp_path_factory.mktemp("slo")
    return [str(write(folder / "slo-rules.yaml", RULES)), str(write(folder / "slo-window-rules.yaml", WINDOW_RULES))]


def test_promtool_check_rules_accepts_the_slo_rules(rule_files):
    for path, rules in zip(rule_files, (RULES, WINDOW_RULES)):
        result = run("promtool", "check", "rules", "--lint=all", "--lint-fatal", path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"SUCCESS: {sum(len(g['rules']) for g in rules['groups'])} rules found" in result.stdout


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_burn_rate_alerts(scenario, rule_files, tmp_path):
    series, alert_tests = SCENARIOS[scenario]
    test = {"rule_files": rule_files, "evaluation_interval": "1m",
            "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": alert_tests}]}
    result = run("promtool", "test", "rules", str(write(tmp_path / "test.yaml", test)))
    assert result.returncode == 0, f"{scenario}:\n{result.stdout}{result.stderr}"


def test_half_burn_for_three_days_fires_nothing_and_records_the_runbook_series(rule_files, tmp_path):
    """0.5x for three days: no page, no ticket; half the budget is left, availability 99.95 %."""
    series = _availability_series("api", [(0.5, 3 * 24 * 60)])
    checks = [c for t in ("5m", "1h", "6h", "1d", "3d") for c in _check(t, [])]
    sel = 'slo_name="api-availability",service="api"'
    labels = {"slo_name": "api-availability", "service": "api"}
    exprs = [
        {"eval_time": "3d", "expr": f"round(slo_error_budget_remaining{{{sel}}}, 0.001)",
         "exp_samples": [{"labels": _labels(labels), "value": 50}]},
        {"eval_time": "3d", "expr": f"round(slo_availability_percentage{{{sel}}}, 0.0001)",
         "exp_samples": [{"labels": _labels(labels), "value": 99.95}]},
        {"eval_time": "3d", "expr": f'round(slo_error_budget_burn_rate{{{sel},window="1h"}}, 0.001)',
         "exp_samples": [{"labels": _labels({**labels, "window": "1h"}), "value": 0.5}]},
        {"eval_time": "3d", "expr": f"slo:error_budget:ratio{{{sel}}}",
         "exp_samples": [{"labels": "slo:error_budget:ratio" + _labels(labels), "value": 0.001}]},
    ]
    test = {"rule_files": rule_files, "evaluation_interval": "5m",
            "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": checks,
                       "promql_expr_test": exprs}]}
    result = run("promtool", "test", "rules", str(write(tmp_path / "test.yaml", test)))
    assert result.returncode == 0, result.stdout + result.stderr


def test_overspent_budget_goes_negative(rule_files, tmp_path):
    # 2x for the whole (short) history: twice the allowed ratio means minus 100 % left.
    series = _availability_series("api", [(2, 60)])
    sel = 'slo_name="api-availability",service="api"'
    test = {"rule_files": rule_files, "evaluation_interval": "1m",
            "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": [
                {"eval_time": "1h", "expr": f"round(slo_error_budget_remaining{{{sel}}}, 0.001)",
                 "exp_samples": [{"labels": _labels({"slo_name": "api-availability", "service": "api"}),
                                  "value": -100}]}]}]}
    result = run("promtool", "test", "rules", str(write(tmp_path / "test.yaml", test)))
    assert result.returncode == 0, result.stdout + result.stderr


def _labels(labels: dict) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def test_every_slo_gets_the_runbook_series_and_all_windows():
    group = next(g for g in RULES["groups"] if g["name"] == "slo-backend-availability")
    window = next(g for g in WINDOW_RULES["groups"] if g["name"] == "slo-backend-availability-window")
    records = [(r["record"], r["labels"].get("window")) for r in group["rules"] if "record" in r]
    window_records = [(r["record"], r["labels"].get("window")) for r in window["rules"] if "record" in r]
    for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d"):
        assert (f"slo:sli_error:ratio_rate{w}", None) in records
        assert ("slo_error_budget_burn_rate", w) in records
    # The 28-day window is summed by the long-term store, which holds 28 days; the cluster holds 15.
    assert ("slo:sli_error:ratio_rate28d", None) in window_records and ("slo:sli_error:ratio_rate28d", None) not in records
    assert ("slo_error_budget_burn_rate", "28d") in window_records
    for name in ("slo_availability_percentage", "slo_error_budget_remaining"):
        assert (name, None) in window_records and (name, None) not in records
    # ... from the raw counters, which carry every event across a gap in the recordings.
    assert "increase(http_requests_total{" in window["rules"][0]["expr"]
    assert "rate5m" not in window["rules"][0]["expr"] and "vector(0)" not in str(RULES) + str(WINDOW_RULES)
    for rule in group["rules"] + window["rules"]:
        assert rule["labels"]["slo_name"] == "backend-availability"
        assert rule["labels"]["service"] == "backend"
    alerts = [(r["alert"], r["labels"]["severity"], r["labels"].get("burn_rate")) for r in group["rules"] if "alert" in r]
    assert alerts == [("SLOViolationCritical", "page", "13.44"), ("SLOViolationCritical", "page", "5.6"),
                      ("SLOViolationWarning", "ticket", "2.8"), ("SLOViolationWarning", "ticket", "0.9333"),
                      ("SLOSignalMissing", "page", None), ("SLOErrorLabelMissing", "page", None)]
    window_alerts = [(r["alert"], r["labels"]["severity"]) for r in window["rules"] if "alert" in r]
    assert window_alerts == [("SLOErrorBudgetLow", "ticket"), ("SLOErrorBudgetExhausted", "ticket")]
    gaps = next(g for g in WINDOW_RULES["groups"] if g["name"] == "slo-remote-write")
    assert [r["labels"]["slo_name"] for r in gaps["rules"]] == [s.name for s in SLOS]
    assert len(BURN_RATE_ALERTS) == 4


def _promtool(rule_files, tmp_path, test: dict) -> None:
    result = run("promtool", "test", "rules", str(write(tmp_path / "test.yaml", {"rule_files": rule_files, **test})))
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_absent_sli_pages_after_ten_minutes(rule_files, tmp_path):
    """The api stops reporting (or was never scraped): the SLO is blind, and that is a page."""
    slo = BY_NAME["api-availability"]
    rule = next(r for g in RULES["groups"] if g["name"] == "slo-api-availability"
                for r in g["rules"] if r.get("alert") == "SLOSignalMissing")
    series = _availability_series("backend", [(0, 30)])  # another service keeps reporting
    _promtool(rule_files, tmp_path, {"evaluation_interval": "1m", "tests": [
        {"interval": "1m", "input_series": series, "alert_rule_test": [
            # Absent, but not yet for 10 minutes: pending, not firing.
            {"eval_time": "5m", "alertname": "SLOSignalMissing", "exp_alerts": []},
            {"eval_time": "15m", "alertname": "SLOSignalMissing", "exp_alerts": [
                expected_alert(rule, {"service": "api"}, 1),
                # absent() keeps the equality matchers' labels: the bucket's alert names its bound.
                *(expected_alert(r, {"service": "api-gw", **({"le": "0.3"} if "_bucket" in r["expr"] else {})}, 1)
                  for g in RULES["groups"] if g["name"] == "slo-api-latency"
                  for r in g["rules"] if r.get("alert") == "SLOSignalMissing")]},
        ]},
        # Once the api reports again, it resolves.
        {"interval": "1m", "input_series": series + _availability_series("api", [(0, 30)])
            + [{"series": 'http_request_duration_seconds_count{service="api-gw"}', "values": "0+10x30"},
               {"series": 'http_request_duration_seconds_bucket{service="api-gw",le="0.3"}', "values": "0+9x30"}],
         "alert_rule_test": [{"eval_time": "15m", "alertname": "SLOSignalMissing", "exp_alerts": []}]},
    ]})
    assert signal_series(slo) == 'http_requests_total{service="api"}'


def test_an_incident_older_than_fifteen_days_still_counts_against_the_28_day_budget(rule_files, tmp_path):
    """One hour at a 10 % error ratio on day 5, evaluated on day 25: twenty days later, beyond the
    cluster's 15-day retention, the 28-day budget still carries it. Inputs every 10 minutes,
    rules every hour."""
    step_minutes, rps = 10, 5  # promtool refuses a query that loads more than 10,000 samples
    per_step = rps * 60 * step_minutes
    per_day = 24 * 60 // step_minutes
    before, incident, after = 5 * per_day, 60 // step_minutes, 20 * per_day - 60 // step_minutes
    errors_per_step = per_step // 10
    good = f"0+{per_step}x{before + incident + after}"
    bad = f"0x{before} 0+{errors_per_step}x{incident} {errors_per_step * incident}x{after}"
    series = [{"series": 'http_requests_total{service="backend",code="200"}', "values": good},
              {"series": 'http_requests_total{service="backend",code="500"}', "values": bad}]
    sel = 'slo_name="backend-availability",service="backend"'
    # The budget spent: errors over all requests in the window, against the 0.1 % budget.
    _promtool(rule_files, tmp_path, {"evaluation_interval": "1h", "tests": [
        {"interval": f"{step_minutes}m", "input_series": series, "promql_expr_test": [
            # Nothing of the incident is inside the 3-day alert windows any more ...
            {"eval_time": "25d", "expr": f"slo:sli_error:ratio_rate3d{{{sel}}} == 0",
             "exp_samples": [{"labels": "slo:sli_error:ratio_rate3d{" + sel.replace(",", ", ") + "}", "value": 0}]},
            # ... but the 28-day budget remembers it: well below 100 %, still above 0.
            {"eval_time": "25d", "expr": f"slo_error_budget_remaining{{{sel}}} < bool 95",
             "exp_samples": [{"labels": _labels({"slo_name": "backend-availability", "service": "backend"}), "value": 1}]},
            {"eval_time": "25d", "expr": f"slo_error_budget_remaining{{{sel}}} > bool 0",
             "exp_samples": [{"labels": _labels({"slo_name": "backend-availability", "service": "backend"}), "value": 1}]},
        ]},
    ]})


def test_canary_errors_count_against_the_services_budget(rule_files, tmp_path):
    """The canary reports service="api", track="canary" (its ServiceMonitor relabels it): its 5xx
    burn the api's budget and page like the stable pods' would."""
    stable = [{"series": 'http_requests_total{service="api",track="stable",code="200"}', "values": "0+9000x20"}]
    canary = [{"series": 'http_requests_total{service="api",track="canary",code="200"}', "values": "0+850x20"},
              {"series": 'http_requests_total{service="api",track="canary",code="500"}', "values": "0+150x20"}]
    # 150 errors in 10,000 a minute: 1.5 %, 15x the 0.1 % budget.
    _promtool(rule_files, tmp_path, {"evaluation_interval": "1m", "tests": [
        {"interval": "1m", "input_series": stable + canary,
         "alert_rule_test": _check("5m", [("api-availability", w, 0.015) for w in ("1h", "6h", "1d", "3d")]),
         "promql_expr_test": [
             {"eval_time": "10m", "expr": 'round(slo:sli_error:ratio_rate5m{slo_name="api-availability"}, 0.0001)',
              "exp_samples": [{"labels": _labels({"slo_name": "api-availability", "service": "api"}), "value": 0.015}]}]},
        # The stable pods alone are clean: without the canary nothing fires.
        {"interval": "1m", "input_series": stable, "alert_rule_test": _check("5m", [])},
    ]})


def _gap_series(step_minutes: int, phases: list[tuple[str, int, int]]) -> tuple[list[dict], int, int]:
    """phases: (kind, minutes, errors per minute) with kind "up" (samples) or "gap" (none: remote
    write is down, the application keeps counting) at 1,000 requests a minute. Returns the
    backend's raw counters as the store receives them, the cluster's objective recording (written
    every evaluation, missing in the gap), and the totals."""
    good, bad, objective = [], [], []
    total_good = total_bad = 0
    for kind, minutes, errors in phases:
        for _ in range(minutes // step_minutes):
            total_good += (1000 - errors) * step_minutes
            total_bad += errors * step_minutes
            for values, value in ((good, total_good), (bad, total_bad), (objective, 0.999)):
                values.append("_" if kind == "gap" else str(value))
    sel = 'service="backend"'
    series = [{"series": f'http_requests_total{{{sel},code="200",pod="backend-1"}}', "values": "0 " + " ".join(good)},
              {"series": f'http_requests_total{{{sel},code="500",pod="backend-1"}}', "values": "0 " + " ".join(bad)},
              {"series": 'slo:objective:ratio{slo_name="backend-availability",service="backend",cluster="c"}',
               "values": "0.999 " + " ".join(objective)}]
    return series, total_good, total_bad


def test_a_bad_hour_inside_a_two_hour_remote_write_gap_still_spends_the_budget(tmp_path):
    """The store alone, fed what remote write delivers: four clean hours, a two-hour hole in
    which the first hour answered 10 % errors, four clean hours. The counters after the hole carry
    the bad hour's errors, so the 28-day budget is charged for it (1 % errors against 0.1 %: ten
    budgets spent, -900 % left), both budget tickets fire, and the hole itself opens a ticket while
    it lasts. Summing the 5m rate recordings instead left the budget at 100 %."""
    series, good, bad = _gap_series(5, [("up", 240, 0), ("gap", 60, 100), ("gap", 60, 0), ("up", 240, 0)])
    assert (bad, good + bad) == (6000, 600_000)
    window = slo_window_rule_file([BY_NAME["backend-availability"]], BASE)
    labels = {"slo_name": "backend-availability", "service": "backend"}
    rules = {r["alert"]: r for g in window["groups"] for r in g["rules"] if "alert" in r}
    gap = lambda t, firing: {"eval_time": t, "alertname": "SLORemoteWriteGap",  # noqa: E731
                             "exp_alerts": [expected_alert(rules["SLORemoteWriteGap"], labels, 1)] if firing else []}
    path = write(tmp_path / "window.yaml", window)
    _promtool([str(path)], tmp_path, {"evaluation_interval": "5m", "tests": [
        {"interval": "5m", "input_series": series,
         "promql_expr_test": [
             {"eval_time": "10h", "expr": 'round(slo_error_budget_remaining{slo_name="backend-availability"}, 0.01)',
              "exp_samples": [{"labels": _labels(labels), "value": -900}]},
             {"eval_time": "10h", "expr": 'round(slo_availability_percentage{slo_name="backend-availability"}, 0.0001)',
              "exp_samples": [{"labels": _labels(labels), "value": 99}]}],
         "alert_rule_test": [
             gap("3h", False), gap("5h", True), gap("9h", False),
             {"eval_time": "10h", "alertname": "SLOErrorBudgetExhausted",
              "exp_alerts": [expected_alert(rules["SLOErrorBudgetExhausted"], labels, -900)]},
             {"eval_time": "10h", "alertname": "SLOErrorBudgetLow",
              "exp_alerts": [expected_alert(rules["SLOErrorBudgetLow"], labels, -900)]},
             # Before the hole, nothing was spent.
             {"eval_time": "3h", "alertname": "SLOErrorBudgetLow", "exp_alerts": []}]},
    ]})


def test_the_budget_tickets_fire_below_ten_and_zero_percent(tmp_path):
    """A quarter of a percent of errors for ten hours: 0.25 budgets of 0.1 %... scaled: 0.095 %
    of errors leaves 5 % (Low only); 0.1 % leaves 0 % (neither below zero); 0.2 % leaves -100 %."""
    window = slo_window_rule_file([BY_NAME["backend-availability"]], BASE)
    path = write(tmp_path / "window.yaml", window)
    cases = []
    for errors_per_thousand, low, exhausted in ((0.5, False, False), (0.95, True, False), (2, True, True)):
        per_minute = 1000  # 1,000,000 requests a minute keeps the counts whole
        series, good, bad = [], 0, 0
        sel = 'service="backend",pod="backend-1"'
        errors = int(errors_per_thousand * per_minute)
        series = [{"series": f'http_requests_total{{{sel},code="200"}}', "values": f"0+{1_000_000 - errors}x120"},
                  {"series": f'http_requests_total{{{sel},code="500"}}', "values": f"0+{errors}x120"}]
        window_rules = {r["alert"]: r for g in window["groups"] for r in g["rules"] if "alert" in r}
        remaining = 100 * (1 - errors / 1_000_000 / 0.001)
        labels = {"slo_name": "backend-availability", "service": "backend"}
        cases.append({"interval": "5m", "input_series": series, "alert_rule_test": [
            {"eval_time": "10h", "alertname": name,
             "exp_alerts": [expected_alert(window_rules[name], labels, remaining)] if fires else []}
            for name, fires in (("SLOErrorBudgetLow", low), ("SLOErrorBudgetExhausted", exhausted))]})
    _promtool([str(path)], tmp_path, {"evaluation_interval": "1h", "tests": cases})


def test_a_latency_sli_without_its_threshold_bucket_pages(rule_files, tmp_path):
    """prom-client's default buckets have no 0.3: the count arrives, the SLO silently has no
    ratio. The bucket's own absent-data alert pages; the count's stays quiet."""
    bucket = next(r for g in RULES["groups"] if g["name"] == "slo-api-latency"
                  for r in g["rules"] if r.get("alert") == "SLOSignalMissing" and "_bucket" in r["expr"])
    series = [{"series": 'http_request_duration_seconds_count{service="api-gw"}', "values": "0+100x30"},
              {"series": 'http_request_duration_seconds_bucket{service="api-gw",le="0.25"}', "values": "0+90x30"},
              {"series": 'http_request_duration_seconds_bucket{service="api-gw",le="+Inf"}', "values": "0+100x30"}]
    series += _availability_series("api", [(0, 30)]) + _availability_series("backend", [(0, 30)])
    _promtool(rule_files, tmp_path, {"evaluation_interval": "1m", "tests": [
        {"interval": "1m", "input_series": series, "alert_rule_test": [
            {"eval_time": "15m", "alertname": "SLOSignalMissing",
             "exp_alerts": [expected_alert(bucket, {"service": "api-gw", "le": "0.3"}, 1)]}]}]})


def test_a_renamed_status_label_pages_instead_of_reading_perfect(rule_files, tmp_path):
    """The application labels its status `status` (as the seed runbook's query does): every
    request a 500, and the error ratio would read 0. SLOErrorLabelMissing pages; with `code`
    it stays quiet."""
    rule = next(r for g in RULES["groups"] if g["name"] == "slo-api-availability"
                for r in g["rules"] if r.get("alert") == "SLOErrorLabelMissing")
    renamed = [{"series": 'http_requests_total{service="api",status="500"}', "values": "0+600x30"}]
    _promtool(rule_files, tmp_path, {"evaluation_interval": "1m", "tests": [
        {"interval": "1m", "input_series": renamed, "alert_rule_test": [
            {"eval_time": "20m", "alertname": "SLOErrorLabelMissing",
             "exp_alerts": [expected_alert(rule, {"service": "api"}, 10)]}]},
        {"interval": "1m", "input_series": _availability_series("api", [(1000, 30)]), "alert_rule_test": [
            {"eval_time": "20m", "alertname": "SLOErrorLabelMissing", "exp_alerts": []}]},
    ]})


def _traffic(per_minute_before: int, per_minute_after: int, days_before: int = 8) -> list[dict]:
    """api's counters every 5 minutes: `per_minute_before` for `days_before` days, then `after`."""
    steps = days_before * 24 * 12
    total = per_minute_before * 5 * steps
    values = f"0+{per_minute_before * 5}x{steps} {total}+{per_minute_after * 5}x12"
    return [{"series": 'http_requests_total{service="api",code="200",pod="api-1"}', "values": values}]


def test_an_edge_outage_pages_within_the_fast_burn_window(tmp_path):
    """The load balancer or gateway fails: the pods see no request at all, the SLO's ratio is
    0/0 and burns nothing. The traffic against the same minutes a week ago pages in 15 minutes,
    before the 1h fast-burn window would; a service that was quiet a week ago does not page."""
    rules = slo_rule_file(SLOS, BASE)
    (group,) = [g for g in rules["groups"] if g["name"] == "slo-traffic"]
    rule = next(r for r in group["rules"] if r["labels"]["service"] == "api")
    path = write(tmp_path / "traffic.yaml", {"groups": [group]})
    api = {"service": "api"}
    _promtool([str(path)], tmp_path, {"evaluation_interval": "5m", "tests": [
        {"interval": "5m", "input_series": _traffic(1200, 0), "alert_rule_test": [
            {"eval_time": "7d12h", "alertname": "SLOTrafficDrop", "exp_alerts": []},
            {"eval_time": "8d5m", "alertname": "SLOTrafficDrop", "exp_alerts": []},
            {"eval_time": "8d15m", "alertname": "SLOTrafficDrop", "exp_alerts": [expected_alert(rule, api, 0)]}]},
        # 30 requests a minute a week ago (0.5 per second): below the floor, nothing to judge by.
        {"interval": "5m", "input_series": _traffic(30, 0), "alert_rule_test": [
            {"eval_time": "8d30m", "alertname": "SLOTrafficDrop", "exp_alerts": []}]},
        # A third less than last week is a slow day, not an outage.
        {"interval": "5m", "input_series": _traffic(1200, 800), "alert_rule_test": [
            {"eval_time": "8d30m", "alertname": "SLOTrafficDrop", "exp_alerts": []}]},
    ]})
    assert [r["labels"]["service"] for r in group["rules"]] == ["api", "backend", "api-gw"]
