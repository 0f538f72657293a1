"""Deploy readiness rules: the resource graph (`graph.py`) judged as a first `pulumi up` on a fresh
account meets it.

Every object the program emits can be valid on its own and the first update still fail: a custom
resource sent before its CRD exists, nodes that join before their CNI has permissions, a volume
claim with no StorageClass, a pod waiting for a Secret nobody creates, a backup client older than
its server. These predicates read the whole stack (types, properties, dependencies and parents, as
AnalyzeStack carries them) and say what the engine would meet, and in which order.

"Waits for" follows the engine: a resource is created after its dependencies and its parent, so
it waits for everything reachable through those edges. Values unknown at preview skip only the
item that reads them.
"""
from __future__ import annotations

import fnmatch
import json
import pathlib
import re
from dataclasses import dataclass
from typing import Any, Iterator, Optional

import yaml

from ..aws.eks import is_gpu_instance
from ..aws.rds import POSTGRES_ENGINES
from ..kubernetes.objects import POD_SPEC_PATHS
from ..model import Context, Resource
from ..values import UNKNOWN_VALUES, Unknown, as_list, get, is_unknown, truthy
from .graph import (CONFIG_FILE_TYPES, HELM_TYPES, K8S_COMPONENT_TYPES, api_group, chart_name, config_files,
                    graph_of, is_custom_resource, label, major_version, meta, release_namespace, safe, some, walk)

PREREQUISITES_FILE = pathlib.Path(__file__).parent.parent / "prerequisites.yaml"

CRD_TYPE = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"
K8S_PROVIDER = "pulumi:providers:kubernetes"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ADDON = "aws:eks/addon:Addon"
ACCESS_TYPES = ("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "aws:eks/accessEntry:AccessEntry")
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
SECRET = "kubernetes:core/v1:Secret"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
SM_SECRET = "aws:secretsmanager/secret:Secret"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
RDS_TYPES = ("aws:rds/instance:Instance", "aws:rds/cluster:Cluster")
DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class",
                             "storageclass.beta.kubernetes.io/is-default-class")


@dataclass(frozen=True)
class CrdInstaller:
    """One thing the program declares that installs a CRD group: a Helm chart (by its name, the
    last part of an OCI reference) with the values switch that turns its CRDs on, or a manifest
    file by the text of its URL."""

    group: str
    chart: str = ""
    file: str = ""
    switch: tuple[str, ...] = ()  # values paths; any of them true turns the CRDs on
    default: bool = True  # the chart's own default for its CRDs
    in_crds_dir: bool = False  # the CRDs sit in the chart's crds/ folder, which skipCrds skips

    def installs(self, r: Resource) -> bool:
        if self.file:
            return r.type in CONFIG_FILE_TYPES and self.file in str(config_files(r))
        if r.type not in HELM_TYPES or chart_name(r) != self.chart:
            return False
        if self.in_crds_dir and truthy(get(r.props, "skipCrds", False)):
            return False
        values = get(r.props, "values") or {}
        for path in self.switch:
            value = get(values, path)
            if value is not None:
                return truthy(value)
        return self.default


