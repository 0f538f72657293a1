"""Which series exist, who exports them, and what makes Prometheus scrape each exporter.

Dashboards and alerts may only read a series listed here or recorded by a generated rule; the
tests parse every expression (with the `promql-parser` package, Prometheus' own grammar) and
hold them to that, so a typo in a metric name fails CI instead of drawing an empty panel. Each
source names the object the program declares to have it scraped (`SCRAPES`), and the tests find
that object in the rendered program, so a series is only "known" if something really collects it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Scrape:
    """How a source reaches Prometheus: the scrape `job` label of its targets, and the object the
    program declares for it (`ServiceMonitor`/`PodMonitor` by name in the monitoring namespace, or
    the Helm release whose chart creates the ServiceMonitor)."""

    jobs: tuple[str, ...]
    kind: str  # ServiceMonitor | PodMonitor | Release
    name: str
    # Absent targets page or ticket through `MetricsSourceDown`; False for sources that may have
    # no target by design (the canary at zero replicas).
    watched: bool = True


# The prometheus-pushgateway chart names its Service `<release>-prometheus-pushgateway`; the
# backup job pushes there (components/backup_jobs.py gets the same URL from __main__.py).
PUSHGATEWAY_JOB = "pushgateway-prometheus-pushgateway"
# Where the backup jobs push: that Service, in the monitoring namespace (tests/data checks the two agree).
PUSHGATEWAY_URL = f"http://{PUSHGATEWAY_JOB}.monitoring.svc:9091"
# The node log shipper's release, and so its Service and scrape job (components/log_shipper.py).
LOG_SHIPPER_JOB = "log-shipper"

# The workloads' own series. Each workload is its own source (`workload-<name>`, job `<name>`),
# derived from the workloads map by leadgen/workloads.py, so a new workload is scraped and
# watched by `MetricsSourceDown` without an edit here.
APPLICATION = "application"

# Envoy Gateway's proxies, where users meet the service (the edge SLIs read them). PodMonitors get
# the job `<namespace>/<name>`. They exist only where Envoy Gateway routes `api`, so the catalogue
# lists them unwatched and Monitoring watches `ENVOY_PROXY_SCRAPE` where the gateway runs.
ENVOY_PROXY_SCRAPE = Scrape(jobs=("monitoring/envoy-proxy",), kind="PodMonitor", name="envoy-proxy")

SCRAPES: dict[str, Scrape] = {
    "kube-state-metrics": Scrape(jobs=("kube-state-metrics",), kind="Release", name="kube-prometheus-stack"),
    "cadvisor": Scrape(jobs=("kubelet",), kind="Release", name="kube-prometheus-stack"),
    "kubelet": Scrape(jobs=("kubelet",), kind="Release", name="kube-prometheus-stack"),
    "postgres-exporter": Scrape(jobs=("postgres-exporter",), kind="Release", name="postgres-exporter"),
    "cert-manager": Scrape(jobs=("cert-manager",), kind="ServiceMonitor", name="cert-manager"),
    "pgbackup": Scrape(jobs=(PUSHGATEWAY_JOB,), kind="Release", name="pushgateway"),
    # The node log shipper's own metrics (components/log_shipper.py): with none up, Loki gets no logs.
    "log-shipper": Scrape(jobs=(LOG_SHIPPER_JOB,), kind="Release", name=LOG_SHIPPER_JOB),
    # A dead Prometheus cannot report itself: the Watchdog heartbeat stops instead.
    "envoy-proxy": Scrape(jobs=ENVOY_PROXY_SCRAPE.jobs, kind=ENVOY_PROXY_SCRAPE.kind, name=ENVOY_PROXY_SCRAPE.name,
                          watched=False),
    "prometheus": Scrape(jobs=("kube-prometheus-stack-prometheus",), kind="Release", name="kube-prometheus-stack",
                         watched=False),
}

SOURCE_SERIES: dict[str, str] = {
    # Every workload (docs/app-contract.md): Prometheus client conventions, `service` and `code` labels.
    "http_requests_total": "application",
    "http_request_duration_seconds_bucket": "application",
    "http_request_duration_seconds_count": "application",
    "http_request_duration_seconds_sum": "application",
    # Envoy's upstream requests by status class (`envoy_response_code_class`), one cluster per
    # HTTPRoute rule (`envoy_cluster_name="httproute/<namespace>/<route>/rule/<n>"`); a 503 Envoy
    # answers itself (no healthy upstream) is counted here too.
    "envoy_cluster_upstream_rq_xx": "envoy-proxy",
    # kube-state-metrics (kube-prometheus-stack)
    "kube_pod_container_status_waiting_reason": "kube-state-metrics",
    "kube_pod_container_status_restarts_total": "kube-state-metrics",
    "kube_pod_container_resource_limits": "kube-state-metrics",
    "kube_pod_status_phase": "kube-state-metrics",
    "kube_node_status_condition": "kube-state-metrics",
    "kube_deployment_status_replicas_available": "kube-state-metrics",
    "kube_horizontalpodautoscaler_status_current_replicas": "kube-state-metrics",
    "kube_horizontalpodautoscaler_spec_max_replicas": "kube-state-metrics",
    # kubelet and cAdvisor (kube-prometheus-stack)
    "container_memory_working_set_bytes": "cadvisor",
    "container_cpu_usage_seconds_total": "cadvisor",
    "kubelet_volume_stats_available_bytes": "kubelet",
    "kubelet_volume_stats_capacity_bytes": "kubelet",
    # postgres_exporter
    "pg_up": "postgres-exporter",
    "pg_stat_activity_count": "postgres-exporter",
    "pg_settings_max_connections": "postgres-exporter",
    "pg_stat_database_xact_commit": "postgres-exporter",
    "pg_stat_database_xact_rollback": "postgres-exporter",
    "pg_database_size_bytes": "postgres-exporter",
    # cert-manager's controller
    "certmanager_certificate_expiration_timestamp_seconds": "cert-manager",
    # The backup job, through the Pushgateway
    "pgbackup_last_success_timestamp_seconds": "pgbackup",
    "pgbackup_duration_seconds": "pgbackup",
    "pgbackup_bytes": "pgbackup",
    "pgbackup_previous_bytes": "pgbackup",
    "pgbackup_last_run_success": "pgbackup",
    "pgbackup_suspect_backups": "pgbackup",
    "pgbackup_last_verified_backup_timestamp_seconds": "pgbackup",
    # Prometheus itself
    "ALERTS": "prometheus",
    "up": "prometheus",
}

def sources(workload_scrapes: dict[str, Scrape], envoy_gateway: bool = False) -> dict[str, Scrape]:
    """Every scrape source of a stack: the platform's, its workloads' and the router's."""
    router = {"envoy-gateway": ENVOY_GATEWAY_SCRAPE, "envoy-proxy": ENVOY_PROXY_SCRAPE} if envoy_gateway else {}
    return {**SCRAPES, **workload_scrapes, **router}


