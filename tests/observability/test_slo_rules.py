"""The generated SLO rules, proved with Prometheus' own promtool.

Each scenario feeds 10,000 requests a minute with a constant share of errors (`burn` times the
error budget) and states which burn-rate alerts must be firing, and which must not, at given
times. Alerts are compared in full: labels and rendered annotations.
"""
from __future__ import annotations

from decimal import Decimal

import pytest

from leadgen.observability.slo import BURN_RATE_ALERTS, parse_slos, slo_rule_file
from tests.observability.tools import expected_alert, run, write

BASE = "https://github.com/insurance-lead-gen/leadgen-platform/blob/main/docs/runbooks"
SLOS = parse_slos([
    {"name": "api-availability", "service": "api", "objective": 99.9, "window": "30d", "sli": "availability"},
    {"name": "backend-availability", "service": "backend", "objective": 99.9, "window": "28d", "sli": "availability"},
    {"name": "api-latency", "service": "api-gw", "objective": 99, "window": "30d", "sli": "latency", "threshold": 0.3},
])
BY_NAME = {s.name: s for s in SLOS}
RULES = slo_rule_file(SLOS, BASE)
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
def rule_file(tmp_path_factory):
    path = write(tmp_path_factory.mktemp("slo") / "slo-rules.yaml", RULES)
    return path


def test_promtool_check_rules_accepts_the_slo_rules(rule_file):
    result = run("promtool", "check", "rules", "--lint=all", "--lint-fatal", str(rule_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {sum(len(g['rules']) for g in RULES['groups'])} rules found" in result.stdout


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_burn_rate_alerts(scenario, rule_file, tmp_path):
    series, alert_tests = SCENARIOS[scenario]
    test = {"rule_files": [str(rule_file)], "evaluation_interval": "1m",
            "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": alert_tests}]}
    result = run("promtool", "test", "rules", str(write(tmp_path / "test.yaml", test)))
    assert result.returncode == 0, f"{scenario}:\n{result.stdout}{result.stderr}"


def test_half_burn_for_three_days_fires_nothing_and_records_the_runbook_series(rule_file, tmp_path):
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
    test = {"rule_files": [str(rule_file)], "evaluation_interval": "5m",
            "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": checks,
                       "promql_expr_test": exprs}]}
    result = run("promtool", "test", "rules", str(write(tmp_path / "test.yaml", test)))
    assert result.returncode == 0, result.stdout + result.stderr


def test_overspent_budget_goes_negative(rule_file, tmp_path):
    # 2x for the whole (short) history: twice the allowed ratio means minus 100 % left.
    series = _availability_series("api", [(2, 60)])
    sel = 'slo_name="api-availability",service="api"'
    test = {"rule_files": [str(rule_file)], "evaluation_interval": "1m",
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
    records = [(r["record"], r["labels"].get("window")) for r in group["rules"] if "record" in r]
    for window in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "28d"):
        assert (f"slo:sli_error:ratio_rate{window}", None) in records
        assert ("slo_error_budget_burn_rate", window) in records
    for name in ("slo_availability_percentage", "slo_error_budget_remaining"):
        assert (name, None) in records
    for rule in group["rules"]:
        assert rule["labels"]["slo_name"] == "backend-availability"
        assert rule["labels"]["service"] == "backend"
    alerts = [(r["alert"], r["labels"]["severity"], r["labels"]["burn_rate"]) for r in group["rules"] if "alert" in r]
    assert alerts == [("SLOViolationCritical", "page", "13.44"), ("SLOViolationCritical", "page", "5.6"),
                      ("SLOViolationWarning", "ticket", "2.8"), ("SLOViolationWarning", "ticket", "0.9333")]
    assert len(BURN_RATE_ALERTS) == 4
