"""Every version the platform pins, in one place, so an upgrade is one reviewed diff.

Each pin is a record: what it is, where it comes from, when that version was released and the page
or tag that confirms it. A pin whose date or source has not been checked against upstream says
`unconfirmed` rather than guess. Components and the pure modules read pins from here only; a test
fails if a pinned version string appears in code anywhere else.

EKS add-on versions were taken as the `aws eks describe-addon-versions --kubernetes-version <minor>`
defaults and Helm chart versions as the charts' releases when the pins were written (2026-11).
"""
from __future__ import annotations

from dataclasses import dataclass

UNCONFIRMED = "unconfirmed"
# chart: a Helm chart (HTTP repository or OCI registry); addon: an EKS managed add-on; image: a
# container image tag; engine: a managed database engine; manifest: a release asset applied as is.
KINDS = ("chart", "addon", "image", "engine", "manifest")


@dataclass(frozen=True, kw_only=True)
class Pin:
    name: str  # chart, add-on or image name as its source spells it
    version: str
    kind: str
    source: str  # chart repository (https:// or oci://), image repository, or project URL
    released: str = UNCONFIRMED  # YYYY-MM-DD
    confirmed_by: str = UNCONFIRMED  # the release page or tag that shows this version exists
    kubernetes: str = ""  # the Kubernetes minor an add-on or image is built for; "" for any

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"pin {self.name}: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if not self.version or "latest" in self.version:
            raise ValueError(f"pin {self.name}: {self.version!r} is not a fixed version")

    @property
    def is_oci(self) -> bool:
        return self.source.startswith("oci://")


def _chart(name: str, version: str, source: str, **kw: str) -> Pin:
    return Pin(name=name, version=version, kind="chart", source=source, **kw)


# --- Helm charts ---------------------------------------------------------------------------------
# Cluster add-ons (components/cluster_addons.py).
CLUSTER_AUTOSCALER = _chart("cluster-autoscaler", "9.52.1", "https://kubernetes.github.io/autoscaler")
METRICS_SERVER = _chart("metrics-server", "3.13.0", "https://kubernetes-sigs.github.io/metrics-server/")

# Traffic (components/{gateway,certificates,external_dns}.py). Envoy Gateway's own CRDs come from
# its companion chart at the controller's version, so the Gateway API CRDs below stay their only
# source.
ENVOY_GATEWAY_CRDS = _chart("gateway-crds-helm", "v1.9.1", "oci://docker.io/envoyproxy")
ENVOY_GATEWAY = _chart("gateway-helm", "v1.9.1", "oci://docker.io/envoyproxy")
# The CRD schemas in ../shared/crds are this release's (its README lists the tag).
CERT_MANAGER = _chart("cert-manager", "v1.21.1", "https://charts.jetstack.io",
                      confirmed_by="https://github.com/cert-manager/cert-manager/releases/tag/v1.21.1")
EXTERNAL_DNS = _chart("external-dns", "1.21.1", "https://kubernetes-sigs.github.io/external-dns/")

# Observability (components/monitoring.py, components/slo_scraping.py). Each is the newest release
# whose values.yaml was read for the keys the program sets (a newer kube-prometheus-stack, 91.x, was
# seen only in third-party upgrade PRs, so its values were not read). Loki and Tempo moved to the
# grafana-community repository when Grafana froze its own chart repository in January 2026.
# tempo-distributed stays on 2.x: from 3.0 the write path needs Kafka (`ingest.kafka.address`),
# which this platform does not run; 2.26.2 is the last chart with the ingester.
KUBE_PROMETHEUS_STACK = _chart(
    "kube-prometheus-stack", "88.5.3", "https://prometheus-community.github.io/helm-charts",
    released="2026-08-21",
    confirmed_by="https://github.com/prometheus-community/helm-charts/releases/tag/kube-prometheus-stack-88.5.3")
LOKI = _chart("loki", "18.11.0", "https://grafana-community.github.io/helm-charts", released="2026-08-20",
              confirmed_by="https://github.com/grafana-community/helm-charts/releases/tag/loki-18.11.0")
TEMPO_DISTRIBUTED = _chart(
    "tempo-distributed", "2.26.2", "https://grafana-community.github.io/helm-charts", released="2026-07-07",
    confirmed_by="https://github.com/grafana-community/helm-charts/releases/tag/tempo-distributed-2.26.2")
OPENTELEMETRY_COLLECTOR = _chart(
    "opentelemetry-collector", "0.170.0", "https://open-telemetry.github.io/opentelemetry-helm-charts",
    released="2026-08-14",
    confirmed_by="https://github.com/open-telemetry/opentelemetry-helm-charts/releases/tag/opentelemetry-collector-0.170.0")