# Scraped only where Envoy Gateway routes `api` (traffic.router gateway-api).
ENVOY_GATEWAY_SCRAPE = Scrape(jobs=("envoy-gateway",), kind="ServiceMonitor", name="envoy-gateway")

# What the cluster's Prometheus remote-writes to the long-term store: the SLO recordings (a year
# of burn-rate history), cert-manager's expiry times (the weekly review's certificates) and, from
# `slo.remote_write_relabelings`, the raw series the SLIs count (their services' only, the latency
# bucket at the threshold only) and the `ALERTS` of `LONG_TERM_ALERTS`. Other raw series stay in
# the cluster for its 15 days. Every series a reader of the store asks for (the error-budget gate,
# `dr step-check`, each weekly section) is held to this in tests/observability/test_store_reads.py.
REMOTE_WRITE_KEEP = r"slo:.+|slo_.+|certmanager_certificate_expiration_timestamp_seconds"

# The alerts whose history the long-term store keeps (their firing `ALERTS` series are
# remote-written; pending ones and `ALERTS_FOR_STATE` are not), by the rule group that creates
# them: kube-prometheus-stack's `defaultRules.rules` groups (kubernetes-system-kubelet.yaml,
# node-exporter.yaml and general.rules of prometheus-community/helm-charts, read 2026-12-03) or
# `PLATFORM_RULES`, the platform's own rule file (leadgen/observability/platform_alerts.py). The
# weekly review reads the week's node disk alerts from the store, and the chart's always-firing
# `Watchdog`, whose presence over the week proves the store holds the cluster's alerts at all.
PLATFORM_RULES = "leadgen-platform-alerts"
HEARTBEAT_ALERT = "Watchdog"
LONG_TERM_ALERTS = {
    HEARTBEAT_ALERT: "general",
    # The chart names the pressure in a `condition` label (DiskPressure among others).
    "KubeNodePressure": "kubernetesSystem",
    "NodeFilesystemSpaceFillingUp": "nodeExporterAlerting",
    "NodeFilesystemAlmostOutOfSpace": "nodeExporterAlerting",
    "NodeFilesystemFilesFillingUp": "nodeExporterAlerting",
    "NodeFilesystemAlmostOutOfFiles": "nodeExporterAlerting",
    "PersistentVolumeFilling": PLATFORM_RULES,
}

# Grafana's template variables, replaced by representative values before parsing.
_GRAFANA_VARS = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1d",
}


def grafana_to_promql(expr: str) -> str:
    for var, value in _GRAFANA_VARS.items():
        expr = expr.replace(var, value)
    # Other variables ($service, ${slo_name}) only appear inside label matcher strings.
    return expr


def series_in(expr: str) -> set[str]:
    """Metric names an expression selects. ValueError if it is not valid PromQL."""
    import promql_parser  # a test-time dependency (requirements-dev.txt); the program never parses

    names: set[str] = set()

    def visit(node: object) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


def recorded_series(rule_files: Iterable[dict]) -> set[str]:
    return {r["record"] for f in rule_files for g in f["groups"] for r in g["rules"] if "record" in r}
