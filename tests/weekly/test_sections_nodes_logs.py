"""The weekly report's nodes-and-logs section from recorded answers: the week's node disk-pressure
and filesystem alerts (Prometheus `ALERTS` over `query_range`) and the top error-log patterns
(Loki `query_range`); a store without the cluster's alerts, an unreachable or malformed source is
"not assessed", never a pass."""
from __future__ import annotations

import json

import pytest

from platformctl.weekly.model import ACTION_NEEDED, ATTENTION, NOT_ASSESSED, OK
from platformctl.weekly.sections import nodes_logs
from sourcekit import NOW, SINCE, Recorded, answer, context, rows

ALERTS = "query_range.node-alerts"


def alerts_without(*names: str, keep=lambda labels: True) -> dict:
    doc = answer("prometheus", ALERTS)
    doc["data"]["result"] = [s for s in doc["data"]["result"]
                             if s["metric"]["alertname"] not in names and keep(s["metric"])]
    return doc


def assess(fetch):
    return nodes_logs.assess(context(fetch))


def test_recorded_week_gives_the_disk_alerts_and_the_top_error_patterns():
    fetch = Recorded()
    section = assess(fetch)
    assert (section.key, section.title, section.status) == ("nodes_logs", "Nodes and logs", ACTION_NEEDED)
    found = rows(section)
    assert found["PersistentVolumeFilling"] == (
        "monitoring/prometheus-kube-prometheus-stack-prometheus-db-prometheus-kube-prometheus-stack-prometheus-0, "
        "severity ticket: firing about 8.1 h from Sun 29 22:00 to Mon 30 06:00 UTC, still firing")
    assert found["NodeFilesystemSpaceFillingUp"] == (
        "10.0.34.12:9100 (/, /dev/nvme0n1p1), severity warning: firing about 5.6 h from Wed 25 14:00 to "
        "Wed 25 19:30 UTC, resolved")
    assert found["KubeNodePressure"] == ("ip-10-0-71-5.ec2.internal (DiskPressure), severity info: firing about 0.6 h "
                                         "from Sat 28 03:10 to Sat 28 03:40 UTC, resolved")
    # Memory pressure is not a disk alert; the heartbeat is no finding.
    assert "MemoryPressure" not in json.dumps(found) and "Watchdog" not in found
    assert section.figure.startswith("node alerts: 3 disk or filesystem alert(s) this week, 1 still firing "
                                     "(alert history covers 100 % of the week); error logs: 2,146 error line(s) "
                                     "(api 1,834, backend 312); 4 top pattern(s) of the newest 60")
    patterns = [(r.name, r.figure) for r in section.rows if r.status == ATTENTION and ":" in r.name
                and r.name.split(":")[0] in ("api", "backend")]
    assert patterns[0][1] == "quote request <uuid> failed: carrier API timeout after <n>"
    assert patterns[0][0].startswith("api: ")
    assert ("backend: 6x", "<time> ERROR webhook delivery to https://hooks.partner.example/leads failed: HTTP <n> "
                           "(token=<redacted>)") in patterns
    # No credential from a log line reaches the report.
    assert "sk_live" not in json.dumps([r.figure for r in section.rows])
    # The week asked of Prometheus and Loki.
    (prom,) = [p for s, _, p in fetch.calls if s == "prometheus"]
    assert prom == {"query": nodes_logs.alerts_query(), "start": "2026-11-23T06:00:00Z", "end": "2026-11-30T06:00:00Z",
                    "step": "300"}
    count, lines = [p for s, _, p in fetch.calls if s == "loki"]
    assert count["query"] == ('sum by (app) (count_over_time({k8s_namespace_name="production"} |~ "(?i)error" '
                              '[604800s]))')
    assert (lines["limit"], lines["direction"], lines["start"]) == ("5000", "backward", "2026-11-23T06:00:00Z")


def test_a_quiet_week_is_ok():
    doc = alerts_without(*nodes_logs.CHART_ALERTS, *nodes_logs.PLATFORM_ALERTS)
    count = answer("loki", "query_range.error-count")
    count["data"]["result"] = []
    fetch = Recorded().replace("prometheus", ALERTS, doc).replace("loki", "query_range.error-count", count)
    section = assess(fetch)
    assert section.status == OK
    assert section.figure == ("node alerts: no disk-pressure or filesystem alert this week (alert history covers "
                              "100 % of the week); error logs: no error line in the week")
    # No error line: the lines themselves are not asked for.
    assert [p["query"] for s, _, p in fetch.calls if s == "loki"] == [nodes_logs.count_query(604800)]


def test_alerts_that_fired_and_resolved_need_attention():
    section = assess(Recorded().replace("prometheus", ALERTS, alerts_without("PersistentVolumeFilling")))
    node = [r for r in section.rows if r.name in nodes_logs.CHART_ALERTS]
    assert {r.status for r in node} == {ATTENTION}
    assert section.status == ATTENTION


def test_a_store_without_the_clusters_heartbeat_is_not_assessed():
    # Amazon Managed Prometheus as production's SLO store receives only the SLO series: no ALERTS.
    empty = {"status": "success", "data": {"resultType": "matrix", "result": []}}
    section = assess(Recorded().replace("prometheus", ALERTS, empty))
    assert section.status == NOT_ASSESSED
    assert section.reason == ("node alerts: the store holds no Watchdog alert for the week, so it does not hold the "
                              "cluster's alerts: its remote write has stopped or drops ALERTS "
                              "(docs/runbooks/monitoring-data-missing.md)")


