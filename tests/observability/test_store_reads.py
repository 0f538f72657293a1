"""Every series a reader of the long-term store asks for is in the store: either the rendered
remote write keeps it (the cluster's `writeRelabelConfigs`, applied as Prometheus applies a `keep`
rule: the source labels joined by the separator, the regex anchored at both ends) or the store's
own rule group records it. The readers are the error-budget gate, `platformctl dr step-check` and
every section of `platformctl weekly`; their queries are captured from what they send (the gate and
the step check to the loopback store, the weekly report to its recorded answers), so a new query
cannot slip past the table below. And what should stay in the cluster is dropped.

The weekly report's node alerts were "not assessed" in production: the store never received
`ALERTS`, and the certificates section asked it for cert-manager's expiry times, which it never
received either."""
from __future__ import annotations

import datetime as dt
import re
from typing import Iterator

import promql_parser
import pytest
import yaml

from leadgen.config import load
from leadgen.observability.catalog import LONG_TERM_ALERTS, SOURCE_SERIES, recorded_series
from platformctl.project import stack_config
from tests.helpers import manifests, run_program
from tests.observability.tools import relabel_keeps
from tests.prometheus_stub import serving

RELEASE = "kubernetes:helm.sh/v3:Release"
AMP_RULES = "aws:amp/ruleGroupNamespace:RuleGroupNamespace"

# (reader, query): every query a reader sends the store. Each is checked below; a reader that
# starts asking something else fails `test_the_table_is_every_query_the_readers_send` until the
# query is added here and found in the store.
QUERIES = {
    ("gate", "slo_error_budget_remaining"),
    ("dr step-check", 'max_over_time(slo_error_budget_burn_rate{window="5m"}[10m])'),
    ("dr step-check", 'count_over_time(slo_error_budget_burn_rate{window="5m"}[10m])'),
    ("weekly slos", "slo_availability_percentage"),
    ("weekly slos", "slo_error_budget_remaining"),
    ("weekly certificates", "certmanager_certificate_expiration_timestamp_seconds"),
    ("weekly nodes_logs", 'ALERTS{alertstate="firing",alertname=~"Watchdog|KubeNodePressure|'
                          'NodeFilesystemSpaceFillingUp|NodeFilesystemAlmostOutOfSpace|NodeFilesystemFilesFillingUp|'
                          'NodeFilesystemAlmostOutOfFiles|PersistentVolumeFilling"}'),
}

# Series that must stay in the cluster (15 days there is enough; a year in the store is paid for).
DROPPED = [
    {"__name__": "ALERTS", "alertname": "HighAPIErrorRate", "alertstate": "firing", "service": "api"},
    {"__name__": "ALERTS", "alertname": "Watchdog", "alertstate": "pending"},
    {"__name__": "ALERTS", "alertname": "KubeNodePressureX", "alertstate": "firing"},
    {"__name__": "ALERTS_FOR_STATE", "alertname": "KubeNodePressure"},
    {"__name__": "node_filesystem_avail_bytes", "mountpoint": "/"},
    {"__name__": "kube_node_status_condition", "condition": "DiskPressure"},
    {"__name__": "certmanager_certificate_ready_status", "name": "api-tls"},
    {"__name__": "certmanager_certificate_expiration_timestamp_seconds_x"},
    {"__name__": "container_memory_working_set_bytes", "service": "api"},
    {"__name__": "http_requests_total", "service": "search"},
    {"__name__": "http_request_duration_seconds_bucket", "service": "api", "le": "0.25"},
]


@pytest.fixture(scope="module")
def program():
    return run_program("production")


@pytest.fixture(scope="module")
def relabel(program) -> list[dict]:
    """The remote write's relabelings as the kube-prometheus-stack release hands them to Prometheus."""
    (release,) = [r for r in program.by_type(RELEASE) if r["inputs"]["name"] == "kube-prometheus-stack"]
    (remote,) = release["inputs"]["values"]["prometheus"]["prometheusSpec"]["remoteWrite"]
    return remote["writeRelabelConfigs"]


@pytest.fixture(scope="module")
def rules(program) -> dict[str, list[dict]]:
    """The recording rules of the cluster (its PrometheusRules) and of the store (the AMP rule group)."""
    cluster = [m["spec"] for m in manifests(program) if m["kind"] == "PrometheusRule"]
    (namespace,) = program.by_type(AMP_RULES)
    store = [yaml.safe_load(namespace["inputs"]["data"])]
    return {where: [r for f in files for g in f["groups"] for r in g["rules"] if "record" in r]
            for where, files in (("cluster", cluster), ("store", store))}


