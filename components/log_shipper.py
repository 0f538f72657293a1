"""The node-level log shipper: the OpenTelemetry Collector as a DaemonSet that tails every pod's
log file on its node and pushes the lines to Loki over OTLP.

Why the collector: its chart is already pinned for traces, its Kubernetes distribution carries
the file_log receiver, the k8s_attributes processor and the OTLP/HTTP exporter, and OTLP is
Loki's native ingestion path (Promtail is deprecated; Alloy would be a second agent and chart).

What it reads: `/var/log/pods/<namespace>_<pod>_<uid>/<container>/*.log` on every node, every
namespace, mounted read-only; only its own container's files are skipped, or each line it ships
would be shipped again. The container parser takes namespace, pod and container from the file
path; k8s_attributes adds the node and the pod's `app.kubernetes.io/name` label as `app`,
asking the API server about the pods of its own node only. Loki indexes `k8s.namespace.name`,
`k8s.pod.name`, `k8s.container.name` (its defaults) and `app` (the Loki values in
components/monitoring.py) and keeps the rest as structured metadata.

Privileges: no cloud role; a ClusterRole that reads pods, nothing else (the processor watches
namespaces or ReplicaSets only when asked for their metadata, which it is not). containerd
writes log files 0640 root:root, so the collector's non-root user (the image's 10001) reads them
through the supplementary group 0: no root user, no capability, read-only root filesystem and
mounts. Read positions live on an emptyDir, so a restarted container resumes where it stopped.

It runs on every node, whatever the taint (GPU nodes included); it opens no host port and
publishes only its own metrics (8888) to a ServiceMonitor.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi

from components.helm import helm_release
from leadgen import versions
from leadgen.observability.catalog import LOG_SHIPPER_JOB
from leadgen.versions import Pin

# The Helm release, and through `nameOverride` the chart's fullname, Service, ServiceMonitor
# (so the scrape job) and the pods' `app.kubernetes.io/name` label.
RELEASE = LOG_SHIPPER_JOB
POD_LABELS = {"app.kubernetes.io/name": RELEASE}
# The chart names the collector container after itself; the DaemonSet is `<fullname>-agent`.
CONTAINER = "opentelemetry-collector"
LOG_DIR = "/var/log/pods"
CHECKPOINT_DIR = "/var/lib/otelcol"
METRICS_PORT = 8888
COLLECTOR_USER = 10001  # the image's USER
# containerd creates every container log file 0640 root:root.
LOG_FILE_GROUP = 0
# The pod label that becomes the `app` attribute (and, in Loki, the `app` index label).
APP_LABEL = "app.kubernetes.io/name"
APP_ATTRIBUTE = "app"
# The chart's receivers that would open host ports on every node: the shipper receives nothing.
_CHART_RECEIVER_PORTS = ("otlp", "otlp-http", "jaeger-compact", "jaeger-thrift", "jaeger-grpc", "zipkin")
# Recombined partial lines are cut here (the chart preset's value); Loki refuses lines over 256 KB.
MAX_LOG_SIZE = 102400
DEFAULT_RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}


@dataclass(kw_only=True)
class LogShipperArgs:
    namespace: str
    # Loki's OTLP base URL; the exporter appends `/v1/logs`.
    loki_otlp_endpoint: str
    resources: dict = field(default_factory=lambda: DEFAULT_RESOURCES)
    image: Pin = versions.OPENTELEMETRY_COLLECTOR_K8S
    # What installs the ServiceMonitor CRD (kube-prometheus-stack).
    depends_on: Sequence[pulumi.Resource] = ()


def own_log_files(namespace: str) -> str:
    """The shipper's own container logs, as the file_log receiver globs them."""
    return f"{LOG_DIR}/{namespace}_{RELEASE}-*_*/{CONTAINER}/*.log"