# The one map from CRD group to what carries it, for the charts and manifests this platform uses.
CRD_INSTALLERS: tuple[CrdInstaller, ...] = (
    CrdInstaller("monitoring.coreos.com", chart="kube-prometheus-stack", switch=("crds.enabled",), in_crds_dir=True),
    CrdInstaller("monitoring.coreos.com", chart="prometheus-operator-crds"),
    # cert-manager ships its CRDs off by default; `crds.enabled` (v1.15+) or the older installCRDs.
    CrdInstaller("cert-manager.io", chart="cert-manager", switch=("crds.enabled", "installCRDs"), default=False),
    CrdInstaller("acme.cert-manager.io", chart="cert-manager", switch=("crds.enabled", "installCRDs"), default=False),
    CrdInstaller("external-secrets.io", chart="external-secrets", switch=("installCRDs",)),
    CrdInstaller("generators.external-secrets.io", chart="external-secrets", switch=("installCRDs",)),
    CrdInstaller("gateway.networking.k8s.io", file="kubernetes-sigs/gateway-api/"),
    CrdInstaller("gateway.networking.k8s.io", chart="gateway-crds-helm", switch=("crds.gatewayAPI.enabled",),
                 default=False),
    # gateway-helm renders its CRDs from a `crds` subchart's templates: skipCrds does not skip them.
    CrdInstaller("gateway.networking.k8s.io", chart="gateway-helm", switch=("crds.enabled",)),
    # Envoy Gateway's release manifest of its CRDs (applied server-side: too big for a Helm release Secret).
    CrdInstaller("gateway.envoyproxy.io", file="envoyproxy/gateway/releases/"),
    CrdInstaller("gateway.envoyproxy.io", chart="gateway-crds-helm", switch=("crds.envoyGateway.enabled",),
                 default=False),
    CrdInstaller("gateway.envoyproxy.io", chart="gateway-helm", switch=("crds.enabled",)),
)

# Registries an image may come from without the stack declaring them: public, and what the
# charts we run pull from. A host, or a host and path prefix.
PUBLIC_REGISTRIES = (
    "docker.io", "registry-1.docker.io", "quay.io", "ghcr.io", "registry.k8s.io", "public.ecr.aws",
    "nvcr.io", "gcr.io/distroless", "mcr.microsoft.com",
)
ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")
ARN_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):")
SM_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:(.+)-[A-Za-z0-9]{6}$")

# The backup job, and where it says which PostgreSQL client its image installs (the Dockerfile's
# `ARG PG_CLIENT_MAJOR`): the program writes it on the CronJob, since the pack cannot read the image.
BACKUP_JOB = "pgbackup"
PG_CLIENT_MAJOR_ANNOTATION = "leadgen.io/pg-client-major"

DEVICE_PLUGIN_CHARTS = ("nvidia-device-plugin", "gpu-operator")
DEVICE_PLUGIN_IMAGES = ("k8s-device-plugin", "nvidia-device-plugin", "neuron-device-plugin")
ENFORCING_CNI_CHARTS = ("cilium", "tigera-operator", "calico", "antrea")



# --- 1. custom resources after their CRDs -------------------------------------------------------
def custom_resources_after_crds(resources: list[Resource], ctx: Context) -> Iterator[tuple[str, str]]:
    graph = graph_of(resources)
    installers: dict[str, set[str]] = {}
    for r in resources:
        if r.type == CRD_TYPE:
            try:
                group = get(r.props, "spec.group")
            except Unknown:
                continue
            if isinstance(group, str):
                installers.setdefault(group, set()).add(r.urn)
            continue
        for inst in CRD_INSTALLERS:
            try:
                if inst.installs(r):
                    installers.setdefault(inst.group, set()).add(r.urn)
            except Unknown:
                continue
    frozen = {g: frozenset(u) for g, u in installers.items()}
    for r in resources:
        if not is_custom_resource(r.type):
            continue
        group = api_group(r.type)
        targets = frozen.get(group, frozenset())
        if not targets:
            known = sorted({i.chart or i.file for i in CRD_INSTALLERS if i.group == group})
            hint = f" (known installers: {', '.join(known)})" if known else ""
            yield (f"{label(r)}: nothing in the stack installs the {group} CRDs{hint}; "
                   "the API server would refuse it"), r.urn
        elif not graph.waits_for_any(r.urn, targets):
            names = some(sorted(graph.by_urn[u].name for u in targets))
            yield (f"{label(r)}: does not wait for {names}, which installs the {group} CRDs; "
                   "a first update may send it before the CRD exists"), r.urn


