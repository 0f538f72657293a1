"""Traffic guardrails: Gateway listeners and Ingresses on TLS, LoadBalancer Services internal or
limited to listed sources. Pure predicates."""
from __future__ import annotations

from typing import Iterator

from ..cidrs import OPEN_CIDRS
from ..model import Context, Resource
from ..values import Unknown, as_list, get, is_unknown
from .objects import name_of


GATEWAY_TYPE = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
HTTPROUTE_TYPE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
INGRESS_TYPE = "kubernetes:networking.k8s.io/v1:Ingress"
SERVICE = "kubernetes:core/v1:Service"
# The AWS load balancer annotations that keep a Service's load balancer inside the VPC.
INTERNAL_ANNOTATIONS = {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
                        "service.beta.kubernetes.io/aws-load-balancer-internal": "true"}


def listeners_tls(resources: list[Resource], ctx: Context) -> Iterator[tuple[str, str]]:
    """Gateway listeners speak HTTPS/TLS; a plain HTTP listener may only redirect to https.
    Every Ingress carries a tls section."""
    routes = _RouteIndex([r for r in resources if r.type == HTTPROUTE_TYPE])
    for r in resources:
        try:
            if r.type == INGRESS_TYPE and not as_list(get(r.props, "spec.tls")):
                yield f"{name_of(r)}: Ingress has no tls section", r.urn
            elif r.type == GATEWAY_TYPE:
                for listener in as_list(get(r.props, "spec.listeners")):
                    protocol = str(get(listener, "protocol", "")).upper()
                    if protocol in ("HTTPS", "TLS"):
                        continue
                    if protocol == "HTTP" and routes.only_redirects(r, get(listener, "name")):
                        continue
                    yield (f"{name_of(r)}: listener {get(listener, 'name')} speaks {protocol}; use HTTPS or TLS "
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
        for i, section in self.refs.get(name_of(gateway), ()):
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


def load_balancer_restricted(r: Resource, ctx: Context) -> list[str]:
    """A Service of type LoadBalancer is internal or lists its source ranges. checkov has no such
    check; this follows the Kubernetes docs (`spec.loadBalancerSourceRanges`) and CIS EKS 5.4.5
    (restrict network access to load balancers); the public entry is the Gateway, behind TLS."""
    if get(r.props, "spec.type") != "LoadBalancer":
        return []
    annotations = get(r.props, "metadata.annotations") or {}
    if any(str(annotations.get(k, "")).lower() == v for k, v in INTERNAL_ANNOTATIONS.items()):
        return []
    ranges = as_list(get(r.props, "spec.loadBalancerSourceRanges"))
    if any(is_unknown(x) for x in ranges):
        raise Unknown("spec.loadBalancerSourceRanges")
    if not ranges or any(x in OPEN_CIDRS for x in ranges):
        return [f"{name_of(r)}: a LoadBalancer Service open to the world; make it internal or list "
                "spec.loadBalancerSourceRanges (public traffic enters through the Gateway)"]
    return []