def _weekly_queries() -> set[tuple[str, str]]:
    """What every weekly section asks Prometheus, from the recorded answers production's report reads."""
    from platformctl.weekly import report, sections, sources
    from platformctl.weekly.model import Context
    from tests.weekly.weeklykit import FIXTURES

    recorded = sources.FixtureFetch(FIXTURES)
    asked: set[tuple[str, str]] = set()
    current = {"key": ""}

    def fetch(service, operation, params):
        if service == "prometheus":
            asked.add((f"weekly {current['key']}", params["query"]))
        return recorded(service, operation, params)

    cfg = load("leadgen", "production", stack_config("production"))
    ctx = Context(stack="production", config=cfg, now=recorded.recorded_at,
                  since=recorded.recorded_at - dt.timedelta(days=7), fetch=fetch)
    for key in sections.SECTIONS:
        current["key"] = key
        report.assess_one(key, ctx)
    return asked


def _sent_queries() -> set[tuple[str, str]]:
    """What the gate and the step check send, as the loopback store receives it."""
    from platformctl import dr_health
    from platformctl.pack import error_budget

    asked = set()
    empty = b'{"status": "success", "data": {"resultType": "vector", "result": []}}'
    with serving(body=empty) as stub:
        for reader, read in (("gate", lambda: error_budget.query(stub.url)),
                             ("dr step-check", lambda: dr_health.check(stub.url))):
            before = len(stub.seen)
            with pytest.raises((error_budget.BudgetUnavailable, dr_health.Unhealthy)):
                read()  # an empty store: each reader asks everything it asks, then refuses
            asked |= {(reader, q) for q in stub.queries[before:]}
    return asked


def test_the_table_is_every_query_the_readers_send():
    assert _weekly_queries() | _sent_queries() == QUERIES


def _selectors(query: str) -> Iterator[tuple[str, list]]:
    found = []

    def visit(node):
        if isinstance(node, promql_parser.VectorSelector):
            found.append((node.name, list(node.matchers.matchers)))
    promql_parser.walk(promql_parser.parse(query), visit)
    return iter(found)


def _op(matcher) -> str:
    return str(matcher.op).rsplit(".", 1)[-1]


def _agrees(labels: dict, matchers: list) -> bool:
    """Whether a rule's static labels can satisfy the selector (a label the rule leaves to its
    expression may hold anything)."""
    for m in matchers:
        if m.name not in labels:
            continue
        hit = (labels[m.name] == m.value if _op(m) in ("Equal", "NotEqual")
               else re.fullmatch(m.value, labels[m.name]) is not None)
        if hit == _op(m).startswith("Not"):
            return False
    return True


def _expanded(name: str, matchers: list) -> list[dict]:
    """The series a selector asks for, one per alternative of each `=~"a|b"` matcher."""
    series = [{"__name__": name}]
    for m in matchers:
        if _op(m) == "Equal":
            series = [{**s, m.name: m.value} for s in series]
        elif _op(m) == "Re":
            choices = m.value.split("|")
            assert all(re.fullmatch(r"[A-Za-z0-9_:.-]+", c) for c in choices), m.value
            series = [{**s, m.name: c} for s in series for c in choices]
    return series


@pytest.mark.parametrize("reader, query", sorted(QUERIES))
def test_each_query_finds_its_series_in_the_store(reader, query, relabel, rules):
    for name, matchers in _selectors(query):
        in_store = [r for r in rules["store"] if r["record"] == name and _agrees(r.get("labels", {}), matchers)]
        if in_store:
            continue  # the store records it itself (its inputs: test_program_render's read check)
        in_cluster = [r for r in rules["cluster"] if r["record"] == name and _agrees(r.get("labels", {}), matchers)]
        assert in_cluster or name in SOURCE_SERIES, f"{reader}: {name} exists nowhere in the cluster"
        wanted = [{**r.get("labels", {}), **s} for r in in_cluster for s in _expanded(name, matchers)] or \
            _expanded(name, matchers)
        lost = [s for s in wanted if not relabel_keeps(relabel, s)]
        assert not lost, f"{reader} asks the store for {query}, but remote write drops {lost}"


def test_the_node_alerts_the_weekly_report_asks_for_are_every_alert_remote_written(relabel):
    (query,) = [q for reader, q in QUERIES if reader == "weekly nodes_logs"]
    ((_, matchers),) = list(_selectors(query))
    (names,) = [m.value.split("|") for m in matchers if m.name == "alertname"]
    assert set(names) == set(LONG_TERM_ALERTS)


@pytest.mark.parametrize("series", DROPPED, ids=lambda s: "-".join(s.values()))
def test_remote_write_drops_what_stays_in_the_cluster(series, relabel):
    assert not relabel_keeps(relabel, series)


def test_the_rendered_keep_rule_is_one_prometheus_accepts(relabel, tmp_path):
    # promtool compiles the regex with Go's RE2, as Prometheus does (Python's re accepts more).
    from tests.observability.tools import run, write

    config = {"global": {}, "remote_write": [{"url": "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws/"
                                                     "api/v1/remote_write",
                                              "write_relabel_configs": [
                                                  {"source_labels": r["sourceLabels"], "separator": r["separator"],
                                                   "regex": r["regex"], "action": r["action"]} for r in relabel]}]}
    done = run("promtool", "check", "config", str(write(tmp_path / "prometheus.yml", config)))
    assert done.returncode == 0, done.stdout + done.stderr

