"""Observability: metrics, logs, traces, alerts and dashboards, with what the workloads map derives
for every workload (its ServiceMonitor, scrape source, SLOs and dashboard row)."""
from __future__ import annotations

import pulumi

from components.monitoring import Monitoring, MonitoringArgs
from components.namespaces import MONITORING, PRODUCTION
from domains.cluster import ClusterParts
from domains.data import DataParts
from leadgen import workloads as derived
from leadgen.config import StackConfig
from leadgen.config.traffic import ROUTED_WORKLOAD
from leadgen.traffic import CERT_MANAGER_NAMESPACE, ENVOY_NAMESPACE, GATEWAY_API, public_routes


def build(cfg: StackConfig, k8s: ClusterParts, data: DataParts) -> Monitoring:
    cluster, addons = k8s.cluster, k8s.addons
    monitoring = Monitoring(f"{cfg.prefix}-obs", MonitoringArgs(
        stack=cfg.stack, cluster_name=cluster.cluster_name, region=cluster.region,
        oidc_provider_arn=cluster.oidc_provider_arn, oidc_issuer=cluster.oidc_issuer,
        config=cfg.observability, k8s_provider=k8s.k8s_provider, vpc_cidr=cfg.network.vpc_cidr,
        storage_class=addons.storage_class_name, database_address=data.database.address,
        database_port=data.database.port, database_name=data.database.database_name,
        # The routed workload's canary track is scraped beside it (a source that may be empty).
        workload_monitors=derived.all_monitors(cfg.workloads, canary_of=ROUTED_WORKLOAD),
        workload_scrapes=derived.all_scrapes(cfg.workloads, canary_of=ROUTED_WORKLOAD),
        slos=derived.all_slos(cfg.workloads, cfg.observability.slos),
        dashboard_rows=derived.dashboard_rows(cfg.workloads),
        cert_manager_namespace=CERT_MANAGER_NAMESPACE,
        envoy_gateway_namespace=ENVOY_NAMESPACE if cfg.traffic.router == GATEWAY_API else None,
        public_routes=public_routes(PRODUCTION) if cfg.traffic.router == GATEWAY_API else {},
        protected=cfg.core.is_production,
        depends_on=[k8s.namespaces[MONITORING].namespace, *(n.node_group for n in k8s.node_groups),
                    addons.storage_class], tags=cfg.tags))
    pulumi.export("observabilityBuckets", {"loki": monitoring.loki_bucket, "tempo": monitoring.tempo_bucket})
    # The long-term store the error-budget gate queries (SigV4, service `aps`), and the policy CI attaches.
    pulumi.export("sloStore", {"queryUrl": monitoring.amp_query_url,
                               "queryPolicyArn": monitoring.amp_query_policy_arn})
    return monitoring