# --- 2. what pods, releases and ExternalSecrets refer to is declared ----------------------------
@dataclass(frozen=True)
class Prerequisites:
    secrets: tuple[str, ...] = ()
    config_maps: tuple[str, ...] = ()
    service_accounts: tuple[str, ...] = ()
    secrets_manager: tuple[str, ...] = ()

    def lists(self, kind: str, name: str) -> bool:
        patterns = {"Secret": self.secrets, "ConfigMap": self.config_maps, "ServiceAccount": self.service_accounts,
                    "Secrets Manager entry": self.secrets_manager}[kind]
        return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def load_prerequisites(path: pathlib.Path = PREREQUISITES_FILE) -> Prerequisites:
    doc = yaml.safe_load(path.read_text()) or {}
    k8s = doc.get("kubernetes") or {}
    return Prerequisites(tuple(k8s.get("secrets") or ()), tuple(k8s.get("configMaps") or ()),
                         tuple(k8s.get("serviceAccounts") or ()), tuple(doc.get("secretsManager") or ()))


# Made by the cluster in every namespace.
CLUSTER_MADE = {"ServiceAccount": ("default",), "ConfigMap": ("kube-root-ca.crt",)}

# Helm values keys (the last one or two parts of a path) that name an existing object in the
# release's namespace, as the charts we run spell them.
_VALUES_REFS = {
    ("existingSecret",): "Secret", ("envFromSecret",): "Secret", ("configSecret",): "Secret",
    ("userSecret", "name"): "Secret", ("passwordSecret", "name"): "Secret",
    ("existingConfigMap",): "ConfigMap",
}


def declared_objects(resources: list[Resource]) -> dict[str, set]:
    out: dict[str, set] = {"Secret": set(), "ConfigMap": set(), "ServiceAccount": set(), "Secrets Manager entry": set()}
    kinds = {SECRET: "Secret", CONFIG_MAP: "ConfigMap", SERVICE_ACCOUNT: "ServiceAccount"}
    for r in resources:
        try:
            if r.type in kinds:
                out[kinds[r.type]].add(meta(r))
            elif r.type.startswith("kubernetes:external-secrets.io/") and r.type.endswith(":ExternalSecret"):
                ns, name = meta(r)
                out["Secret"].add((ns, get(r.props, "spec.target.name") or name))
            elif r.type.startswith("kubernetes:cert-manager.io/") and r.type.endswith(":Certificate"):
                ns, _ = meta(r)
                if get(r.props, "spec.secretName"):
                    out["Secret"].add((ns, get(r.props, "spec.secretName")))
            elif r.type in HELM_TYPES:
                ns = release_namespace(r)
                for path, sa in walk(get(r.props, "values") or {}):
                    if path and path[-1] == "serviceAccount" and isinstance(sa, dict) \
                            and sa.get("create", True) is not False and isinstance(sa.get("name"), str):
                        out["ServiceAccount"].add((ns, sa["name"]))
            elif r.type == SM_SECRET:
                for key in ("name", "arn"):
                    value = get(r.props, key)
                    if isinstance(value, str):
                        out["Secrets Manager entry"].add(value)
            elif r.type in RDS_TYPES and truthy(get(r.props, "manageMasterUserPassword", False)):
                # RDS creates and names its master secret itself (`rds!db-...`, `rds!cluster-...`).
                out["Secrets Manager entry"].add("rds!*")
        except Unknown:
            continue
    return out


