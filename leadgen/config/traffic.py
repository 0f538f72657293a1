"""How requests reach `api`: the router, the hostname and its zone, certificates, the canary.

A release is driven by config alone (docs/runbooks/canary-release.md): `canary.tag` names the new
image, `canary.weight` walks the steps, promote moves the tag to `workloads.api.tag`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from leadgen.config.base import Key, Values
from leadgen.config.workloads import DIGEST_SEPARATOR, TAG_FORMAT, WORKLOADS, check_tag
from leadgen.naming import is_dns_label
from leadgen.traffic import GATEWAY_API, ROUTERS, in_zone, issuer_for

# The workload the public route (and its canary track, `api-canary`) serves: the runbook's `api`.
ROUTED_WORKLOAD = "api"

DEFAULT_STEPS = [0, 10, 50, 100]

KEYS = [
    Key(path="traffic.router", type="string", default=GATEWAY_API, description="What routes requests to `api`: the Gateway API "
        "(Envoy Gateway), or the retired ingress-nginx for clusters still moving off it.",
        choices=ROUTERS),
    Key(path="traffic.hostname", type="string", default="api.insurance-lead-gen.com", description="Hostname this region publishes "
        "the API under (external-dns writes its record); must lie inside `traffic.zoneName`. Where a "
        "recovery site exists it is the region's own origin and clients use `dr.publicHostname`."),
    Key(path="traffic.zoneName", type="string", default="insurance-lead-gen.com", description="Route53 public hosted zone that "
        "holds the hostname."),
    Key(path="traffic.zoneId", type="string", default=None, description="ID of that hosted zone (`Z...`); external-dns and "
        "cert-manager may change records in this zone only.", required=True),
    Key(path="traffic.acmeEmail", type="string", default="platform-team@insurance-lead-gen.com", description="Contact address "
        "of the Let's Encrypt account (expiry and revocation notices)."),
    Key(path="traffic.certificateDuration", type="string", default="2160h", description="Requested lifetime of `api-tls`, hours "
        "(Let's Encrypt issues 90 days)."),
    Key(path="traffic.certificateRenewBefore", type="string", default="720h", description="How long before expiry cert-manager "
        "renews `api-tls`, hours."),
    Key(path="traffic.ingressNginxNamespace", type="string", default="ingress-nginx", description="Namespace of the existing "
        "ingress-nginx controller (router `ingress-nginx` only); it is let through to `api`."),
    Key(path="canary.weight", type="integer", default=0, description="Percent of requests the canary receives; one of "
        "`canary.steps`. 0 is a rollback, 100 a blue-green switch."),
    Key(path="canary.steps", type="array", default=DEFAULT_STEPS, description="The weights a release may use, ascending from 0 "
        "to 100.", items="integer"),
    Key(path="canary.tag", type="string", default="", description="Image tag of `api-canary` (the `workloads.api.image` "
        "repository): " + TAG_FORMAT + "; empty runs the stable tag. Required when the weight is above 0."),
    Key(path="canary.replicas", type="integer", default=1, description="Fixed replica count of `api-canary` (no HPA)."),
]

_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HOURS = re.compile(r"^(\d+)h$")


@dataclass(frozen=True, kw_only=True)
class CanaryConfig:
    weight: int
    steps: tuple[int, ...]
    tag: Optional[str]  # None: the canary runs the stable tag and receives no weighted traffic
    replicas: int


@dataclass(frozen=True, kw_only=True)
class TrafficConfig:
    router: str
    hostname: str
    zone_name: str
    zone_id: str
    acme_email: str
    certificate_duration: str
    certificate_renew_before: str
    ingress_nginx_namespace: str
    issuer: str
    canary: CanaryConfig


def _hours(values: Values, key: str) -> int:
    v = values.get(key)
    m = _HOURS.fullmatch(v)
    if not m or len(m.group(1)) > 6 or int(m.group(1)) < 1:
        raise values.error(key, f"({v!r}) must be a whole number of hours, such as \"720h\"")
    return int(m.group(1))


def _steps(values: Values) -> tuple[int, ...]:
    steps = values.get("canary.steps")
    if not steps or steps[0] != 0 or steps[-1] != 100:
        raise values.error("canary.steps", f"({steps}) must start at 0 (rollback) and end at 100 "
                           "(blue-green)")
    if any(b <= a for a, b in zip(steps, steps[1:])):
        raise values.error("canary.steps", f"({steps}) must be strictly ascending")
    return tuple(steps)


def _canary(values: Values) -> CanaryConfig:
    steps = _steps(values)
    weight = values.get("canary.weight")
    if weight not in steps:
        raise values.error("canary.weight", f"({weight}) must be one of leadgen:canary.steps "
                           f"({', '.join(map(str, steps))})")
    tag: Optional[str] = values.get("canary.tag") or None
    if tag is None and weight > 0:
        raise values.error("canary.tag", f"must be set when leadgen:canary.weight is {weight}: a "
                           "weight above 0 sends requests to the canary image")
    if tag is not None:
        check_tag(values, "canary.tag")
        stable = values.get(f"workloads.{ROUTED_WORKLOAD}.tag")
        # The same release with and without its digest is still the same release.
        if tag.partition(DIGEST_SEPARATOR)[0] == stable.partition(DIGEST_SEPARATOR)[0]:
            raise values.error("canary.tag", f"({tag!r}) must differ from leadgen:workloads.api.tag;"
                               " after a promote remove it with `pulumi config rm canary.tag`")
    replicas = values.get("canary.replicas")
    if not 1 <= replicas <= 10:
        raise values.error("canary.replicas", f"({replicas}) must be between 1 and 10")
    return CanaryConfig(weight=weight, steps=steps, tag=tag, replicas=replicas)


def build(values: Values) -> TrafficConfig:
    if ROUTED_WORKLOAD not in values.names(WORKLOADS):
        raise values.error(f"workloads.{ROUTED_WORKLOAD}.tag", f"is required: the public route and its canary "
                           f"serve workload {ROUTED_WORKLOAD!r} (set its tag and port)")
    zone = values.get("traffic.zoneName").lower().rstrip(".")
    if not _HOST.fullmatch(zone):
        raise values.error("traffic.zoneName", f"({zone!r}) is not a DNS zone name")
    hostname = values.get("traffic.hostname").lower().rstrip(".")
    if not _HOST.fullmatch(hostname):
        raise values.error("traffic.hostname", f"({hostname!r}) is not a DNS hostname")
    if not in_zone(hostname, zone):
        raise values.error("traffic.hostname", f"({hostname!r}) must be inside the zone "
                           f"leadgen:traffic.zoneName ({zone!r})")
    zone_id = values.get("traffic.zoneId")
    if not _ZONE_ID.fullmatch(zone_id):
        raise values.error("traffic.zoneId", f"({zone_id!r}) is not a Route53 hosted zone ID (Z...)")
    email = values.get("traffic.acmeEmail")
    if not _EMAIL.fullmatch(email):
        raise values.error("traffic.acmeEmail", f"({email!r}) is not an email address")
    duration = _hours(values, "traffic.certificateDuration")
    renew = _hours(values, "traffic.certificateRenewBefore")
    if renew >= duration:
        raise values.error("traffic.certificateRenewBefore", f"({renew}h) must be shorter than "
                           f"leadgen:traffic.certificateDuration ({duration}h)")
    namespace = values.get("traffic.ingressNginxNamespace")
    if not is_dns_label(namespace):
        raise values.error("traffic.ingressNginxNamespace", f"({namespace!r}) is not a namespace name")
    return TrafficConfig(
        router=values.get("traffic.router"), hostname=hostname, zone_name=zone, zone_id=zone_id,
        acme_email=email, certificate_duration=f"{duration}h", certificate_renew_before=f"{renew}h",
        ingress_nginx_namespace=namespace,
        issuer=issuer_for(values.get("environment") == "production"),
        canary=_canary(values))
