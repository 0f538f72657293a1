"""SLO config: good lists parse, bad ones name the key and the cause."""
from __future__ import annotations

from decimal import Decimal

import pytest

from leadgen.observability import SpecError
from leadgen.observability.durations import format_duration, parse_duration
from leadgen.observability.slo import BURN_RATE_ALERTS, error_ratio_expr, parse_slos

GOOD = {"name": "api-availability", "service": "api", "objective": 99.9, "window": "28d", "sli": "availability"}


def test_a_good_slo_parses_with_an_exact_budget():
    (slo,) = parse_slos([GOOD])
    assert slo.error_budget == Decimal("0.001")
    assert slo.windows == ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "28d"]
    assert [str(slo.burn_factor(p)) for p in BURN_RATE_ALERTS] == ["13.44", "5.6", "2.8", "0.9333"]


def test_workbook_factors_at_thirty_days():
    (slo,) = parse_slos([{**GOOD, "window": "30d"}])
    assert [str(slo.burn_factor(p)) for p in BURN_RATE_ALERTS] == ["14.4", "6", "3", "1"]


def test_window_defaults_to_28d_and_is_normalised():
    (a, b) = parse_slos([{k: v for k, v in GOOD.items() if k != "window"},
                         {**GOOD, "name": "b", "window": "4w"}])
    assert a.window == "28d" and b.window == "28d"


def test_latency_sli_matches_the_bucket_bound():
    (slo,) = parse_slos([{**GOOD, "sli": "latency", "threshold": 0.3}])
    assert 'le="0.3"' in error_ratio_expr(slo, "5m")
    (slo,) = parse_slos([{**GOOD, "sli": "latency", "threshold": 1}])
    assert 'le=~"1|1\\\\.0"' in error_ratio_expr(slo, "5m")


@pytest.mark.parametrize("change, key, words", [
    ({"objective": 100}, "[0].objective", "below 100"),
    ({"objective": 100.5}, "[0].objective", "below 100"),
    ({"objective": 0}, "[0].objective", "above 0"),
    ({"objective": "high"}, "[0].objective", "must be a number"),
    ({"objective": True}, "[0].objective", "must be a number"),
    ({"sli": "throughput"}, "[0].sli", "availability, latency"),
    ({"window": "monthly"}, "[0].window", "is not a duration"),
    ({"window": "28"}, "[0].window", "is not a duration"),
    ({"window": "1d"}, "[0].window", "longer than 3d"),
    ({"window": "3d"}, "[0].window", "longer than 3d"),
    ({"name": "API Availability"}, "[0].name", "lower-case"),
    ({"service": 'api"}'}, "[0].service", "Kubernetes service name"),
    ({"sli": "latency"}, "[0].threshold", "required for a latency SLI"),
    ({"sli": "latency", "threshold": -1}, "[0].threshold", "positive"),
    ({"threshold": 0.3}, "[0].threshold", "only to latency"),
    ({"target": 99}, "[0].target", "not an SLO field"),
    ({"service": None}, "[0].service", "is required"),
])
def test_bad_slo_names_the_key(change, key, words):
    with pytest.raises(SpecError) as err:
        parse_slos([{**GOOD, **change}])
    assert err.value.path == "observability.slos" + key
    assert words in err.value.message
    assert "\n" not in str(err.value)


def test_duplicate_names_point_at_the_second_and_the_first():
    with pytest.raises(SpecError) as err:
        parse_slos([GOOD, {**GOOD, "service": "backend"}])
    assert err.value.path == "observability.slos[1].name"
    assert "observability.slos[0].name" in err.value.message


def test_not_a_list_or_not_a_mapping():
    with pytest.raises(SpecError) as err:
        parse_slos({"name": "x"})
    assert err.value.path == "observability.slos"
    with pytest.raises(SpecError) as err:
        parse_slos(["api"])
    assert err.value.path == "observability.slos[0]"


@pytest.mark.parametrize("text, seconds", [("5m", 300), ("1h30m", 5400), ("28d", 2419200), ("4w", 2419200)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


def test_duration_formatting_and_rejects():
    assert format_duration(2419200) == "28d" and format_duration(5400) == "1h30m"
    for bad in ("", "0s", "5", "m5", "5M", "1h1d", 5):
        with pytest.raises(ValueError):
            parse_duration(bad)