def _pod_refs(spec: dict) -> Iterator[tuple[str, Any]]:
    """(kind, name) of everything a pod spec needs to exist; optional references excluded."""
    yield "ServiceAccount", spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    for s in as_list(spec.get("imagePullSecrets")):
        yield "Secret", get(s, "name")
    for v in as_list(spec.get("volumes")):
        if get(v, "secret") and not truthy(get(v, "secret.optional", False)):
            yield "Secret", get(v, "secret.secretName")
        if get(v, "configMap") and not truthy(get(v, "configMap.optional", False)):
            yield "ConfigMap", get(v, "configMap.name")
        for src in as_list(get(v, "projected.sources")):
            for kind, key in (("Secret", "secret"), ("ConfigMap", "configMap")):
                if get(src, key) and not truthy(get(src, f"{key}.optional", False)):
                    yield kind, get(src, f"{key}.name")
    for key in ("initContainers", "containers"):
        for c in as_list(spec.get(key)):
            for e in as_list(get(c, "env")):
                for kind, ref in (("Secret", "valueFrom.secretKeyRef"), ("ConfigMap", "valueFrom.configMapKeyRef")):
                    if get(e, ref) and not truthy(get(e, f"{ref}.optional", False)):
                        yield kind, get(e, f"{ref}.name")
                value = get(e, "value")
                match = SM_ARN.match(value) if isinstance(value, str) else None
                if match:
                    yield "Secrets Manager entry", match.group(1)
            for e in as_list(get(c, "envFrom")):
                for kind, ref in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
                    if get(e, ref) and not truthy(get(e, f"{ref}.optional", False)):
                        yield kind, get(e, f"{ref}.name")


def _values_refs(values: Any) -> Iterator[tuple[str, Any]]:
    for path, value in walk(values):
        for suffix, kind in _VALUES_REFS.items():
            if path[-len(suffix):] == suffix and isinstance(value, str) and value:
                yield kind, value
        if path and path[-1] == "serviceAccount" and isinstance(value, dict) and value.get("create") is False \
                and isinstance(value.get("name"), str):
            yield "ServiceAccount", value["name"]
        # Prometheus Operator specs mount Secrets and ConfigMaps by name (alertmanagerSpec.secrets).
        if len(path) >= 2 and str(path[-2]).endswith("Spec") and path[-1] in ("secrets", "configMaps") \
                and isinstance(value, list):
            for name in value:
                yield ("Secret" if path[-1] == "secrets" else "ConfigMap"), name


def references_of(r: Resource) -> Iterator[tuple[str, str, Any]]:
    """(kind, namespace, name) of what one resource refers to."""
    if r.type in POD_SPEC_PATHS:
        ns, _ = meta(r)
        spec = get(r.props, POD_SPEC_PATHS[r.type]) or {}
        for kind, name in _pod_refs(spec if isinstance(spec, dict) else {}):
            yield kind, ns, name
    elif r.type in HELM_TYPES:
        ns = release_namespace(r)
        for kind, name in _values_refs(get(r.props, "values") or {}):
            yield kind, ns, name
    elif r.type.startswith("kubernetes:external-secrets.io/"):
        ns, _ = meta(r)
        if r.type.endswith(":ExternalSecret"):
            for d in as_list(get(r.props, "spec.data")):
                yield "Secrets Manager entry", "", get(d, "remoteRef.key")
            for d in as_list(get(r.props, "spec.dataFrom")):
                if get(d, "extract.key"):
                    yield "Secrets Manager entry", "", get(d, "extract.key")
        elif r.type.endswith("SecretStore"):
            auth = get(r.props, "spec.provider.aws.auth") or {}
            sa = get(auth, "jwt.serviceAccountRef")
            if sa:
                yield "ServiceAccount", get(sa, "namespace") or ns, get(sa, "name")
            for key in ("accessKeyIDSecretRef", "secretAccessKeySecretRef"):
                ref = get(auth, f"secretRef.{key}")
                if ref:
                    yield "Secret", get(ref, "namespace") or ns, get(ref, "name")


def _sm_name(ref: str) -> str:
    match = SM_ARN.match(ref)
    return match.group(1) if match else ref


