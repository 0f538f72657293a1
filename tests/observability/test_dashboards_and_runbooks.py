"""Dashboards parse as Grafana JSON and read only series that exist where they query; every rule
reads only series its Prometheus has; every runbook_url resolves to steps that work here."""
from __future__ import annotations

import json
import pathlib

import pytest


from leadgen.observability.catalog import (SCRAPES, SOURCE_SERIES, grafana_to_promql,
                                           recorded_series, series_in)
from leadgen.observability.dashboards import BUDGET_STEPS, LONG_TERM_UID, all_dashboards
from leadgen.observability.platform_alerts import PlatformAlertSettings, platform_rule_file
from leadgen.observability.runbooks import repo_path
from leadgen.observability.slo import parse_slos, remote_write_relabelings, slo_rule_file, slo_window_rule_file
from tests.observability.tools import relabel_keeps

ROOT = pathlib.Path(__file__).resolve().parents[2]
BASE = "https://github.com/insurance-lead-gen/leadgen-platform/blob/main/docs/runbooks"
SLOS = parse_slos([
    {"name": "api-availability", "service": "api", "objective": 99.9, "window": "28d", "sli": "availability"},
    {"name": "api-latency", "service": "api", "objective": 99, "window": "28d", "sli": "latency", "threshold": 0.5},
])
SLO_RULES = slo_rule_file(SLOS, BASE)
WINDOW_RULES = slo_window_rule_file(SLOS)
PLATFORM_RULES = platform_rule_file(PlatformAlertSettings(runbook_base_url=BASE))
# What the cluster's Prometheus holds: scraped series and its own recordings.
KNOWN = set(SOURCE_SERIES) | recorded_series([SLO_RULES, PLATFORM_RULES])
# What the long-term store holds: what remote write keeps (the recordings, the SLIs' raw series
# for their services), and its own recordings.
RELABEL = remote_write_relabelings(SLOS)
WRITTEN = {name for name in KNOWN for s in SLOS for le in ("", "0.5")
           if relabel_keeps(RELABEL, {"__name__": name, "service": s.service, "le": le})}
KNOWN_LONG_TERM = WRITTEN | recorded_series([WINDOW_RULES])
DASHBOARDS = all_dashboards(SLOS)


def _targets(board: dict):
    for panel in board["panels"]:
        for target in panel["targets"]:
            yield panel, target


def _promql_targets(board: dict):
    """Targets Prometheus answers (LogQL targets are held to the log shipper in test_log_shipping)."""
    return ((p, t) for p, t in _targets(board) if t["datasource"]["type"] == "prometheus")


def test_the_runbooks_four_dashboards_with_stable_uids():
    assert {d["title"] for d in DASHBOARDS.values()} == {
        "Platform Overview", "API Performance", "Database Metrics", "SLO Tracking"}
    # The runbook opens http://localhost:3000/d/slo-tracking.
    assert "slo-tracking" in DASHBOARDS


@pytest.mark.parametrize("uid", sorted(DASHBOARDS))
def test_dashboard_is_grafana_json(uid):
    board = json.loads(json.dumps(DASHBOARDS[uid]))  # what the ConfigMap carries
    assert board["uid"] == uid and board["schemaVersion"] >= 36
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in board["panels"]:
        pos = panel["gridPos"]
        assert 0 <= pos["x"] and pos["x"] + pos["w"] <= 24 and pos["h"] > 0, panel["title"]
        assert panel["type"] in {"timeseries", "stat", "gauge", "table", "logs"}
        assert panel["targets"], panel["title"]
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids))
    variables = {v["name"] for v in board["templating"]["list"]}
    for panel, target in _targets(board):
        for name in ("service", "slo_name"):
            if f"${name}" in target["expr"]:
                assert name in variables, f"{uid}/{panel['title']} uses ${name} but declares no variable"


@pytest.mark.parametrize("uid", sorted(DASHBOARDS))
def test_dashboard_queries_are_promql_over_series_that_exist(uid):
    for panel, target in _promql_targets(DASHBOARDS[uid]):
        names = series_in(grafana_to_promql(target["expr"]))
        assert names, f"{uid}/{panel['title']}: selects no series"
        long_term = target["datasource"]["uid"] == LONG_TERM_UID
        unknown = names - (KNOWN_LONG_TERM if long_term else KNOWN)
        where = "the long-term store" if long_term else "the cluster's Prometheus"
        assert not unknown, f"{uid}/{panel['title']}: nothing in {where} provides {sorted(unknown)}"


def test_the_window_series_live_only_in_the_long_term_store():
    """The cluster keeps 15 days: no in-cluster rule or panel may read a 28-day series."""
    window_only = recorded_series([WINDOW_RULES]) - KNOWN
    assert {"slo_error_budget_remaining", "slo_availability_percentage", "slo:sli_error:ratio_rate28d"} <= window_only
    budget_panels = [(uid, p["title"]) for uid, b in DASHBOARDS.items() for p, t in _promql_targets(b)
                     if series_in(grafana_to_promql(t["expr"])) & window_only]
    assert budget_panels and all(p["datasource"]["uid"] == LONG_TERM_UID
                                 for uid, b in DASHBOARDS.items() for p, t in _promql_targets(b)
                                 if series_in(grafana_to_promql(t["expr"])) & window_only)


