"""Guardrails for Kubernetes objects: containers hardened, production Deployments resilient,
listeners on TLS. Pure predicates, the same shape as `aws.py`."""
from __future__ import annotations

from typing import Iterator, Optional

from .model import Context, Resource
from .values import Unknown, as_list, get, has_unknown, is_unknown

PRODUCTION_NAMESPACE = "production"  # the runbook's namespace for deployment/api and its peers
PRODUCTION_ENVIRONMENT = "production"
# A canary runs a small fixed replica count by design (traffic weight, not an HPA, sizes its share),
# so it is recognised by what it is - its track label - rather than by an exemption for its URN.
CANARY_TRACK = "canary"
MIN_REPLICAS = 3
POD_SPEC_PATHS = {
    "kubernetes:apps/v1:Deployment": "spec.template.spec",
    "kubernetes:apps/v1:StatefulSet": "spec.template.spec",
    "kubernetes:apps/v1:DaemonSet": "spec.template.spec",
    "kubernetes:apps/v1:ReplicaSet": "spec.template.spec",
    "kubernetes:batch/v1:Job": "spec.template.spec",
    "kubernetes:batch/v1:CronJob": "spec.jobTemplate.spec.template.spec",
    "kubernetes:core/v1:Pod": "spec",
}
WORKLOAD_TYPES = tuple(POD_SPEC_PATHS)
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
HPA_TYPES = ("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "kubernetes:autoscaling/v1:HorizontalPodAutoscaler")
PDB_TYPE = "kubernetes:policy/v1:PodDisruptionBudget"
GATEWAY_TYPE = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
HTTPROUTE_TYPE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
INGRESS_TYPE = "kubernetes:networking.k8s.io/v1:Ingress"
RESOURCE_KEYS = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory")


def _pod_spec(r: Resource) -> dict:
    spec = get(r.props, POD_SPEC_PATHS[r.type]) or {}
    return spec if isinstance(spec, dict) else {}


def _containers(r: Resource) -> Iterator[tuple[str, dict, dict]]:
    """(label, container, pod spec) for every container and init container."""
    spec = _pod_spec(r)
    for key in ("initContainers", "containers"):
        for c in as_list(spec.get(key)):
            if isinstance(c, dict):
                label = "init container" if key == "initContainers" else "container"
                yield f"{label} {c.get('name', '?')}", c, spec


def _name(r: Resource) -> str:
    return get(r.props, "metadata.name") or r.name


def container_resources(r: Resource, ctx: Context) -> list[str]:
    out = []
    for label, c, _ in _containers(r):
        missing = [k for k in RESOURCE_KEYS if get(c, f"resources.{k}") in (None, "")]
        if missing:
            out.append(f"{_name(r)}: {label} is missing resources {', '.join(missing)}")
    return out


def container_non_root(r: Resource, ctx: Context) -> list[str]:
    out = []
    for label, c, spec in _containers(r):
        own = get(c, "securityContext.runAsNonRoot")
        pod = get(spec, "securityContext.runAsNonRoot")
        user = get(c, "securityContext.runAsUser", get(spec, "securityContext.runAsUser"))
        if (own if own is not None else pod) is not True:
            out.append(f"{_name(r)}: {label} must set securityContext.runAsNonRoot: true")
        elif user is not None and int(user) == 0:
            out.append(f"{_name(r)}: {label} runs as user 0")
    return out


def container_no_privilege_escalation(r: Resource, ctx: Context) -> list[str]:
    out = []
    for label, c, _ in _containers(r):
        if get(c, "securityContext.privileged") is True:
            out.append(f"{_name(r)}: {label} must not be privileged")
        elif get(c, "securityContext.allowPrivilegeEscalation") is not False:
            out.append(f"{_name(r)}: {label} must set securityContext.allowPrivilegeEscalation: false")
    return out


def image_tag(image: str) -> Optional[str]:
    """The tag of an image reference, '' for a digest-pinned one, None when there is no tag."""
    if "@" in image:
        return ""
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def container_image_pinned(r: Resource, ctx: Context) -> list[str]:
    out = []
    for label, c, _ in _containers(r):
        image = c.get("image")
        if is_unknown(image):
            continue
        if not isinstance(image, str) or not image:
            out.append(f"{_name(r)}: {label} has no image")
            continue
        tag = image_tag(image)
        if tag is None:
            out.append(f"{_name(r)}: {label} image {image} has no tag (it would pull latest)")
        elif tag == "latest":
            out.append(f"{_name(r)}: {label} image {image} uses the latest tag")
    return out


def _namespace(r: Resource) -> str:
    return get(r.props, "metadata.namespace") or "default"


def production_deployments_autoscaled(resources: list[Resource], ctx: Context) -> Iterator[tuple[str, str]]:
    """Every Deployment in the production namespace has an HPA with minReplicas >= 3."""
    # HPAs grouped once by the Deployment they target, so the check is linear in the stack size
    # (scanning every HPA for every Deployment took seconds over 10,000 resources).
    targets: dict[tuple[str, str], list[Resource]] = {}
    for h in resources:
        if h.type not in HPA_TYPES:
            continue
        try:
            if get(h.props, "spec.scaleTargetRef.kind") != "Deployment":
                continue
            key = (_namespace(h), get(h.props, "spec.scaleTargetRef.name"))
        except Unknown:
            continue  # the target is decided later: it neither covers nor fails a Deployment yet
        if not all(isinstance(part, str) for part in key):
            continue  # a malformed target names no Deployment
        targets.setdefault(key, []).append(h)
    verdicts: dict[tuple[str, str], Optional[str]] = {}
    for d in _production_deployments(resources, ctx):
        if _track(d) == CANARY_TRACK:
            continue
        name, ns = _name(d), _namespace(d)
        if (ns, name) not in verdicts:
            verdicts[(ns, name)] = _autoscaling_problem(name, targets.get((ns, name), []))
        if verdicts[(ns, name)]:
            yield verdicts[(ns, name)], d.urn


def _autoscaling_problem(name: str, targeting: list[Resource]) -> Optional[str]:
    if not targeting:
        return f"{name}: no HorizontalPodAutoscaler targets this production Deployment"
    lows = []
    for h in targeting:
        try:
            minimum = get(h.props, "spec.minReplicas", 1)
        except Unknown:
            continue
        if float(minimum) < MIN_REPLICAS:
            lows.append((h, minimum))
    if lows and len(lows) == len(targeting):
        h, minimum = lows[0]
        return f"{name}: HorizontalPodAutoscaler {_name(h)} has minReplicas {minimum:g}, needs at least {MIN_REPLICAS}"
    return None


def production_deployments_disruption_budget(resources: list[Resource], ctx: Context) -> Iterator[tuple[str, str]]:
    """Every Deployment in the production namespace is selected by a PodDisruptionBudget."""
    pdbs = [r for r in resources if r.type == PDB_TYPE]
    for d in _production_deployments(resources, ctx):
        labels = get(d.props, "spec.template.metadata.labels") or {}
        if has_unknown(labels):
            continue
        covered = False
        for p in pdbs:
            try:
                selector = get(p.props, "spec.selector.matchLabels") or {}
                if has_unknown(selector) or is_unknown(get(p.props, "metadata.namespace")):
                    covered = True  # cannot tell yet: skip rather than fail
                    break
                if (_namespace(p) == _namespace(d) and selector
                        and all(labels.get(k) == v for k, v in selector.items())):
                    covered = True
                    break
            except Unknown:
                covered = True
                break
        if not covered:
            yield f"{_name(d)}: no PodDisruptionBudget selects this production Deployment's pods", d.urn


def _track(r: Resource) -> Optional[str]:
    try:
        track = get(r.props, "metadata.labels.track") or get(r.props, "spec.template.metadata.labels.track")
    except Unknown:
        return None
    return track if isinstance(track, str) else None


def is_production(ctx: Optional[Context]) -> bool:
    """Whether the stack is of the production environment: its `leadgen:environment`, or, when the
    config does not say, its name. A dev or staging stack runs the same namespaces at a smaller
    size, so the namespace name says nothing about the environment."""
    if ctx is None:
        return True
    environment = ctx.config.environment or ctx.stack
    return environment.strip().lower() == PRODUCTION_ENVIRONMENT


def _production_deployments(resources: list[Resource], ctx: Optional[Context] = None) -> Iterator[Resource]:
    if not is_production(ctx):
        return
    for r in resources:
        if r.type != DEPLOYMENT:
            continue
        try:
            ns = get(r.props, "metadata.namespace")
            name = get(r.props, "metadata.name")
        except Unknown:
            continue
        if ns == PRODUCTION_NAMESPACE and name:
            yield r


def listeners_tls(resources: list[Resource], ctx: Context) -> Iterator[tuple[str, str]]:
    """Gateway listeners speak HTTPS/TLS; a plain HTTP listener may only redirect to https.
    Every Ingress carries a tls section."""
    routes = _RouteIndex([r for r in resources if r.type == HTTPROUTE_TYPE])
    for r in resources:
        try:
            if r.type == INGRESS_TYPE and not as_list(get(r.props, "spec.tls")):
                yield f"{_name(r)}: Ingress has no tls section", r.urn
            elif r.type == GATEWAY_TYPE:
                for listener in as_list(get(r.props, "spec.listeners")):
                    protocol = str(get(listener, "protocol", "")).upper()
                    if protocol in ("HTTPS", "TLS"):
                        continue
                    if protocol == "HTTP" and routes.only_redirects(r, get(listener, "name")):
                        continue
                    yield (f"{_name(r)}: listener {get(listener, 'name')} speaks {protocol}; use HTTPS or TLS "
                           "(HTTP only with routes that redirect to https)"), r.urn
        except Unknown:
            continue


class _RouteIndex:
    """HTTPRoutes by the gateway name they attach to, read once per stack check.

    `only_redirects(gateway, listener)`: whether routes attach to that listener and every rule of
    every one of them redirects to https. It raises Unknown exactly when a scan of all routes
    would meet an unknown: any route's parentRefs or ref name, the sectionName of a ref naming the
    gateway, or the rules of an attached route reached before a non-redirecting one.
    """

    _UNKNOWN = object()

    def __init__(self, routes: list[Resource]) -> None:
        self.unknown = False  # some route's parentRefs (or a ref's name) is not known yet
        self.refs: dict = {}  # gateway name -> [(route position, sectionName or _UNKNOWN)]
        self.routes = routes
        self.verdicts: dict[int, object] = {}  # route position -> True | False | _UNKNOWN
        any_ref = False
        for i, route in enumerate(routes):
            try:
                refs = as_list(get(route.props, "spec.parentRefs"))
                for ref in refs:
                    any_ref = True
                    name = get(ref, "name")
                    try:
                        section = get(ref, "sectionName")
                    except Unknown:
                        section = self._UNKNOWN
                    self.refs.setdefault(name, []).append((i, section))
            except Unknown:
                self.unknown = True
        self.any_ref = any_ref

    def only_redirects(self, gateway: Resource, listener: str) -> bool:
        if self.unknown:
            raise Unknown("spec.parentRefs")
        if not self.any_ref:
            return False
        attached = []
        for i, section in self.refs.get(_name(gateway), ()):
            if section is self._UNKNOWN:
                raise Unknown("sectionName")
            if section in (None, listener):
                attached.append(i)
        if not attached:
            return False
        for i in attached:
            if i not in self.verdicts:
                try:
                    self.verdicts[i] = _redirects_to_https(self.routes[i])
                except Unknown:
                    self.verdicts[i] = self._UNKNOWN
            if self.verdicts[i] is self._UNKNOWN:
                raise Unknown("spec.rules")
            if not self.verdicts[i]:
                return False
        return True


def _redirects_to_https(route: Resource) -> bool:
    for rule in as_list(get(route.props, "spec.rules")) or [{}]:
        filters = as_list(get(rule, "filters"))
        if not any(get(f, "type") == "RequestRedirect" and get(f, "requestRedirect.scheme") == "https"
                   for f in filters):
            return False
    return True