def references_declared(resources: list[Resource], ctx: Context,
                        prerequisites: Optional[Prerequisites] = None) -> Iterator[tuple[str, str]]:
    prerequisites = prerequisites or load_prerequisites()
    declared = declared_objects(resources)
    for r in resources:
        try:
            refs = list(references_of(r))
        except Unknown:
            continue
        reported = set()
        for kind, ns, name in refs:
            if not isinstance(name, str) or not name or is_unknown(name):
                continue
            if kind == "Secrets Manager entry":
                found = {name, _sm_name(name)} & declared[kind] or any(
                    fnmatch.fnmatchcase(_sm_name(name), d) for d in declared[kind] if "*" in d)
                listed = prerequisites.lists(kind, _sm_name(name))
                where = name
            else:
                found = (ns, name) in declared[kind] or name in CLUSTER_MADE.get(kind, ())
                listed = prerequisites.lists(kind, f"{ns}/{name}")
                where = f"{ns}/{name}"
            if found or listed or (kind, where) in reported:
                continue
            reported.add((kind, where))
            yield (f"{label(r)}: refers to {kind} {where}, which the stack does not declare and "
                   f"{PREREQUISITES_FILE.name} does not list as a prerequisite"), r.urn


# --- 3. every volume claim has a StorageClass --------------------------------------------------
def _claims(r: Resource) -> Iterator[tuple[str, Any]]:
    """(where, storage class or None for the default) of every claim a resource makes."""
    if r.type == PVC:
        yield "", get(r.props, "spec.storageClassName")
    elif r.type == STATEFUL_SET:
        for t in as_list(get(r.props, "spec.volumeClaimTemplates")):
            yield f" volumeClaimTemplate {get(t, 'metadata.name') or '?'}", get(t, "spec.storageClassName")
    elif r.type in HELM_TYPES:
        for path, value in walk(get(r.props, "values") or {}):
            if not isinstance(value, dict) or not path:
                continue
            where = " values " + ".".join(str(p) for p in path)
            if path[-1] in ("persistence", "persistentVolume"):
                enabled = value.get("enabled")
                if is_unknown(enabled):
                    raise Unknown(where)
                if enabled is True or (enabled is None and ("storageClass" in value or "storageClassName" in value)):
                    yield where, value.get("storageClassName", value.get("storageClass"))
            elif path[-1] == "volumeClaimTemplate":
                yield where, get(value, "spec.storageClassName")


def volume_claims_have_storage_class(resources: list[Resource], ctx: Context) -> Iterator[tuple[str, str]]:
    classes, default = set(), False
    for r, name in safe((r for r in resources if r.type == STORAGE_CLASS), lambda r: meta(r)[1]):
        classes.add(name)
        annotations = get(r.props, "metadata.annotations") or {}
        default = default or any(str(annotations.get(a, "")).lower() == "true" for a in DEFAULT_CLASS_ANNOTATIONS)
    for r in resources:
        try:
            claims = list(_claims(r))
        except Unknown:
            continue
        for where, cls in claims:
            if is_unknown(cls) or cls in ("", "-"):
                continue  # decided later, or a claim that binds a pre-made volume on purpose
            if cls is None and not default:
                yield (f"{label(r)}{where}: claims a volume without a StorageClass and the stack declares no "
                       "default StorageClass (EKS has none since 1.30); it would stay Pending"), r.urn
            elif cls is not None and cls not in classes:
                yield (f"{label(r)}{where}: claims StorageClass {cls}, which the stack does not declare; "
                       "it would stay Pending"), r.urn


# --- 4. node groups after the CNI ---------------------------------------------------------------
def _addons(resources: list[Resource], name: str) -> list[Resource]:
    out = []
    for r, addon in safe((r for r in resources if r.type == ADDON), lambda r: get(r.props, "addonName")):
        if addon == name:
            out.append(r)
    return out


def node_groups_after_cni(resources: list[Resource], ctx: Context) -> Iterator[tuple[str, str]]:
    graph = graph_of(resources)
    cni = frozenset(r.urn for r in _addons(resources, "vpc-cni"))
    for r in resources:
        if r.type != NODE_GROUP:
            continue
        if not cni:
            yield (f"{r.name}: no vpc-cni add-on is declared, so its nodes run the self-managed aws-node "
                   "without the CNI's IAM role and never become Ready"), r.urn
        elif not graph.waits_for_any(r.urn, cni):
            yield (f"{r.name}: does not wait for the vpc-cni add-on; its nodes may join before the CNI has "
                   "its IAM role and stay NotReady"), r.urn


