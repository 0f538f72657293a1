"""Every version the platform pins, in one place, so an upgrade is one reviewed diff.

Each pin is a record: what it is, where it comes from, when that version was released and the page
or tag that confirms it. A pin whose date or source has not been checked against upstream says
`unconfirmed` rather than guess. Components and the pure modules read pins from here only; a test
fails if a pinned version string appears in code anywhere else.

Checked on 2026-11-30 against stored upstream tags and AWS pages, whose newest material is from
Aug-Oct 2026: a release after that could not be seen. A pin seen only in another project's update
(a Renovate PR citing the upstream tag) or in a third-party record keeps `released`/`confirmed_by`
unconfirmed and says where it was seen in `note`. Before an upgrade, resolve each with
`helm search repo <repo>/<chart> --versions` or `aws eks describe-addon-versions`.
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
    note: str = ""  # where an unconfirmed version was seen, or why an older one is kept

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
CLUSTER_AUTOSCALER = _chart(
    "cluster-autoscaler", "9.59.0", "https://kubernetes.github.io/autoscaler", released="2026-07-21",
    confirmed_by="https://github.com/kubernetes/autoscaler/releases/tag/cluster-autoscaler-chart-9.59.0",
    note="9.60.0 (app 1.36.1) was proposed in kubernetes/autoscaler#10169 and closed; no tag found")
# 3.14.0 was seen only in Renovate PRs (shaman007/home-k3s#613); the project's repository as
# stored on 2026-08-04 has Chart.yaml at 3.13.1 and no later chart tag, so the confirmed one is pinned.
METRICS_SERVER = _chart(
    "metrics-server", "3.13.1", "https://kubernetes-sigs.github.io/metrics-server/", released="2026-06-11",
    confirmed_by="https://github.com/kubernetes-sigs/metrics-server/releases/tag/metrics-server-helm-chart-3.13.1",
    note="app v0.8.1; 3.14.0 seen only in third-party Renovate PRs, no upstream tag (checked 2026-12-03)")
# The AWS Load Balancer Controller builds the gateway's NLB from the Service annotations (the
# in-tree controller ignores the scheme and target-type ones). Charts jumped 1.17.x -> 3.x in 2026.
AWS_LOAD_BALANCER_CONTROLLER = _chart(
    "aws-load-balancer-controller", "3.5.0", "https://aws.github.io/eks-charts", released="2026-08-03",
    confirmed_by="https://github.com/aws/eks-charts/releases/tag/v0.0.242")
# Advertises nvidia.com/gpu on GPU nodes; without it no pod can request a GPU.
NVIDIA_DEVICE_PLUGIN = _chart(
    "nvidia-device-plugin", "0.20.0", "https://nvidia.github.io/k8s-device-plugin", released="2026-08-19",
    confirmed_by="https://github.com/NVIDIA/k8s-device-plugin/releases/tag/v0.20.0")

# Traffic (components/{gateway,certificates,external_dns}.py). Envoy Gateway's own CRDs come from
# its release's `envoy-gateway-crds.yaml` (below) at the controller's version, so the Gateway API
# CRDs below stay their only source.
# v1.9.1 was seen only in third-party Renovate PRs (ajaykumar4/cluster-template#457); the project's
# repository as stored on 2026-08-21 ends at the v1.9.0 tag, whose release workflow publishes both
# the chart and `envoy-gateway-crds.yaml`, so the confirmed release is pinned.
_ENVOY_RELEASE = dict(released="2026-08-15",
                      confirmed_by="https://github.com/envoyproxy/gateway/releases/tag/v1.9.0",
                      note="v1.9.1 seen only in third-party PRs, no upstream tag (checked 2026-12-03)")
ENVOY_GATEWAY = _chart("gateway-helm", "v1.9.0", "oci://docker.io/envoyproxy", **_ENVOY_RELEASE)
# The CRD schemas in ../shared/crds are this release's (its README lists the tag).
CERT_MANAGER = _chart(
    "cert-manager", "v1.21.1", "https://charts.jetstack.io", released="2026-07-29",
    confirmed_by="https://github.com/cert-manager/cert-manager/releases/tag/v1.21.1",
    note="v1.21.2 (bug and security fixes) is quoted in sylva-projects/sylva-core MR 9292 but its "
         "date is unconfirmed; move to it with the CRD schemas in ../shared/crds")
EXTERNAL_DNS = _chart(
    "external-dns", "1.21.1", "https://kubernetes-sigs.github.io/external-dns/", released="2026-04-30",
    confirmed_by="https://github.com/kubernetes-sigs/external-dns/releases/tag/external-dns-helm-chart-1.21.1",
    note="newest chart; app v0.22.0 (2026-08-19) has no chart release yet (kubernetes-sigs/external-dns#6741)")

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
# The log shipper's image (components/log_shipper.py): the collector's Kubernetes distribution
# (file_log, k8s_attributes, otlp_http, file_storage), at the appVersion of the chart above.
OPENTELEMETRY_COLLECTOR_K8S = Pin(
    name="opentelemetry-collector-k8s", version="0.158.0", kind="image",
    source="docker.io/otel/opentelemetry-collector-k8s", released="2026-08-04",
    confirmed_by="https://github.com/open-telemetry/opentelemetry-collector-releases/releases/tag/v0.158.0",
    note="v0.159.0 (2026-08-18) exists; it moves with the chart's appVersion")
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
# Envoy Gateway's CRDs, the release asset `envoy-gateway-crds.yaml` (gateway-crds-helm rendered with
# only `crds.envoyGateway.enabled`). Applied object by object with server-side apply, as Envoy
# Gateway's install guide does: as a Helm release they exceed Helm's 1 MiB release Secret.
ENVOY_GATEWAY_CRDS = Pin(name="envoy-gateway-crds", version="v1.9.0", kind="manifest",
                         source="https://github.com/envoyproxy/gateway", **_ENVOY_RELEASE)
# Gateway API standard-channel CRDs, applied from the project's release asset; the schemas the
# tests validate against are this release's (../shared/crds/README.md).
GATEWAY_API_CRDS = Pin(name="gateway-api", version="v1.6.1", kind="manifest",
                       source="https://github.com/kubernetes-sigs/gateway-api",
                       released="2026-07-16",
                       confirmed_by="https://github.com/kubernetes-sigs/gateway-api/releases/tag/v1.6.1")


def release_asset_url(pin: Pin, asset: str) -> str:
    return f"{pin.source}/releases/download/{pin.version}/{asset}"


# --- EKS managed add-ons, per Kubernetes minor -----------------------------------------------------
# kube-proxy and coredns: AWS's per-minor tables (managing-kube-proxy, managing-coredns). vpc-cni,
# aws-ebs-csi-driver and eks-pod-identity-agent: AWS publishes no per-minor table for 1.35/1.36; the
# versions are what third-party records show a 1.36 cluster resolving to, and one add-on version
# serves several minors. Confirm with `aws eks describe-addon-versions --kubernetes-version <minor>`.
_ADDON_DOCS = "https://docs.aws.amazon.com/eks/latest/userguide/workloads-add-ons-available-eks.html"
_KUBE_PROXY_DOC = "https://docs.aws.amazon.com/eks/latest/userguide/managing-kube-proxy.html"
_COREDNS_DOC = "https://docs.aws.amazon.com/eks/latest/userguide/managing-coredns.html"
_THIRD_PARTY = "seen only in third-party records of a 1.36 cluster's add-ons (2026-08/09); not in an AWS table"


def _addon(name: str, version: str, kubernetes: str, **kw: str) -> Pin:
    return Pin(name=name, version=version, kind="addon", kubernetes=kubernetes, source=_ADDON_DOCS, **kw)


EKS_ADDON_PINS = tuple(
    pin for minor, kube_proxy in (("1.35", "v1.35.3-eksbuild.13"), ("1.36", "v1.36.0-eksbuild.14"))
    for pin in (
        _addon("vpc-cni", "v1.22.4-eksbuild.3", minor, note=_THIRD_PARTY),
        _addon("coredns", "v1.14.3-eksbuild.3", minor, confirmed_by=_COREDNS_DOC),
        _addon("kube-proxy", kube_proxy, minor, confirmed_by=_KUBE_PROXY_DOC),
        _addon("aws-ebs-csi-driver", "v1.63.1-eksbuild.1", minor, note=_THIRD_PARTY),
        _addon("eks-pod-identity-agent", "v1.3.10-eksbuild.3", minor, note=_THIRD_PARTY),
    )
)


def eks_addons(kubernetes: str) -> dict[str, str]:
    """Add-on name to version for one Kubernetes minor, in declaration order."""
    return {p.name: p.version for p in EKS_ADDON_PINS if p.kubernetes == kubernetes}


# --- images --------------------------------------------------------------------------------------
# Cluster-autoscaler's minor must match the cluster's, so its image is pinned per minor.
CLUSTER_AUTOSCALER_IMAGES = tuple(
    Pin(name="cluster-autoscaler", version=tag, kind="image", kubernetes=minor,
        source="registry.k8s.io/autoscaling/cluster-autoscaler", released="2026-07-22",
        confirmed_by=f"https://github.com/kubernetes/autoscaler/releases/tag/cluster-autoscaler-{tag[1:]}")
    for minor, tag in (("1.35", "v1.35.2"), ("1.36", "v1.36.1"))
)


def cluster_autoscaler_image_tag(kubernetes: str) -> str:
    (pin,) = [p for p in CLUSTER_AUTOSCALER_IMAGES if p.kubernetes == kubernetes]
    return pin.version


# Kubernetes minors every per-minor pin covers: the cluster config accepts only these.
KUBERNETES_MINORS = tuple(sorted({p.kubernetes for p in EKS_ADDON_PINS}))

PINS: tuple[Pin, ...] = (
    CLUSTER_AUTOSCALER, METRICS_SERVER, AWS_LOAD_BALANCER_CONTROLLER, NVIDIA_DEVICE_PLUGIN,
    ENVOY_GATEWAY_CRDS, ENVOY_GATEWAY, CERT_MANAGER, EXTERNAL_DNS,
    KUBE_PROMETHEUS_STACK, LOKI, TEMPO_DISTRIBUTED, OPENTELEMETRY_COLLECTOR, OPENTELEMETRY_COLLECTOR_K8S,
    PROMETHEUS_PUSHGATEWAY,
    PROMETHEUS_POSTGRES_EXPORTER, EXTERNAL_SECRETS, GATEWAY_API_CRDS, *EKS_ADDON_PINS, *CLUSTER_AUTOSCALER_IMAGES,
)
