"""The runbook's Grafana dashboards as JSON models (Platform Overview, API Performance, Database
Metrics, SLO Tracking), loaded by the kube-prometheus-stack Grafana sidecar from ConfigMaps.

UIDs are fixed because the runbook links to them (`/d/slo-tracking`). The SLO Tracking gauges
colour the remaining budget by the runbook's decision matrix: above 50 % monitor, 30-50 % team
lead, 10-30 % engineering manager, below 10 % feature freeze. Each SLO's availability turns green
at its own objective, and burn-rate texts quote the factors of its own window.

Panels that read an SLO over its window query the long-term store (data source `amp`), the only
place that holds the whole window; the others query the cluster's Prometheus.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from leadgen.observability.slo import BURN_RATE_ALERTS, EDGE_ERRORS, EDGE_METRIC, EDGE_ROUTE_LABEL, SLO

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
LONG_TERM_UID = "amp"
LONG_TERM = {"type": "prometheus", "uid": LONG_TERM_UID}
# Grafana's Loki data source (components/monitoring.py declares it with this uid).
LOKI_UID = "loki"
LOKI = {"type": "loki", "uid": LOKI_UID}
SCHEMA_VERSION = 39
# The sidecar in kube-prometheus-stack loads every ConfigMap carrying this label.
SIDECAR_LABEL = "grafana_dashboard"
FOLDER = "Leadgen"

# (colour, from-value) steps: the error-budget decision matrix of the runbook.
BUDGET_STEPS = [("dark-red", None), ("red", 10), ("orange", 30), ("green", 50)]


def _thresholds(steps: Sequence[tuple[str, Any]]) -> dict:
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}


class _Board:
    """Lays panels out left to right on Grafana's 24-column grid."""

    def __init__(self) -> None:
        self.panels: list[dict] = []
        self._x = 0
        self._y = 0
        self._row_h = 0

    def add(self, kind: str, title: str, targets: Sequence[tuple[str, str]], *, unit: str = "short",
            w: int = 12, h: int = 8, thresholds: dict | None = None, description: str = "",
            minmax: tuple[float | None, float | None] = (None, None), datasource: dict = DATASOURCE) -> None:
        if self._x + w > 24:
            self._x, self._y, self._row_h = 0, self._y + self._row_h, 0
        defaults: dict[str, Any] = {"unit": unit}
        if thresholds:
            defaults["thresholds"] = thresholds
            defaults["color"] = {"mode": "thresholds"}
        if minmax[0] is not None:
            defaults["min"] = minmax[0]
        if minmax[1] is not None:
            defaults["max"] = minmax[1]
        panel = {
            "id": len(self.panels) + 1,
            "type": kind,
            "title": title,
            "description": description,
            "datasource": datasource,
            "gridPos": {"x": self._x, "y": self._y, "w": w, "h": h},
            "targets": [{"refId": chr(ord("A") + i), "datasource": datasource, "expr": expr,
                         "legendFormat": legend, **({"instant": True, "format": "table"} if kind == "table" else {})}
                        for i, (expr, legend) in enumerate(targets)],
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": {},
        }
        self.panels.append(panel)
        self._x += w
        self._row_h = max(self._row_h, h)


def _datasource_var() -> dict:
    return {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source",
            "current": {}, "hide": 0}


def _query_var(name: str, query: str, label: str) -> dict:
    return {"name": name, "type": "query", "label": label, "datasource": DATASOURCE,
            "query": {"query": query, "refId": f"{name}-var"}, "definition": query,
            "refresh": 2, "includeAll": True, "multi": True, "allValue": ".*", "current": {}, "hide": 0,
            "sort": 1}


def _dashboard(uid: str, title: str, board: _Board, variables: Sequence[dict], description: str) -> dict:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["leadgen"],
        "timezone": "utc",
        "editable": False,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": "1m",
        "time": {"from": "now-24h", "to": "now"},
        "templating": {"list": [_datasource_var(), *variables]},
        "annotations": {"list": []},
        "panels": board.panels,
    }