# --- 5. Kubernetes resources after the deployer's cluster access --------------------------------
def kubernetes_after_cluster_access(resources: list[Resource], ctx: Context) -> Iterator[tuple[str, str]]:
    graph = graph_of(resources)
    access = frozenset(r.urn for r in resources if r.type in ACCESS_TYPES)
    providers = [r for r in resources if r.type == K8S_PROVIDER]
    provider_ready = {p.urn: graph.waits_for_any(p.urn, access) for p in providers}
    stranded: dict[str, list[Resource]] = {}
    for r in resources:
        # A component (a ConfigFile, a Helm v4 Chart) reaches the cluster only through its children,
        # each judged here with the provider it inherits; the component has none in state, so
        # judging it by one would find every such file stranded in an audit and in `pulumi preview`.
        if (not r.type.startswith("kubernetes:") or r.type in K8S_COMPONENT_TYPES
                or graph.waits_for_any(r.urn, access)):
            continue
        matched = [p.urn for p in providers if r.provider is not None and p.props == r.provider]
        if matched:
            ready = all(provider_ready[u] for u in matched)
        else:
            # Properties that do not match one provider exactly (a secret kubeconfig, say): the
            # resource is safe when every Kubernetes provider of the stack waits.
            ready = r.provider is not None and bool(providers) and all(provider_ready.values())
        if not ready:
            key = matched[0] if len(matched) == 1 else ""
            stranded.setdefault(key, []).append(r)
    for key, items in stranded.items():
        names = some([label(r) for r in items])
        if key:
            provider = graph.by_urn[key]
            where = "provider " + ("(default)" if provider.name.startswith("default_") else provider.name)
        else:
            where = "a provider that waits for no access"
        yield (f"{len(items)} Kubernetes resources ({names}) reach the cluster through {where} before any "
               "aws:eks access entry or access policy association exists: the deployer would get Unauthorized"), \
            key or items[0].urn


# --- 6. GPU node groups come with a device plugin ----------------------------------------------
def _is_gpu_group(r: Resource) -> bool:
    types = as_list(get(r.props, "instanceTypes"))
    if any(is_unknown(t) for t in types):
        raise Unknown("instanceTypes")
    ami = str(get(r.props, "amiType", "") or "").upper()
    return any(is_gpu_instance(str(t)) for t in types) or "GPU" in ami or "NVIDIA" in ami


def _images(r: Resource) -> Iterator[str]:
    spec = (get(r.props, POD_SPEC_PATHS[r.type]) or {}) if r.type in POD_SPEC_PATHS else {}
    for key in ("initContainers", "containers"):
        for c in as_list(get(spec, key)):
            image = get(c, "image")
            if isinstance(image, str):
                yield image


def gpu_node_groups_have_device_plugin(resources: list[Resource], ctx: Context) -> Iterator[tuple[str, str]]:
    plugin = False
    for r in resources:
        try:
            if r.type in HELM_TYPES and chart_name(r) in DEVICE_PLUGIN_CHARTS:
                plugin = True
            elif r.type == DAEMON_SET and any(p in image for image in _images(r) for p in DEVICE_PLUGIN_IMAGES):
                plugin = True
        except Unknown:
            continue
    if plugin:
        return
    for r, gpu in safe((r for r in resources if r.type == NODE_GROUP), _is_gpu_group):
        if gpu:
            yield (f"{r.name}: a GPU node group without a device plugin (the NVIDIA device plugin chart or "
                   "DaemonSet): its nodes advertise no nvidia.com/gpu and GPU pods stay Pending"), r.urn


# --- 7. NetworkPolicies come with a CNI that enforces them ------------------------------------
def _enforces(addon: Resource) -> bool:
    raw = get(addon.props, "configurationValues")
    if not raw:
        return False
    try:
        values = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return False
    return isinstance(values, dict) and truthy(values.get("enableNetworkPolicy", False))