def collector_config(*, namespace: str, loki_otlp_endpoint: str) -> dict:
    """The whole collector configuration (the chart's `alternateConfig`: nothing merged in)."""
    return {
        "extensions": {
            # The chart's probes read this port.
            "health_check": {"endpoint": "${env:MY_POD_IP}:13133"},
            "file_storage": {"directory": CHECKPOINT_DIR},
        },
        "receivers": {
            "file_log": {
                "include": [f"{LOG_DIR}/*/*/*.log"],
                "exclude": [own_log_files(namespace)],
                # At start, a file with no checkpoint is read from its end (not the node's whole
                # history); files that appear later are read from their start.
                "start_at": "end",
                "storage": "file_storage",
                "include_file_path": True,
                "include_file_name": False,
                "retry_on_failure": {"enabled": True},
                "operators": [{"type": "container", "id": "container-parser", "max_log_size": MAX_LOG_SIZE}],
            },
        },
        "processors": {
            "memory_limiter": {"check_interval": "5s", "limit_percentage": 80, "spike_limit_percentage": 25},
            "k8s_attributes": {
                "passthrough": False,
                # Only the pods of this node: every shipper watching every pod would load the API server.
                "filter": {"node_from_env_var": "OTEL_K8S_NODE_NAME"},
                "pod_association": [{"sources": [{"from": "resource_attribute", "name": "k8s.pod.uid"}]}],
                "extract": {"metadata": ["k8s.node.name"],
                            "labels": [{"tag_name": APP_ATTRIBUTE, "key": APP_LABEL, "from": "pod"}]},
            },
            # Bounded batches: at ordinary line lengths a gzipped request stays far below the Loki
            # gateway's 4 MB body limit (the exporter drops a batch refused with 413).
            "batch": {"send_batch_size": 1024, "send_batch_max_size": 1024, "timeout": "5s"},
        },
        "exporters": {"otlp_http/loki": {"endpoint": loki_otlp_endpoint}},
        "service": {
            "extensions": ["health_check", "file_storage"],
            "telemetry": {"metrics": {"readers": [{"pull": {"exporter": {"prometheus": {
                "host": "${env:MY_POD_IP}", "port": METRICS_PORT}}}}]}},
            "pipelines": {"logs": {"receivers": ["file_log"],
                                   "processors": ["memory_limiter", "k8s_attributes", "batch"],
                                   "exporters": ["otlp_http/loki"]}},
        },
    }


def shipper_values(*, namespace: str, loki_otlp_endpoint: str, image: Pin, resources: dict) -> dict:
    """The opentelemetry-collector chart's values for the DaemonSet."""
    return {
        "mode": "daemonset",
        "nameOverride": RELEASE,
        "image": {"repository": image.source, "tag": image.version},
        "alternateConfig": collector_config(namespace=namespace, loki_otlp_endpoint=loki_otlp_endpoint),
        "serviceAccount": {"create": True},
        # No cloud role: the service account carries no IRSA annotation.
        "clusterRole": {"create": True, "rules": [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]},
        "podSecurityContext": {"runAsNonRoot": True, "supplementalGroups": [LOG_FILE_GROUP],
                               "seccompProfile": {"type": "RuntimeDefault"}},
        "securityContext": {"runAsNonRoot": True, "runAsUser": COLLECTOR_USER, "runAsGroup": COLLECTOR_USER,
                            "allowPrivilegeEscalation": False, "privileged": False,
                            "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]},
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "extraVolumes": [
            {"name": "varlogpods", "hostPath": {"path": LOG_DIR, "type": "Directory"}},
            {"name": "checkpoints", "emptyDir": {"sizeLimit": "64Mi"}},
        ],
        "extraVolumeMounts": [
            {"name": "varlogpods", "mountPath": LOG_DIR, "readOnly": True},
            {"name": "checkpoints", "mountPath": CHECKPOINT_DIR},
        ],
        # Every taint, so tainted node groups (GPU) have their logs shipped too.
        "tolerations": [{"operator": "Exists"}],
        "resources": resources,
        "ports": {**{p: {"enabled": False} for p in _CHART_RECEIVER_PORTS},
                  "metrics": {"enabled": True, "containerPort": METRICS_PORT, "servicePort": METRICS_PORT,
                              "protocol": "TCP"}},
        # A DaemonSet gets a Service only when asked; the ServiceMonitor selects it.
        "service": {"enabled": True},
        "serviceMonitor": {"enabled": True},
    }


class LogShipper(pulumi.ComponentResource):
    def __init__(self, name: str, args: LogShipperArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:log_shipper:LogShipper", name, None, opts)
        self.release = helm_release(
            name, RELEASE, chart=versions.OPENTELEMETRY_COLLECTOR, namespace=args.namespace,
            values=shipper_values(namespace=args.namespace, loki_otlp_endpoint=args.loki_otlp_endpoint,
                                  image=args.image, resources=args.resources),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)))
        self.register_outputs({"release": self.release.name})
