"""Availability where users meet it: the edge SLI read from Envoy Gateway's proxies.

The pods' SLIs see only the requests that reach them. When the gateway answers 503 itself (no
healthy endpoint, a broken backend reference) the pods see nothing, their ratio is 0/0 and burns
nothing. The scenarios here run on the production program's rendered PrometheusRule, with series
labelled as the rendered PodMonitor and HTTPRoute label them, and prove the edge twin pages.
"""
from __future__ import annotations

import pytest

from leadgen.observability.slo import (BURN_RATE_ALERTS, EDGE_METRIC, edge_slos, error_ratio_expr, parse_slos,
                                       slo_rule_file)
from tests.helpers import find_manifest, manifests, run_program
from tests.observability.tools import expected_alert, run, scoped, write

BASE = "https://example.test/runbooks"
SLOS = parse_slos([
    {"name": "api-availability", "service": "api", "objective": 99.9, "window": "28d", "sli": "availability"},
    {"name": "api-latency", "service": "api", "objective": 99, "window": "28d", "sli": "latency", "threshold": 0.5},
    {"name": "backend-availability", "service": "backend", "objective": 99.5, "window": "28d",
     "sli": "availability"},
])


@pytest.fixture(scope="module")
def program():
    return run_program("production")


@pytest.fixture(scope="module")
def rendered(program):
    """The SLO rules as the cluster gets them, and the label sets its Prometheus gives the series."""
    rules = find_manifest(program, "PrometheusRule", "leadgen-slos")["spec"]
    monitor = find_manifest(program, "PodMonitor", "envoy-proxy")
    route = find_manifest(program, "HTTPRoute", "api")
    # The route rule that forwards to the pods (the `/metrics` rule answers 404 with no cluster).
    forward = next(i for i, r in enumerate(route["spec"]["rules"]) if r.get("backendRefs")
                   and not any(m.get("headers") for m in r.get("matches", [])))
    proxy = {
        # prometheus-operator labels a PodMonitor's targets `job=<namespace>/<name>`, and with the
        # pod's namespace, pod, container and the endpoint's port name.
        "job": f'{monitor["metadata"]["namespace"]}/{monitor["metadata"]["name"]}',
        "namespace": monitor["spec"]["namespaceSelector"]["matchNames"][0],
        "pod": "envoy-production-api-5c9f7d-abcde", "container": "envoy",
        "endpoint": monitor["spec"]["podMetricsEndpoints"][0]["port"],
        "envoy_cluster_name": f'httproute/{route["metadata"]["namespace"]}/{route["metadata"]["name"]}/rule/{forward}',
    }
    return rules, proxy


def _series(name: str, labels: dict, values: str) -> dict:
    body = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return {"series": f"{name}{{{body}}}", "values": values}


def _pods_see_nothing() -> list[dict]:
    """The api pods' counters exist (the ServiceMonitor's `service` label) but never move."""
    labels = {"service": "api", "job": "api", "namespace": "production", "pod": "api-1"}
    return [_series("http_requests_total", {**labels, "code": "200"}, "5000+0x30"),
            _series("http_request_duration_seconds_count", labels, "5000+0x30"),
            _series("http_request_duration_seconds_bucket", {**labels, "le": "0.5"}, "5000+0x30")]


def _edge(proxy: dict, ok_per_minute: int, errors_per_minute: int) -> list[dict]:
    return [_series(EDGE_METRIC, {**proxy, "envoy_response_code_class": "2"}, f"90000+{ok_per_minute}x30"),
            _series(EDGE_METRIC, {**proxy, "envoy_response_code_class": "5"}, f"10+{errors_per_minute}x30")]


def _promtool(tmp_path, rules: dict, test: dict) -> None:
    path = write(tmp_path / "rules.yaml", rules)
    result = run("promtool", "test", "rules", str(write(tmp_path / "test.yaml", {"rule_files": [str(path)], **test})))
    assert result.returncode == 0, result.stdout + result.stderr


def _group(rules: dict, name: str) -> dict:
    (group,) = [g for g in rules["groups"] if g["name"] == f"slo-{name}"]
    return group