def network_policies_enforced(resources: list[Resource], ctx: Context) -> Iterator[tuple[str, str]]:
    policies = [r for r in resources if r.type == NETWORK_POLICY]
    if not policies:
        return
    cnis = _addons(resources, "vpc-cni")
    try:
        if any(_enforces(a) for a in cnis):
            return
    except Unknown:
        return
    for r in resources:
        try:
            if r.type in HELM_TYPES and chart_name(r) in ENFORCING_CNI_CHARTS:
                return
        except Unknown:
            return
    where = cnis[0].urn if cnis else ""
    cause = ("the vpc-cni add-on does not set enableNetworkPolicy" if cnis else "the stack declares no CNI add-on")
    yield (f"{len(policies)} NetworkPolicies are not enforced: {cause} and no other enforcing CNI is installed, "
           "so every namespace stays open"), where or policies[0].urn


# --- 8. the backup client is at least the server's major ---------------------------------------
def backup_client_supports_server(resources: list[Resource], ctx: Context) -> Iterator[tuple[str, str]]:
    servers = []
    for r, engine in safe((r for r in resources if r.type in RDS_TYPES), lambda r: get(r.props, "engine")):
        if engine in POSTGRES_ENGINES:
            try:
                version = get(r.props, "engineVersion")
            except Unknown:
                continue
            major = major_version(version)
            if major is not None:
                servers.append((major, str(version), r.name))
    if not servers:
        return
    major, version, db = max(servers)
    for r in resources:
        if r.type != "kubernetes:batch/v1:CronJob":
            continue
        try:
            labels = get(r.props, "metadata.labels") or {}
            annotations = get(r.props, "metadata.annotations") or {}
        except Unknown:
            continue
        if labels.get("app.kubernetes.io/name") != BACKUP_JOB and PG_CLIENT_MAJOR_ANNOTATION not in annotations:
            continue
        declared = annotations.get(PG_CLIENT_MAJOR_ANNOTATION)
        if is_unknown(declared):
            continue
        client = major_version(declared)
        if client is None:
            yield (f"{label(r)}: does not say which PostgreSQL client its image installs (annotation "
                   f"{PG_CLIENT_MAJOR_ANNOTATION}); {db} runs PostgreSQL {version}"), r.urn
        elif client < major:
            yield (f"{label(r)}: its PostgreSQL client is {client} ({PG_CLIENT_MAJOR_ANNOTATION}) but {db} runs "
                   f"{version}: pg_dump refuses a newer server, so every backup would fail"), r.urn


# --- 9. images come from registries the stack owns or allows -----------------------------------
def _registry(image: str) -> tuple[str, str]:
    """(registry host, repository path) of an image reference; Docker Hub when no host is named."""
    ref = image.split("@", 1)[0]
    first, _, rest = ref.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        host, path = first, rest
    else:
        host, path = "docker.io", ref
    last = path.rsplit("/", 1)
    if ":" in last[-1]:
        path = path.rsplit(":", 1)[0]
    return host, path


def _allowed_public(host: str, path: str) -> bool:
    full = f"{host}/{path}"
    return any(full == p or full.startswith(p.rstrip("/") + "/") or host == p for p in PUBLIC_REGISTRIES)


def _helm_images(values: Any) -> Iterator[str]:
    """Images a release's values set explicitly: `image: "repo:tag"` or `image: {registry, repository, tag}`."""
    for path, value in walk(values):
        if not path or path[-1] != "image":
            continue
        if isinstance(value, str) and value and not is_unknown(value):
            yield value
        elif isinstance(value, dict) and isinstance(value.get("repository"), str):
            registry = value.get("registry")
            repository = value["repository"]
            if is_unknown(repository) or is_unknown(registry):
                continue
            yield f"{registry}/{repository}" if isinstance(registry, str) and registry else repository