PROMETHEUS_PUSHGATEWAY = _chart(
    "prometheus-pushgateway", "3.8.0", "https://prometheus-community.github.io/helm-charts", released="2026-08-07",
    confirmed_by="https://github.com/prometheus-community/helm-charts/releases/tag/prometheus-pushgateway-3.8.0")
PROMETHEUS_POSTGRES_EXPORTER = _chart(
    "prometheus-postgres-exporter", "8.2.0", "https://prometheus-community.github.io/helm-charts",
    released="2026-07-14",
    confirmed_by="https://github.com/prometheus-community/helm-charts/releases/tag/prometheus-postgres-exporter-8.2.0")
# 2.x serves only the `external-secrets.io/v1` API (v1beta1 stopped being served in 0.17).
EXTERNAL_SECRETS = _chart(
    "external-secrets", "2.9.0", "https://charts.external-secrets.io", released="2026-08-08",
    confirmed_by="https://github.com/external-secrets/external-secrets/releases/tag/helm-chart-2.9.0")

# --- release assets --------------------------------------------------------------------------------
# Gateway API standard-channel CRDs, applied from the project's release asset; the schemas the
# tests validate against are this release's (../shared/crds/README.md).
GATEWAY_API_CRDS = Pin(name="gateway-api", version="v1.6.1", kind="manifest",
                       source="https://github.com/kubernetes-sigs/gateway-api",
                       confirmed_by="https://github.com/kubernetes-sigs/gateway-api/releases/tag/v1.6.1")


def release_asset_url(pin: Pin, asset: str) -> str:
    return f"{pin.source}/releases/download/{pin.version}/{asset}"


# --- EKS managed add-ons, per Kubernetes minor -----------------------------------------------------
def _addon(name: str, version: str, kubernetes: str) -> Pin:
    return Pin(name=name, version=version, kind="addon", kubernetes=kubernetes,
               source="https://docs.aws.amazon.com/eks/latest/userguide/workloads-add-ons-available-eks.html")


EKS_ADDON_PINS = (
    _addon("vpc-cni", "v1.20.4-eksbuild.1", "1.34"),
    _addon("coredns", "v1.12.3-eksbuild.1", "1.34"),
    _addon("kube-proxy", "v1.34.1-eksbuild.2", "1.34"),
    _addon("aws-ebs-csi-driver", "v1.52.1-eksbuild.1", "1.34"),
    _addon("eks-pod-identity-agent", "v1.3.9-eksbuild.3", "1.34"),
    _addon("vpc-cni", "v1.21.1-eksbuild.1", "1.35"),
    _addon("coredns", "v1.13.1-eksbuild.1", "1.35"),
    _addon("kube-proxy", "v1.35.0-eksbuild.2", "1.35"),
    _addon("aws-ebs-csi-driver", "v1.54.0-eksbuild.1", "1.35"),
    _addon("eks-pod-identity-agent", "v1.3.10-eksbuild.1", "1.35"),
)


def eks_addons(kubernetes: str) -> dict[str, str]:
    """Add-on name to version for one Kubernetes minor, in declaration order."""
    return {p.name: p.version for p in EKS_ADDON_PINS if p.kubernetes == kubernetes}


# --- images --------------------------------------------------------------------------------------
# Cluster-autoscaler's minor must match the cluster's, so its image is pinned per minor.
CLUSTER_AUTOSCALER_IMAGES = (
    Pin(name="cluster-autoscaler", version="v1.34.1", kind="image", kubernetes="1.34",
        source="registry.k8s.io/autoscaling/cluster-autoscaler"),
    Pin(name="cluster-autoscaler", version="v1.35.0", kind="image", kubernetes="1.35",
        source="registry.k8s.io/autoscaling/cluster-autoscaler"),
)


def cluster_autoscaler_image_tag(kubernetes: str) -> str:
    (pin,) = [p for p in CLUSTER_AUTOSCALER_IMAGES if p.kubernetes == kubernetes]
    return pin.version


# Kubernetes minors every per-minor pin covers: the cluster config accepts only these.
KUBERNETES_MINORS = tuple(sorted({p.kubernetes for p in EKS_ADDON_PINS}))

PINS: tuple[Pin, ...] = (
    CLUSTER_AUTOSCALER, METRICS_SERVER, ENVOY_GATEWAY_CRDS, ENVOY_GATEWAY, CERT_MANAGER, EXTERNAL_DNS,
    KUBE_PROMETHEUS_STACK, LOKI, TEMPO_DISTRIBUTED, OPENTELEMETRY_COLLECTOR, PROMETHEUS_PUSHGATEWAY,
    PROMETHEUS_POSTGRES_EXPORTER, EXTERNAL_SECRETS, GATEWAY_API_CRDS, *EKS_ADDON_PINS, *CLUSTER_AUTOSCALER_IMAGES,
)