def test_the_long_term_rules_read_only_what_is_remote_written():
    for group in WINDOW_RULES["groups"]:
        for rule in group["rules"]:
            unknown = series_in(rule["expr"]) - KNOWN_LONG_TERM
            assert not unknown, f"{rule.get('record') or rule['alert']}: not remote-written {sorted(unknown)}"
    # The SLIs' raw counters for their services, so a gap in the recordings loses no event ...
    assert {"slo:sli_error_events:rate5m", "http_requests_total", "http_request_duration_seconds_count",
            "http_request_duration_seconds_bucket"} <= WRITTEN
    keeps = lambda **labels: relabel_keeps(RELABEL, labels)  # noqa: E731
    assert keeps(__name__="http_requests_total", service="api", code="500")
    assert keeps(__name__="http_request_duration_seconds_bucket", service="api", le="0.5")
    # ... but not the rest of the histogram, another service's requests, or other raw series.
    assert not keeps(__name__="http_request_duration_seconds_bucket", service="api", le="0.25")
    assert not keeps(__name__="http_requests_total", service="search")
    assert not keeps(__name__="kube_pod_status_phase", service="api")
    assert "container_memory_working_set_bytes" not in WRITTEN


def test_every_source_names_the_scrape_that_collects_it():
    assert set(SOURCE_SERIES.values()) <= set(SCRAPES)


def test_availability_turns_green_at_each_slos_objective():
    board = DASHBOARDS["slo-tracking"]
    for slo in SLOS:
        (panel,) = [p for p in board["panels"] if p["title"].startswith(f"{slo.name}:")]
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert steps == [{"color": "red", "value": None}, {"color": "green", "value": float(slo.objective)}]
    assert any(s["value"] == 99.9 for p in board["panels"] for s in p["fieldConfig"]["defaults"].get("thresholds", {}).get("steps", []))


def test_burn_rate_text_quotes_the_windows_own_factors():
    (panel,) = [p for p in DASHBOARDS["slo-tracking"]["panels"] if p["title"].startswith("Burn rate")]
    assert "13.44x over 1h" in panel["description"] and "14.4" not in panel["description"]


def test_nodes_not_ready_counts_nodes_instead_of_summing_zeros():
    (panel,) = [p for p in DASHBOARDS["platform-overview"]["panels"] if p["title"] == "Nodes Not Ready"]
    expr = panel["targets"][0]["expr"]
    assert expr.startswith("count(") and "sum(" not in expr


def test_api_dashboard_splits_by_track():
    titles = {p["title"]: p for p in DASHBOARDS["api-performance"]["panels"]}
    assert "by (service, track)" in titles["Requests per second by track"]["targets"][0]["expr"]
    assert "by (service, track)" in titles["5xx ratio by track"]["targets"][0]["expr"]


def test_slo_tracking_colours_the_decision_matrix():
    board = DASHBOARDS["slo-tracking"]
    gauge = next(p for p in board["panels"] if p["title"] == "Error budget remaining")
    steps = [s["value"] for s in gauge["fieldConfig"]["defaults"]["thresholds"]["steps"]]
    assert steps == [None, 10, 30, 50] == [v for _, v in BUDGET_STEPS]
    assert "slo_error_budget_remaining" in gauge["targets"][0]["expr"]


def test_alerts_read_only_series_that_exist():
    for rule_file in (SLO_RULES, PLATFORM_RULES):  # both run in the cluster
        for group in rule_file["groups"]:
            for rule in group["rules"]:
                unknown = series_in(rule["expr"]) - KNOWN
                assert not unknown, f"{rule.get('alert') or rule.get('record')}: {sorted(unknown)}"


def test_catalog_rejects_a_typo():
    assert series_in("rate(http_request_total[5m])") - KNOWN == {"http_request_total"}
    with pytest.raises(ValueError):
        series_in("sum(rate(http_requests_total[5m])")


def test_every_runbook_url_resolves_to_a_file_that_says_what_to_do():
    seen = set()
    for rule_file in (SLO_RULES, PLATFORM_RULES):
        for group in rule_file["groups"]:
            for rule in group["rules"]:
                if "alert" not in rule:
                    continue
                url = rule["annotations"]["runbook_url"]
                path = repo_path(url)
                assert path and path.startswith("docs/runbooks/"), f"{rule['alert']}: {url}"
                file = ROOT / path
                assert file.is_file(), f"{rule['alert']}: {path} does not exist"
                text = file.read_text()
                assert rule["alert"] in text, f"{path} does not mention {rule['alert']}"
                assert "What to do" in text, f"{path} has no 'What to do' section"
                seen.add(path)
    assert len(seen) >= 8