def test_every_public_availability_slo_gets_an_edge_twin_with_the_same_budget_and_alerts():
    rules = slo_rule_file(SLOS, BASE, edge_routes={"api": "production/api"})
    (twin,) = edge_slos(SLOS, {"api": "production/api"})
    assert (twin.name, twin.service, twin.objective, twin.window) == ("api-availability-edge", "api",
                                                                     SLOS[0].objective, SLOS[0].window)
    edge, pods = _group(rules, "api-availability-edge"), _group(rules, "api-availability")
    alerts = [(r["alert"], r["labels"]["burn_rate"], r["labels"]["severity"]) for r in edge["rules"]
              if r.get("alert", "").startswith("SLOViolation")]
    assert alerts == [(r["alert"], r["labels"]["burn_rate"], r["labels"]["severity"]) for r in pods["rules"]
                      if r.get("alert", "").startswith("SLOViolation")]
    assert [a[0] for a in alerts] == [p.alert for p in BURN_RATE_ALERTS]
    # Envoy's counters of that route only: the pods' series are not read, another route is not matched.
    ratio = error_ratio_expr(twin, "5m")
    assert "http_requests_total" not in ratio
    assert 'envoy_cluster_name=~"httproute/production/api/rule/[0-9]+"' in ratio
    assert 'envoy_response_code_class="5"' in ratio
    # Latency SLOs and services with no public route get no twin; no route, no edge groups.
    assert [g["name"] for g in rules["groups"] if g["name"].endswith("-edge")] == ["slo-api-availability-edge"]
    assert not [g for g in slo_rule_file(SLOS, BASE)["groups"] if g["name"].endswith("-edge")]


def test_the_program_reads_the_edge_of_the_route_it_publishes(program, rendered):
    rules, proxy = rendered
    (group,) = [g for g in rules["groups"] if g["name"].endswith("-edge")]
    route = proxy["envoy_cluster_name"].rsplit("/rule/", 1)[0]
    assert all(route in r["expr"] for r in group["rules"] if r.get("record", "").startswith("slo:sli_error"))
    # The proxies' own absence is watched as a source (MetricsSourceDown), not only as an SLI.
    platform = find_manifest(program, "PrometheusRule", "leadgen-platform-alerts")["spec"]
    watched = [r["labels"].get("scrape_job") for g in platform["groups"] for r in g["rules"]
               if r.get("alert") == "MetricsSourceDown"]
    assert proxy["job"] in watched
    assert {m["kind"] for m in manifests(program) if m["metadata"]["name"] == "envoy-proxy"} == {"PodMonitor"}


def test_envoy_answering_503_while_the_pods_see_nothing_pages_within_the_fast_burn_window(rendered, tmp_path):
    """Every request gets Envoy's own 503 and none reaches a pod: the pods' SLO reads 0/0 and stays
    quiet, the edge twin pages on both fast-burn pairs within five minutes."""
    rules, proxy = rendered
    (group,) = [g for g in rules["groups"] if g["name"].endswith("-edge")]
    pages = [r for r in group["rules"] if r.get("alert") == "SLOViolationCritical"]
    assert [(r["labels"]["long_window"], r["labels"]["short_window"]) for r in pages] == [("1h", "5m"), ("6h", "30m")]
    labels = {"slo_name": group["rules"][0]["labels"]["slo_name"], "service": "api"}
    outage = _pods_see_nothing() + _edge(proxy, 0, 1000)
    healthy = _pods_see_nothing() + _edge(proxy, 1000, 0)
    _promtool(tmp_path, rules, {"evaluation_interval": "1m", "tests": [
        {"interval": "1m", "input_series": outage, "alert_rule_test": [
            {"eval_time": "5m", "alertname": "SLOViolationCritical",
             "exp_alerts": [expected_alert(r, labels, 1) for r in pages]}]},
        {"interval": "1m", "input_series": healthy, "alert_rule_test": [
            {"eval_time": "5m", "alertname": "SLOViolationCritical", "exp_alerts": []}]},
    ]})