def platform_overview(namespaces: Sequence[str]) -> dict:
    ns = "|".join(namespaces)
    b = _Board()
    b.add("stat", "Nodes Ready", [('sum(kube_node_status_condition{condition="Ready",status="true"})', "ready")], w=6, h=4)
    # Count the nodes whose Ready condition is false: summing them would add up their zeros.
    b.add("stat", "Nodes Not Ready", [('count(kube_node_status_condition{condition="Ready",status="true"} == 0) or vector(0)', "not ready")],
          w=6, h=4, thresholds=_thresholds([("green", None), ("red", 1)]))
    b.add("stat", "Pods not Running", [(f'sum(kube_pod_status_phase{{namespace=~"{ns}",phase!~"Running|Succeeded"}})', "pods")],
          w=6, h=4, thresholds=_thresholds([("green", None), ("orange", 1)]))
    b.add("stat", "Alerts firing", [('count(ALERTS{alertstate="firing",severity=~"page|ticket"}) or vector(0)', "alerts")],
          w=6, h=4, thresholds=_thresholds([("green", None), ("orange", 1)]))
    b.add("timeseries", "Requests per second by service", [("sum by (service) (rate(http_requests_total[$__rate_interval]))", "{{service}}")], unit="reqps")
    b.add("timeseries", "5xx ratio by service",
          [('sum by (service) (rate(http_requests_total{code=~"5.."}[$__rate_interval]))\n/\nsum by (service) (rate(http_requests_total[$__rate_interval]))', "{{service}}")],
          unit="percentunit")
    b.add("timeseries", "CPU by namespace", [(f'sum by (namespace) (rate(container_cpu_usage_seconds_total{{namespace=~"{ns}",container!=""}}[$__rate_interval]))', "{{namespace}}")], unit="short")
    b.add("timeseries", "Memory working set by namespace", [(f'sum by (namespace) (container_memory_working_set_bytes{{namespace=~"{ns}",container!=""}})', "{{namespace}}")], unit="bytes")
    b.add("timeseries", "Container restarts (1h)", [(f'sum by (namespace, pod) (increase(kube_pod_container_status_restarts_total{{namespace=~"{ns}"}}[1h])) > 0', "{{namespace}}/{{pod}}")])
    b.add("table", "SLO error budget remaining", [("slo_error_budget_remaining", "")], unit="percent",
          thresholds=_thresholds(BUDGET_STEPS), datasource=LONG_TERM)
    return _dashboard("platform-overview", "Platform Overview", b, [], "Cluster, workload and SLO health at a glance.")


def api_performance() -> dict:
    svc = 'service=~"$service"'
    b = _Board()
    b.add("timeseries", "Requests per second by code", [(f"sum by (code) (rate(http_requests_total{{{svc}}}[$__rate_interval]))", "{{code}}")], unit="reqps")
    # Stable and canary count against one SLO; split by track to compare a release with the rest.
    b.add("timeseries", "Requests per second by track", [(f"sum by (service, track) (rate(http_requests_total{{{svc}}}[$__rate_interval]))", "{{service}} {{track}}")], unit="reqps")
    b.add("timeseries", "5xx ratio by track",
          [(f'sum by (service, track) (rate(http_requests_total{{{svc},code=~"5.."}}[$__rate_interval]))\n/\n'
            f"sum by (service, track) (rate(http_requests_total{{{svc}}}[$__rate_interval]))", "{{service}} {{track}}")],
          unit="percentunit")
    b.add("timeseries", "5xx ratio", [(f'sum by (service) (rate(http_requests_total{{{svc},code=~"5.."}}[$__rate_interval]))\n/\n'
                                       f"sum by (service) (rate(http_requests_total{{{svc}}}[$__rate_interval]))", "{{service}}")],
          unit="percentunit", thresholds=_thresholds([("green", None), ("red", 0.05)]),
          description="HighAPIErrorRate pages above 5 % for 5 minutes.")
    for q in ("0.5", "0.95", "0.99"):
        b.add("timeseries", f"Latency p{float(q) * 100:g}",
              [(f"histogram_quantile({q}, sum by (service, le) (rate(http_request_duration_seconds_bucket{{{svc}}}[$__rate_interval])))", "{{service}}")],
              unit="s", w=8)
    b.add("timeseries", "Replicas (HPA)",
          [(f'sum by (horizontalpodautoscaler) (kube_horizontalpodautoscaler_status_current_replicas{{namespace="production"}})', "{{horizontalpodautoscaler}} current"),
           (f'sum by (horizontalpodautoscaler) (kube_horizontalpodautoscaler_spec_max_replicas{{namespace="production"}})', "{{horizontalpodautoscaler}} max")])
    b.add("timeseries", "Available replicas", [('sum by (deployment) (kube_deployment_status_replicas_available{namespace="production"})', "{{deployment}}")])
    # Loki's index labels: the namespace from the log file's path, `app` from the pod's
    # app.kubernetes.io/name (the log shipper, components/log_shipper.py).
    b.add("logs", "Logs", [('{k8s_namespace_name="production", app=~"$service"}', "")], w=24, h=10, datasource=LOKI,
          description="Every container of the selected services, stable and canary, as the log shipper sends them to Loki.")
    return _dashboard("api-performance", "API Performance", b,
                      [_query_var("service", "label_values(http_requests_total, service)", "Service")],
                      "Traffic, errors and latency of the HTTP services.")


