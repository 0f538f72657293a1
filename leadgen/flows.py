"""The network flows the platform depends on, as data: who talks to whom, on which port, and why.

`platformctl.render.flows` resolves each flow against a stack's rendered NetworkPolicies and its
security groups and `leadgen.netpol` decides it; tests prove every flow on every stack. Endpoints:

- `pod:<chart>/<component>`: a pod a chart installs, as CHART_PODS describes it (labels the
  chart's templates set, `{release}` being the release's name);
- `workloads:<namespace>`: every Deployment and CronJob the program declares there, with the
  labels and ports they render; `deployments:<namespace>` / `cronjobs:<namespace>` only those;
- `api-server`: the EKS control plane's ENIs, in the cluster's subnets, with the cluster group;
- `nodes`: a node's own address (kubelet, kube-proxy, host-network pods), with the cluster group;
- `aws:<service>`: the service's regional endpoint as a pod resolves it: an interface endpoint
  with private DNS answers inside the VPC (its subnets, its groups); any other service, and S3
  behind its gateway endpoint, is an address outside the VPC;
- `database`, `redis`: the RDS instance and the ElastiCache group, in their subnets and groups;
- `internet`: anything outside the VPC (the SMTP relay).

A port is a number or `config:<key>` (a port the stack decides: `database`, `smtp`) or
`named:<name>` (the destination's container port of that name).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Union

Port = Union[int, str]


@dataclass(frozen=True, kw_only=True)
class ChartPod:
    chart: str
    component: str
    labels: Mapping[str, str]  # `{release}` stands for the release's name
    ports: Mapping[str, int] = field(default_factory=dict)
    host_network: bool = False
    source: str  # the chart template that sets the labels and ports


@dataclass(frozen=True, kw_only=True)
class Webhook:
    """An admission webhook (or aggregated API) a chart registers: the API server calls `pod` on
    `port` (the container port behind the Service's 443) and, with failurePolicy Fail, refuses the
    objects it guards while the call cannot get through."""
    chart: str
    configuration: str  # the ValidatingWebhookConfiguration / MutatingWebhookConfiguration / APIService
    component: str  # the ChartPod serving it
    port: int
    failure_policy: str
    source: str


@dataclass(frozen=True, kw_only=True)
class FlowSpec:
    source: str
    destination: str
    port: Port
    why: str
    protocol: str = "TCP"


_KPS = "prometheus-community/helm-charts charts/kube-prometheus-stack"
_ESO = "external-secrets/external-secrets deploy/charts/external-secrets"

CHART_PODS: dict[str, ChartPod] = {f"{p.chart}/{p.component}": p for p in (
    ChartPod(chart="kube-prometheus-stack", component="prometheus",
             labels={"app.kubernetes.io/name": "prometheus", "prometheus": "{release}-prometheus"},
             ports={"http-web": 9090}, source=f"{_KPS} (prometheus-operator's StatefulSet labels)"),
    ChartPod(chart="kube-prometheus-stack", component="operator",
             labels={"app": "kube-prometheus-stack-operator", "release": "{release}"},
             ports={"https": 10250},
             source=f"{_KPS} templates/prometheus-operator/service.yaml selector, tls.internalPort 10250"),
    ChartPod(chart="kube-prometheus-stack", component="kube-state-metrics",
             labels={"app.kubernetes.io/name": "kube-state-metrics"}, ports={"http": 8080},
             source="prometheus-community/helm-charts charts/kube-state-metrics"),
    ChartPod(chart="kube-prometheus-stack", component="alertmanager",
             labels={"app.kubernetes.io/name": "alertmanager"}, ports={"http-web": 9093},
             source=f"{_KPS} (prometheus-operator's StatefulSet labels)"),
    ChartPod(chart="kube-prometheus-stack", component="grafana",
             labels={"app.kubernetes.io/name": "grafana"}, ports={"grafana": 3000},
             source="grafana-community/helm-charts charts/grafana"),
    ChartPod(chart="kube-prometheus-stack", component="node-exporter",
             labels={"app.kubernetes.io/name": "prometheus-node-exporter"}, ports={"http-metrics": 9100},
             host_network=True, source="prometheus-community/helm-charts charts/prometheus-node-exporter hostNetwork"),
    ChartPod(chart="external-secrets", component="controller",
             labels={"app.kubernetes.io/name": "external-secrets", "app.kubernetes.io/instance": "{release}"},
             ports={"metrics": 8080}, source=f"{_ESO} templates/deployment.yaml"),
    ChartPod(chart="external-secrets", component="webhook",
             labels={"app.kubernetes.io/name": "external-secrets-webhook", "app.kubernetes.io/instance": "{release}"},
             ports={"webhook": 10250}, source=f"{_ESO} templates/webhook-service.yaml (443 -> webhook.port 10250)"),
    ChartPod(chart="loki", component="gateway", labels={"app.kubernetes.io/name": "loki",
                                                        "app.kubernetes.io/component": "gateway"},
             ports={"http-metrics": 8080}, source="grafana-community/helm-charts charts/loki gateway"),
    ChartPod(chart="loki", component="single-binary", labels={"app.kubernetes.io/name": "loki",
                                                              "app.kubernetes.io/component": "single-binary"},
             ports={"http-metrics": 3100}, source="grafana-community/helm-charts charts/loki (Monolithic)"),
    ChartPod(chart="tempo-distributed", component="distributor",
             labels={"app.kubernetes.io/name": "tempo", "app.kubernetes.io/component": "distributor"},
             ports={"grpc-otlp": 4317, "http-metrics": 3200},
             source="grafana-community/helm-charts charts/tempo-distributed"),
    ChartPod(chart="tempo-distributed", component="ingester",
             labels={"app.kubernetes.io/name": "tempo", "app.kubernetes.io/component": "ingester"},
             ports={"http-metrics": 3200}, source="grafana-community/helm-charts charts/tempo-distributed"),
    ChartPod(chart="opentelemetry-collector", component="otel-collector",
             labels={"app.kubernetes.io/name": "opentelemetry-collector", "app.kubernetes.io/instance": "{release}"},
             ports={"otlp": 4317, "otlp-http": 4318, "metrics": 8888},
             source="open-telemetry/opentelemetry-helm-charts charts/opentelemetry-collector"),
    ChartPod(chart="opentelemetry-collector", component="log-shipper",
             labels={"app.kubernetes.io/name": "log-shipper"}, ports={"metrics": 8888},
             source="components/log_shipper.py POD_LABELS (nameOverride)"),
    ChartPod(chart="prometheus-pushgateway", component="pushgateway",
             labels={"app.kubernetes.io/name": "prometheus-pushgateway"}, ports={"http": 9091},
             source="prometheus-community/helm-charts charts/prometheus-pushgateway"),
    ChartPod(chart="prometheus-postgres-exporter", component="exporter",
             labels={"app.kubernetes.io/name": "prometheus-postgres-exporter"}, ports={"http": 9187},
             source="prometheus-community/helm-charts charts/prometheus-postgres-exporter"),
    ChartPod(chart="cert-manager", component="webhook",
             labels={"app.kubernetes.io/name": "webhook", "app.kubernetes.io/instance": "{release}"},
             ports={"https": 10250}, source="cert-manager/cert-manager deploy/charts/cert-manager webhook.securePort"),
    ChartPod(chart="cert-manager", component="controller",
             labels={"app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/instance": "{release}"},
             ports={"http-metrics": 9402}, source="cert-manager/cert-manager deploy/charts/cert-manager"),
    ChartPod(chart="aws-load-balancer-controller", component="controller",
             labels={"app.kubernetes.io/name": "aws-load-balancer-controller"}, ports={"webhook-server": 9443},
             source="aws/eks-charts stable/aws-load-balancer-controller webhookBindPort 9443"),
    ChartPod(chart="metrics-server", component="metrics-server",
             labels={"app.kubernetes.io/name": "metrics-server"}, ports={"https": 10250},
             source="kubernetes-sigs/metrics-server charts/metrics-server containerPort 10250"),
    ChartPod(chart="gateway-helm", component="envoy-gateway",
             labels={"control-plane": "envoy-gateway"}, ports={"metrics": 19001},
             source="envoyproxy/gateway charts/gateway-helm"),
    # Not a chart: the EKS coredns add-on, which every pod resolves names through.
    ChartPod(chart="coredns", component="coredns", labels={"k8s-app": "kube-dns"},
             ports={"dns": 53, "dns-tcp": 53, "metrics": 9153}, source="EKS coredns add-on"),
)}

# Every chart the program installs, with the webhooks it registers (none is a statement, not a gap):
# a chart missing here fails the flow test, so a new chart's webhooks cannot go unproven.
WEBHOOKS: dict[str, tuple[Webhook, ...]] = {
    "kube-prometheus-stack": (
        Webhook(chart="kube-prometheus-stack", configuration="<release>-admission (validating and mutating)",
                component="operator", port=10250, failure_policy="Fail",
                source=f"{_KPS} templates/prometheus-operator/admission-webhooks/"),),
    "external-secrets": (
        Webhook(chart="external-secrets", configuration="secretstore-validate, externalsecret-validate",
                component="webhook", port=10250, failure_policy="Fail",
                source=f"{_ESO} templates/validatingwebhook.yaml"),),
    "cert-manager": (
        Webhook(chart="cert-manager", configuration="<release>-webhook (validating and mutating)",
                component="webhook", port=10250, failure_policy="Fail",
                source="cert-manager/cert-manager deploy/charts/cert-manager/templates/webhook-*.yaml"),),
    "aws-load-balancer-controller": (
        Webhook(chart="aws-load-balancer-controller",
                configuration="aws-load-balancer-webhook (validating and mutating)", component="controller",
                port=9443, failure_policy="Fail",
                source="aws/eks-charts stable/aws-load-balancer-controller/templates/webhook.yaml"),),
    "metrics-server": (
        Webhook(chart="metrics-server", configuration="APIService v1beta1.metrics.k8s.io",
                component="metrics-server", port=10250, failure_policy="Fail",
                source="kubernetes-sigs/metrics-server charts/metrics-server/templates/apiservice.yaml"),),
    "gateway-helm": (), "external-dns": (), "cluster-autoscaler": (), "nvidia-device-plugin": (),
    "loki": (), "tempo-distributed": (), "opentelemetry-collector": (), "prometheus-pushgateway": (),
    "prometheus-postgres-exporter": (),
}

_DNS = [("UDP", 53), ("TCP", 53)]
# Pods of the namespaces that isolate them (default-deny), each with what it needs outside itself.
_MONITORING_PODS = ("pod:kube-prometheus-stack/prometheus", "pod:kube-prometheus-stack/operator",
                    "pod:kube-prometheus-stack/grafana", "pod:kube-prometheus-stack/alertmanager",
                    "pod:external-secrets/controller", "pod:external-secrets/webhook",
                    "pod:loki/single-binary", "pod:tempo-distributed/ingester",
                    "pod:opentelemetry-collector/otel-collector", "pod:opentelemetry-collector/log-shipper",
                    "pod:prometheus-postgres-exporter/exporter")
_PROMETHEUS = "pod:kube-prometheus-stack/prometheus"


def _flows() -> tuple[FlowSpec, ...]:
    f: list[FlowSpec] = []
    for src in ("workloads:production", *_MONITORING_PODS):
        f += [FlowSpec(source=src, destination="pod:coredns/coredns", port=p, protocol=proto,
                       why="name resolution") for proto, p in _DNS]
    f += [
        # production workloads
        FlowSpec(source="deployments:production", destination="database", port="config:database",
                 why="the leads database"),
        FlowSpec(source="deployments:production", destination="redis", port=6379, why="the cache"),
        FlowSpec(source="deployments:production", destination="pod:opentelemetry-collector/otel-collector",
                 port=4317, why="traces over OTLP (OTEL_EXPORTER_OTLP_ENDPOINT)"),
        # backups: credentials through STS (IRSA), objects to S3, the database, metrics to the Pushgateway
        FlowSpec(source="cronjobs:production", destination="aws:sts", port=443,
                 why="pgbackup assumes its IRSA role"),
        FlowSpec(source="cronjobs:production", destination="aws:s3", port=443, why="pgbackup writes and reads dumps"),
        FlowSpec(source="cronjobs:production", destination="aws:secretsmanager", port=443,
                 why="pgbackup reads the RDS-managed password"),
        FlowSpec(source="cronjobs:production", destination="aws:kms", port=443,
                 why="pgbackup's objects are KMS-encrypted"),
        FlowSpec(source="cronjobs:production", destination="database", port="config:database",
                 why="pgbackup dumps and verifies the database"),
        FlowSpec(source="cronjobs:production", destination="pod:prometheus-pushgateway/pushgateway", port=9091,
                 why="backup metrics"),
        # observability pipelines
        FlowSpec(source="pod:opentelemetry-collector/log-shipper", destination="pod:loki/gateway", port=8080,
                 why="logs over OTLP to Loki's gateway"),
        FlowSpec(source="pod:opentelemetry-collector/log-shipper", destination="api-server", port=443,
                 why="the shipper's pod metadata"),
        FlowSpec(source="pod:opentelemetry-collector/otel-collector", destination="pod:tempo-distributed/distributor",
                 port=4317, why="traces to Tempo"),
        FlowSpec(source="pod:loki/single-binary", destination="aws:sts", port=443, why="Loki's IRSA role"),
        FlowSpec(source="pod:loki/single-binary", destination="aws:s3", port=443, why="Loki's chunks"),
        FlowSpec(source="pod:tempo-distributed/ingester", destination="aws:sts", port=443, why="Tempo's IRSA role"),
        FlowSpec(source="pod:tempo-distributed/ingester", destination="aws:s3", port=443, why="Tempo's blocks"),
        FlowSpec(source=_PROMETHEUS, destination="aws:sts", port=443, why="remote write's IRSA role"),
        FlowSpec(source=_PROMETHEUS, destination="aws:aps-workspaces", port=443, why="SLO history remote write"),
        FlowSpec(source="pod:external-secrets/controller", destination="aws:sts", port=443,
                 why="the SecretStore's JWT auth"),
        FlowSpec(source="pod:external-secrets/controller", destination="aws:secretsmanager", port=443,
                 why="ExternalSecrets' values"),
        FlowSpec(source="pod:external-secrets/controller", destination="api-server", port=443,
                 why="writes the synced Secrets"),
        FlowSpec(source="pod:kube-prometheus-stack/operator", destination="api-server", port=443,
                 why="reconciles Prometheus and Alertmanager"),
        FlowSpec(source="pod:kube-prometheus-stack/grafana", destination="database", port="config:database",
                 why="Grafana's own database"),
        FlowSpec(source="pod:prometheus-postgres-exporter/exporter", destination="database", port="config:database",
                 why="database metrics"),
        FlowSpec(source="pod:kube-prometheus-stack/alertmanager", destination="internet", port="config:smtp",
                 why="e-mail notifications"),
        # Prometheus to every scrape target
        FlowSpec(source=_PROMETHEUS, destination="nodes", port=10249, why="kube-proxy metrics"),
        FlowSpec(source=_PROMETHEUS, destination="pod:kube-prometheus-stack/node-exporter", port=9100,
                 why="node-exporter (host network)"),
        FlowSpec(source=_PROMETHEUS, destination="nodes", port=10250, why="kubelet and cAdvisor"),
        FlowSpec(source=_PROMETHEUS, destination="api-server", port=443, why="API server metrics and discovery"),
        FlowSpec(source=_PROMETHEUS, destination="pod:coredns/coredns", port=9153, why="CoreDNS metrics"),
        FlowSpec(source=_PROMETHEUS, destination="deployments:production", port="named:http",
                 why="the workloads' ServiceMonitors"),
        FlowSpec(source=_PROMETHEUS, destination="pod:kube-prometheus-stack/kube-state-metrics", port=8080,
                 why="kube-state-metrics"),
        FlowSpec(source=_PROMETHEUS, destination="pod:kube-prometheus-stack/operator", port=10250,
                 why="the operator's metrics"),
        FlowSpec(source=_PROMETHEUS, destination="pod:kube-prometheus-stack/alertmanager", port=9093,
                 why="Alertmanager's metrics and alerts"),
        FlowSpec(source=_PROMETHEUS, destination="pod:opentelemetry-collector/log-shipper", port=8888,
                 why="the log-shipper scrape job"),
        FlowSpec(source=_PROMETHEUS, destination="pod:opentelemetry-collector/otel-collector", port=8888,
                 why="the collector's metrics"),
        FlowSpec(source=_PROMETHEUS, destination="pod:prometheus-pushgateway/pushgateway", port=9091,
                 why="backup metrics"),
        FlowSpec(source=_PROMETHEUS, destination="pod:prometheus-postgres-exporter/exporter", port=9187,
                 why="postgres_exporter"),
        FlowSpec(source=_PROMETHEUS, destination="pod:cert-manager/controller", port=9402, why="cert-manager"),
        FlowSpec(source=_PROMETHEUS, destination="pod:gateway-helm/envoy-gateway", port=19001,
                 why="Envoy Gateway's controller"),
    ]
    # The API server to every webhook and aggregated API the charts register.
    for chart, hooks in WEBHOOKS.items():
        for h in hooks:
            f.append(FlowSpec(source="api-server", destination=f"pod:{chart}/{h.component}", port=h.port,
                              why=f"admission: {h.configuration} (failurePolicy {h.failure_policy})"))
    return tuple(f)


FLOWS: tuple[FlowSpec, ...] = _flows()


def webhook_pods(namespace_charts: Mapping[str, str]) -> list[tuple[ChartPod, Webhook, str]]:
    """(pod, webhook, release) for the charts given as release -> chart."""
    return [(CHART_PODS[f"{chart}/{h.component}"], h, release)
            for release, chart in namespace_charts.items() for h in WEBHOOKS.get(chart, ())]


def pod_labels(pod: ChartPod, release: str) -> dict[str, str]:
    return {k: v.format(release=release) for k, v in pod.labels.items()}