def test_another_routes_errors_do_not_spend_the_edge_budget(rendered, tmp_path):
    rules, proxy = rendered
    other = {**proxy, "envoy_cluster_name": "httproute/governance/grafana/rule/0"}
    series = _pods_see_nothing() + _edge(proxy, 1000, 0) + _edge(other, 0, 1000)
    _promtool(tmp_path, rules, {"evaluation_interval": "1m", "tests": [
        {"interval": "1m", "input_series": series, "alert_rule_test": [
            {"eval_time": "10m", "alertname": "SLOViolationCritical", "exp_alerts": []}]}]})


def test_an_edge_sli_with_no_envoy_series_pages_as_missing(rendered, tmp_path):
    """The proxies are not scraped (or renamed their stats): the edge twin is blind and says so."""
    rules, proxy = rendered
    (group,) = [g for g in rules["groups"] if g["name"].endswith("-edge")]
    (missing,) = [r for r in group["rules"] if r.get("alert") == "SLOSignalMissing"]
    assert missing["labels"]["signal"] == EDGE_METRIC
    # The edge group alone: the pods' own absent-data alerts are test_slo_rules' business.
    series = [{**s, "values": s["values"].replace("+0x30", "+100x30")} for s in _pods_see_nothing()]
    _promtool(tmp_path, {"groups": [group]}, {"evaluation_interval": "1m", "tests": [
        {"interval": "1m", "input_series": series, "alert_rule_test": [
            {"eval_time": "5m", "alertname": "SLOSignalMissing", "exp_alerts": []},
            {"eval_time": "15m", "alertname": "SLOSignalMissing",
             "exp_alerts": [expected_alert(missing, {}, 1)]}]}]})


def test_slo_tracking_shows_the_edge_per_route_beside_the_pods():
    from leadgen.observability.catalog import grafana_to_promql, series_in
    from leadgen.observability.dashboards import all_dashboards

    board = all_dashboards(SLOS)["slo-tracking"]
    (panel,) = [p for p in board["panels"] if "edge" in p["title"].lower()]
    (target,) = panel["targets"]
    assert series_in(grafana_to_promql(target["expr"])) == {EDGE_METRIC}
    assert "sum by (envoy_cluster_name)" in target["expr"]
    assert panel["fieldConfig"]["defaults"]["unit"] == "percentunit"


def test_with_envoy_itself_down_the_traffic_drop_pages_and_the_edge_sli_says_it_is_blind(rendered, tmp_path):
    """No proxy answers at all: neither the pods nor Envoy count a request, so no ratio can burn.
    The pods' traffic against the same minutes a week ago pages (SLOTrafficDrop) within 15
    minutes, and no burn-rate page is made up from the empty ratios (the edge twin's missing
    series page on their own: test_an_edge_sli_with_no_envoy_series_pages_as_missing)."""
    rules, proxy = rendered
    drop = next(r for g in rules["groups"] for r in g["rules"]
                if r.get("alert") == "SLOTrafficDrop" and r["labels"]["service"] == "api")
    steps = 8 * 24 * 12  # eight days of 5-minute samples, then the outage: no sample at all

    def before_then_gone(per_step: int) -> str:
        return f"0+{per_step}x{steps} _x12"
    pod = {"service": "api", "job": "api", "namespace": "production", "pod": "api-1"}
    series = [_series("http_requests_total", {**pod, "code": "200"}, before_then_gone(6000)),
              _series("http_request_duration_seconds_count", pod, before_then_gone(6000)),
              _series("http_request_duration_seconds_bucket", {**pod, "le": "0.5"}, before_then_gone(6000)),
              _series(EDGE_METRIC, {**proxy, "envoy_response_code_class": "2"}, before_then_gone(6000))]
    # Eight days of evaluations: only the two alerts asked about and the recordings they read.
    _promtool(tmp_path, scoped(rules, {"SLOTrafficDrop", "SLOViolationCritical"}), {"evaluation_interval": "5m", "tests": [
        {"interval": "5m", "input_series": series, "alert_rule_test": [
            {"eval_time": "8d", "alertname": "SLOTrafficDrop", "exp_alerts": []},
            {"eval_time": "8d15m", "alertname": "SLOTrafficDrop", "exp_alerts": [expected_alert(drop, {"service": "api"}, 0)]},
            {"eval_time": "8d15m", "alertname": "SLOViolationCritical", "exp_alerts": []}]}]})


