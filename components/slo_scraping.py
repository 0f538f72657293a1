"""What Prometheus scrapes beyond kube-prometheus-stack's own targets: the workloads the SLOs read,
cert-manager (certificate expiry) and Envoy Gateway (the router in front of `api`).

A workload's ServiceMonitor is built from the workload's own Service object: its labels become
the selector and its port's name the endpoint, so renaming a label or a port in the workload
cannot leave the SLOs silently empty. Every track of a service reports the same `service` label
(the Service's `app` label: `api` for both `api` and `api-canary`) plus its `track`, so the SLO
counts canary traffic against the same budget and dashboards can still split by track.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from leadgen.traffic import METRICS_PATH

API_VERSION = "monitoring.coreos.com/v1"
SCRAPE_INTERVAL = "30s"


@dataclass(kw_only=True)
class ScrapedWorkload:
    name: str  # the ServiceMonitor's name; its targets' `job` label is the Service's name
    service: k8s.core.v1.Service


@dataclass(kw_only=True)
class SloScrapingArgs:
    namespace: str  # where the ServiceMonitors live (Prometheus selects them in every namespace)
    workloads: Sequence[ScrapedWorkload]
    cert_manager_namespace: str
    # The Envoy Gateway controller's namespace, or None when another router serves `api`.
    envoy_gateway_namespace: Optional[str] = None
    labels: dict[str, str] = field(default_factory=dict)
    # What installs the monitoring.coreos.com CRDs (kube-prometheus-stack): a ServiceMonitor
    # applied before it fails.
    depends_on: Sequence[pulumi.Resource] = ()


def _get(obj, key: str):
    """Read a field of an SDK output object or of a plain mapping (what the mock engine returns)."""
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


def service_selector(metadata) -> dict[str, str]:
    return dict(_get(metadata, "labels") or {})


def service_port_name(spec) -> str:
    ports = _get(spec, "ports") or []
    if not ports or not _get(ports[0], "name"):
        raise ValueError("a scraped Service needs a named port")
    return _get(ports[0], "name")


def track_relabelings() -> list[dict]:
    """`service` from the Service's `app` label (stable and canary alike), `track` beside it."""
    return [
        {"action": "replace", "sourceLabels": ["__meta_kubernetes_service_label_app"], "targetLabel": "service"},
        {"action": "replace", "sourceLabels": ["__meta_kubernetes_service_label_track"], "targetLabel": "track"},
    ]


class SloScraping(pulumi.ComponentResource):
    def __init__(self, name: str, args: SloScrapingArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:slo_scraping:SloScraping", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on))
        self._prefix = name
        self.monitors: dict[str, k8s.apiextensions.CustomResource] = {}

        for w in args.workloads:
            self._monitor(w.name, child, kind="ServiceMonitor", spec={
                "namespaceSelector": {"matchNames": [w.service.metadata.apply(lambda m: _get(m, "namespace"))]},
                "selector": {"matchLabels": w.service.metadata.apply(service_selector)},
                "endpoints": [{"port": w.service.spec.apply(service_port_name), "path": METRICS_PATH,
                               "interval": SCRAPE_INTERVAL, "relabelings": track_relabelings()}],
            }, namespace=args.namespace, labels=args.labels)

        # cert-manager's chart serves its controller's metrics on this Service and port
        # (`prometheus.enabled`); its own ServiceMonitor is off so it need not wait for the CRD.
        self._monitor("cert-manager", child, kind="ServiceMonitor", spec={
            "namespaceSelector": {"matchNames": [args.cert_manager_namespace]},
            "selector": {"matchLabels": {"app.kubernetes.io/name": "cert-manager",
                                         "app.kubernetes.io/component": "controller"}},
            "endpoints": [{"port": "tcp-prometheus-servicemonitor", "path": METRICS_PATH,
                           "interval": SCRAPE_INTERVAL}],
        }, namespace=args.namespace, labels=args.labels)

        if args.envoy_gateway_namespace:
            # The controller's Service (`envoy-gateway`, port `metrics`) and the proxies it runs.
            self._monitor("envoy-gateway", child, kind="ServiceMonitor", spec={
                "namespaceSelector": {"matchNames": [args.envoy_gateway_namespace]},
                "selector": {"matchLabels": {"control-plane": "envoy-gateway"}},
                "endpoints": [{"port": "metrics", "path": METRICS_PATH, "interval": SCRAPE_INTERVAL}],
            }, namespace=args.namespace, labels=args.labels)
            self._monitor("envoy-proxy", child, kind="PodMonitor", spec={
                "namespaceSelector": {"matchNames": [args.envoy_gateway_namespace]},
                "selector": {"matchLabels": {"app.kubernetes.io/managed-by": "envoy-gateway",
                                             "app.kubernetes.io/component": "proxy"}},
                "podMetricsEndpoints": [{"port": "metrics", "path": "/stats/prometheus",
                                         "interval": SCRAPE_INTERVAL}],
            }, namespace=args.namespace, labels=args.labels)

        self.register_outputs({"monitors": sorted(self.monitors)})

    def _monitor(self, name: str, opts: pulumi.ResourceOptions, *, kind: str, spec: dict, namespace: str,
                 labels: dict[str, str]) -> None:
        self.monitors[name] = k8s.apiextensions.CustomResource(
            f"{self._prefix}-{kind.lower()}-{name}", api_version=API_VERSION, kind=kind,
            metadata={"name": name, "namespace": namespace, **({"labels": labels} if labels else {})},
            spec=spec, opts=opts)