def test_a_heartbeat_with_gaps_leaves_alerts_unseen():
    doc = alerts_without(*nodes_logs.CHART_ALERTS, *nodes_logs.PLATFORM_ALERTS)
    heartbeat = doc["data"]["result"][0]
    heartbeat["values"] = heartbeat["values"][: len(heartbeat["values"]) // 2]
    section = assess(Recorded().replace("prometheus", ALERTS, doc))
    assert rows(section, ATTENTION)["Watchdog"] == ("the store has the cluster's alerts for only 50 % of the week: "
                                                    "alerts in the gaps are not seen")


@pytest.mark.parametrize("doc,why", [
    ({"status": "success", "data": {"resultType": "vector", "result": []}},
     "Prometheus query_range.data.resultType is 'vector', expected 'matrix'"),
    ({"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {"alertname": "Watchdog"},
                                                                        "values": [[1764482400, 1]]}]}},
     "Prometheus query_range.data.result[0].values[0] is not a [time, \"value\"] pair"),
    ({"status": "error", "errorType": "bad_data"}, "Prometheus query_range.status is 'error', not 'success'"),
    ([], "Prometheus query_range is an array, expected an object"),
])
def test_a_prometheus_answer_in_another_shape_is_not_assessed(doc, why):
    section = assess(Recorded().replace("prometheus", ALERTS, doc))
    assert section.status == NOT_ASSESSED
    assert section.reason == f"node alerts: Prometheus (query_range ALERTS) answered in an unexpected shape: {why}"


def test_unreachable_stores_are_not_assessed_each_naming_its_source():
    section = assess(Recorded().down("prometheus", reason="HTTP 403: missing aps:QueryMetrics").down("loki", reason="no query URL"))
    assert section.status == NOT_ASSESSED
    assert section.reason == ("node alerts: Prometheus (query_range ALERTS) unreachable: prometheus: HTTP 403: missing "
                              "aps:QueryMetrics; error logs: Loki (query_range) unreachable: loki: no query URL")


def test_a_loki_answer_in_another_shape_is_not_assessed():
    lines = answer("loki", "query_range.error-lines")
    lines["data"]["result"][0]["values"][3] = ["1764480000000000000"]
    section = assess(Recorded().replace("loki", "query_range.error-lines", lines))
    assert section.status == NOT_ASSESSED
    assert section.reason == ("error logs: Loki (query_range) answered in an unexpected shape: Loki query_range (lines)"
                              ".data.result[0].values[3] is not a [\"time\", \"line\"] pair")


@pytest.mark.parametrize("line,expected", [
    ('2026-11-29T10:15:02.123Z ERROR request 8f14e45f-ceea-467f-a0e6-6e5b2c1d9a77 failed after 1532ms: upstream '
     '10.0.12.7:5432 timeout', "<time> ERROR request <uuid> failed after <n>: upstream <ip> timeout"),
    ('{"level":"error","msg":"lead 48213 rejected","error":"quote service returned 503","trace_id":"4bf92f3577b34da6"}',
     "lead <n> rejected: quote service returned <n>"),
    ("ERROR login failed password=hunter2 token: abc123 for bob@example.com",
     "ERROR login failed password=<redacted> token: <redacted> for <email>"),
    ("error: pod api-7d9f8c6b5-x2k4q OOM, image digest sha256:0a1b2c3d4e5f6a7b", "error: pod api-<pod> OOM, image digest sha256:<hex>"),
    ("Error calling https://svc:s3cr3t@db.internal/x Authorization: Bearer eyJhbGciOi.eyJzdWIi.sig",
     "Error calling https://<redacted>@db.internal/x Authorization: <redacted> <redacted>"),
])
def test_lines_become_patterns_without_what_varies_or_any_credential(line, expected):
    assert nodes_logs.pattern(line) == expected


def test_one_error_repeated_is_one_pattern_and_long_lines_are_cut():
    patterns, read = nodes_logs.top_patterns([("api", f"ERROR lead {n} rejected") for n in range(7)] +
                                             [("api", "x" * 5000)])
    assert read == 8
    assert patterns[0] == (("api", "ERROR lead <n> rejected"), 7)
    assert len(patterns[1][0][1]) == nodes_logs.PATTERN_CHARS


def test_the_alerts_asked_for_are_the_ones_the_stack_renders():
    """The platform's alert is in its rendered rules; the chart's rule groups that define the others
    (and its heartbeat) are left on by the values the stack hands kube-prometheus-stack."""
    from components.monitoring import EKS_COMPONENTS
    from leadgen.observability.platform_alerts import PlatformAlertSettings, platform_rule_file

    rendered = {rule.get("alert") for group in platform_rule_file(PlatformAlertSettings())["groups"]
                for rule in group["rules"]}
    assert set(nodes_logs.PLATFORM_ALERTS) <= rendered
    default_rules = EKS_COMPONENTS["defaultRules"]
    for group in {*nodes_logs.CHART_ALERTS.values(), nodes_logs.HEARTBEAT_GROUP}:
        assert default_rules.get("rules", {}).get(group, True) is True, group
    disabled = default_rules.get("disabled", {})
    assert not [name for name in (*nodes_logs.CHART_ALERTS, nodes_logs.HEARTBEAT) if disabled.get(name)]
    assert SINCE < NOW