# --- the long-term store: the edge twin's 28-day budget --------------------------------------------
@pytest.fixture(scope="module")
def store(program):
    """The long-term store's rule file as the program hands it to Amazon Managed Prometheus, and
    what the cluster remote-writes to it."""
    import yaml

    (namespace,) = program.by_type("aws:amp/ruleGroupNamespace:RuleGroupNamespace")
    (release,) = [r for r in program.by_type("kubernetes:helm.sh/v3:Release")
                  if r["inputs"]["name"] == "kube-prometheus-stack"]
    relabel = release["inputs"]["values"]["prometheus"]["prometheusSpec"]["remoteWrite"][0]["writeRelabelConfigs"]
    return yaml.safe_load(namespace["inputs"]["data"]), relabel


def _phases(proxy: dict, phases: list[tuple[int, int, int]]) -> list[dict]:
    """Envoy's counters of the route at 5-minute samples: phases of (minutes, ok and 5xx per minute)."""
    ok, bad, values_ok, values_bad = 0, 0, ["0"], ["0"]
    for minutes, ok_rate, bad_rate in phases:
        for _ in range(minutes // 5):
            ok, bad = ok + 5 * ok_rate, bad + 5 * bad_rate
            values_ok.append(str(ok))
            values_bad.append(str(bad))
    return [_series(EDGE_METRIC, {**proxy, "envoy_response_code_class": "2"}, " ".join(values_ok)),
            _series(EDGE_METRIC, {**proxy, "envoy_response_code_class": "5"}, " ".join(values_bad))]


def test_the_store_keeps_the_edge_twins_28_day_budget_and_tickets_it(rendered, store, tmp_path):
    """An hour of Envoy's own 503s (10 % of requests) in ten hours, none of them reaching a pod: the
    pods' 28-day SLO has nothing to count (0/0), the edge twin's is charged ten budgets (1 % errors
    against 0.1 %: -900 % left) and both budget tickets fire for it, so the runbook's matrix and the
    error-budget gate see the outage. The store once counted the pods only: 100 %, no ticket."""
    _, proxy = rendered
    window, relabel = store
    from tests.observability.tools import relabel_keeps

    # What the cluster sends the store: this route's Envoy counters, not another route's.
    kept = {**proxy, "__name__": EDGE_METRIC, "envoy_response_code_class": "5"}
    assert relabel_keeps(relabel, kept)
    assert not relabel_keeps(relabel, {**kept, "envoy_cluster_name": "httproute/production/other/rule/0"})
    (group,) = [g for g in window["groups"] if g["name"] == "slo-api-availability-edge-window"]
    rules = {r["alert"]: r for r in group["rules"] if "alert" in r}
    labels = {"slo_name": "api-availability-edge", "service": "api"}
    series = _pods_see_nothing() + _phases(proxy, [(240, 1000, 0), (60, 900, 100), (300, 1000, 0)])
    _promtool(tmp_path, window, {"evaluation_interval": "1h", "tests": [{
        "interval": "5m", "input_series": series,
        "promql_expr_test": [
            {"eval_time": "10h", "expr": 'round(slo_error_budget_remaining{slo_name="api-availability-edge"}, 0.01)',
             "exp_samples": [{"labels": '{service="api",slo_name="api-availability-edge"}',
                              "value": -900}]},
            # The pods saw no request in the window: no budget for them, NaN (the gate's "no traffic").
            {"eval_time": "10h", "expr": 'slo_error_budget_remaining{slo_name="api-availability"} > -1e9',
             "exp_samples": []}],
        "alert_rule_test": [
            {"eval_time": "10h", "alertname": name, "exp_alerts": [expected_alert(rules[name], labels, -900)]}
            for name in ("SLOErrorBudgetLow", "SLOErrorBudgetExhausted")]}]})
    # The store hears of a remote-write gap for the twin too.
    gaps = [r["labels"]["slo_name"] for g in window["groups"] if g["name"] == "slo-remote-write" for r in g["rules"]]
    assert "api-availability-edge" in gaps