def database_metrics() -> dict:
    b = _Board()
    b.add("stat", "PostgreSQL up", [("min(pg_up)", "up")], w=6, h=4, thresholds=_thresholds([("red", None), ("green", 1)]))
    b.add("gauge", "Connections used", [("max(sum by (instance) (pg_stat_activity_count) / max by (instance) (pg_settings_max_connections))", "used")],
          unit="percentunit", w=6, h=4, minmax=(0, 1), thresholds=_thresholds([("green", None), ("orange", 0.8), ("red", 0.95)]))
    b.add("stat", "Hours since last backup",
          [('(time() - max by (database) (pgbackup_last_success_timestamp_seconds{job="pgbackup",operation="backup"})) / 3600', "{{database}}")],
          unit="h", w=6, h=4, thresholds=_thresholds([("green", None), ("orange", 24), ("red", 26)]))
    b.add("stat", "Last verification", [('min(pgbackup_last_run_success{job="pgbackup",operation="verify"})', "verify")],
          w=6, h=4, thresholds=_thresholds([("red", None), ("green", 1)]))
    b.add("stat", "Hours since newest verified backup",
          [('(time() - max by (database) (pgbackup_last_verified_backup_timestamp_seconds{job="pgbackup",operation="verify"})) / 3600', "{{database}}")],
          unit="h", w=6, h=4, thresholds=_thresholds([("green", None), ("red", 24)]),
          description="PgBackupNotVerified pages above 24 hours.")
    b.add("stat", "Suspect backups", [('max by (database) (pgbackup_suspect_backups{job="pgbackup"})', "{{database}}")],
          w=6, h=4, thresholds=_thresholds([("green", None), ("red", 1)]),
          description="Backups that disagree with the bucket's clock; `python -m jobs.pgbackup list` shows why.")
    b.add("timeseries", "Connections by state", [("sum by (state) (pg_stat_activity_count)", "{{state}}"), ("max(pg_settings_max_connections)", "max_connections")])
    b.add("timeseries", "Transactions per second", [("sum by (datname) (rate(pg_stat_database_xact_commit[$__rate_interval]))", "{{datname}} commit"),
                                                    ("sum by (datname) (rate(pg_stat_database_xact_rollback[$__rate_interval]))", "{{datname}} rollback")], unit="ops")
    b.add("timeseries", "Database size", [("sum by (datname) (pg_database_size_bytes)", "{{datname}}")], unit="bytes")
    b.add("timeseries", "Backup size", [('max by (database) (pgbackup_bytes{job="pgbackup",operation="backup"})', "{{database}}")], unit="bytes")
    b.add("timeseries", "Backup duration", [('max by (database, operation) (pgbackup_duration_seconds{job="pgbackup"})', "{{database}} {{operation}}")], unit="s")
    return _dashboard("database-metrics", "Database Metrics", b, [], "PostgreSQL load and the backup job's health.")


def _factors(slo: SLO) -> str:
    pairs = ", ".join(f"{slo.burn_factor(p)}x over {p.long_window}" for p in BURN_RATE_ALERTS)
    return f"{slo.name} ({slo.window}): {pairs}"