def _stack_accounts(resources: list[Resource]) -> set[str]:
    accounts: set[str] = set()
    for r in resources:
        if r.type == "pulumi:providers:aws":
            allowed = r.props.get("allowedAccountIds")
            if isinstance(allowed, str) and allowed.startswith("["):
                allowed = json.loads(allowed)  # provider inputs arrive JSON-encoded
            accounts.update(str(a) for a in (allowed if isinstance(allowed, list) else []) if not is_unknown(a))
        if r.type in (ECR_REPOSITORY, *ACCESS_TYPES):
            for key in ("registryId", "arn", "principalArn", "repositoryUrl"):
                value = r.props.get(key)
                if not isinstance(value, str) or is_unknown(value):
                    continue
                if re.fullmatch(r"\d{12}", value):
                    accounts.add(value)
                match = ARN_ACCOUNT.match(value) or ECR_HOST.match(value.split("/", 1)[0])
                if match:
                    accounts.add(match.group(1))
    return accounts


def images_from_owned_registries(resources: list[Resource], ctx: Context) -> Iterator[tuple[str, str]]:
    repositories = set()
    for r, name in safe((r for r in resources if r.type == ECR_REPOSITORY), lambda r: get(r.props, "name")):
        if isinstance(name, str):
            repositories.add(name)
    accounts = _stack_accounts(resources)
    for r in resources:
        try:
            if r.type in POD_SPEC_PATHS:
                images = list(_images(r))
            elif r.type in HELM_TYPES:
                images = list(_helm_images(get(r.props, "values") or {}))
            else:
                continue
        except Unknown:
            continue
        for image in dict.fromkeys(images):
            if any(u in image for u in UNKNOWN_VALUES):
                continue  # built from a value decided later
            host, path = _registry(image)
            ecr = ECR_HOST.match(host)
            if ecr:
                account = ecr.group(1)
                if accounts and account not in accounts:
                    yield (f"{label(r)}: image {image} is in account {account}, not this stack's "
                           f"({', '.join(sorted(accounts))})"), r.urn
                elif path not in repositories:
                    yield (f"{label(r)}: image {image} names ECR repository {path}, which the stack does not "
                           "declare: the image would not exist"), r.urn
            elif not _allowed_public(host, path):
                yield (f"{label(r)}: image {image} comes from {host}, which is neither the stack's ECR nor a "
                       "public registry the pack allows (PUBLIC_REGISTRIES)"), r.urn


# --- one verdict per rule, mandatory on protected stacks ---------------------------------------
# The rules by policy name, in the order the catalog lists them: the one place a rule is named.
RULES = {
    "kubernetes-custom-resource-after-crd": custom_resources_after_crds,
    "kubernetes-references-declared": references_declared,
    "kubernetes-volume-claim-storage-class": volume_claims_have_storage_class,
    "aws-eks-node-group-after-cni": node_groups_after_cni,
    "kubernetes-after-cluster-access": kubernetes_after_cluster_access,
    "aws-eks-gpu-node-group-device-plugin": gpu_node_groups_have_device_plugin,
    "kubernetes-network-policy-enforced": network_policies_enforced,
    "backup-job-pg-client-supports-server": backup_client_supports_server,
    "container-image-registry-owned": images_from_owned_registries,
}
FORECAST = "deploy-readiness-forecast"


def mandatory(name: str):
    """The rule as a protected stack's mandatory policy: it reports only there (elsewhere the
    forecast carries it as advice)."""
    check = RULES[name]

    def run(resources: list[Resource], ctx: Context):
        return check(resources, ctx) if ctx.protected else ()
    run.__name__ = check.__name__
    return run


def forecast(resources: list[Resource], ctx: Context) -> Iterator[tuple[str, str]]:
    """Every rule on a stack that is not protected, as advice, each message led by its rule."""
    if ctx.protected:
        return
    for name, check in RULES.items():
        try:
            for message, urn in check(resources, ctx):
                yield f"{name}: {message}", urn
        except Unknown:
            continue