def slo_tracking(slos: Sequence[SLO]) -> dict:
    sel = 'slo_name=~"$slo_name"'
    b = _Board()
    b.add("gauge", "Error budget remaining", [(f"slo_error_budget_remaining{{{sel}}}", "{{slo_name}}")], unit="percent", w=12, h=6,
          minmax=(0, 100), thresholds=_thresholds(BUDGET_STEPS), datasource=LONG_TERM,
          description="Decision matrix: >50 % monitor; 30-50 % optimize (team lead); 10-30 % mitigate "
                      "(engineering manager); <10 % feature freeze (CTO).")
    for slo in slos:
        # Green from the SLO's own objective up: 99 % is a breach of a 99.9 % objective.
        b.add("stat", f"{slo.name}: good events over {slo.window}",
              [(f'slo_availability_percentage{{slo_name="{slo.name}"}}', "{{slo_name}}")], unit="percent",
              w=6, h=6, thresholds=_thresholds([("red", None), ("green", float(slo.objective))]), datasource=LONG_TERM,
              description=f"Objective {slo.objective} % over {slo.window}.")
    b.add("timeseries", "Error budget remaining over time", [(f"slo_error_budget_remaining{{{sel}}}", "{{slo_name}}")], unit="percent",
          thresholds=_thresholds(BUDGET_STEPS), datasource=LONG_TERM)
    b.add("timeseries", "Burn rate (1h, 6h, 1d, 3d)", [(f'slo_error_budget_burn_rate{{{sel},window=~"1h|6h|1d|3d"}}', "{{slo_name}} {{window}}")],
          datasource=LONG_TERM,
          description="1 means the budget lasts exactly the SLO window. The alerts fire at: "
                      + "; ".join(_factors(s) for s in slos) + ".")
    b.add("timeseries", "Error ratio (5m)", [(f"slo:sli_error:ratio_rate5m{{{sel}}}", "{{slo_name}}"),
                                             (f"slo:error_budget:ratio{{{sel}}}", "{{slo_name}} budget")], unit="percentunit")
    # Where users meet the service: the share of each public route's requests Envoy answered
    # without a 5xx, beside the pods' own ratio above (a gap between them is the edge failing).
    route = f'{EDGE_ROUTE_LABEL}=~"httproute/.+"'
    edge_total = f"sum by ({EDGE_ROUTE_LABEL}) (rate({EDGE_METRIC}{{{route}}}[$__rate_interval]))"
    edge_bad = f"sum by ({EDGE_ROUTE_LABEL}) (rate({EDGE_METRIC}{{{route},{EDGE_ERRORS}}}[$__rate_interval]))"
    b.add("timeseries", "Availability at the edge (Envoy, per route)",
          [(f"1 - (({edge_bad}) or 0 * {edge_total}) / {edge_total}", f"{{{{{EDGE_ROUTE_LABEL}}}}}")], unit="percentunit",
          description="Requests Envoy Gateway answered without a 5xx, per HTTPRoute rule, including the 503s "
                      "Envoy answers itself when no pod can take the request. The edge SLOs (`<name>-edge`) "
                      "page on this ratio.")
    b.add("table", "SLO alerts firing", [(f'ALERTS{{alertstate="firing",alertname=~"SLOViolationCritical|SLOViolationWarning|SLOSignalMissing",{sel}}}', "")])
    return _dashboard("slo-tracking", "SLO Tracking", b,
                      [_query_var("slo_name", "label_values(slo:objective:ratio, slo_name)", "SLO")],
                      "Availability, error budget and burn rates of every SLO from stack config.")


def workloads_board(rows: Mapping[str, Sequence[tuple[str, str, str]]]) -> dict:
    """One row of panels per workload (leadgen/workloads.py derives each from the workload's entry),
    every title starting with the workload's name."""
    b = _Board()
    for name, panels in rows.items():
        for title, expr, unit in panels:
            b.add("timeseries", title, [(expr, "{{track}}" if "by (track)" in expr else name)], unit=unit,
                  w=24 // max(1, len(panels)))
    return _dashboard("workloads", "Workloads", b, [], "Traffic, errors and latency of every workload, one row each.")


def all_dashboards(slos: Sequence[SLO], namespaces: Sequence[str] = ("production", "governance", "monitoring"),
                   workload_rows: Mapping[str, Sequence[tuple[str, str, str]]] | None = None) -> dict[str, dict]:
    """uid -> dashboard JSON model."""
    boards = [platform_overview(namespaces), api_performance(), database_metrics(), slo_tracking(slos),
              workloads_board(workload_rows or {})]
    return {d["uid"]: d for d in boards}
