"""How traffic reaches `api`: IAM policies and the object specs, as pure functions.

The components in `components/{gateway,canary,ingress,certificates,external_dns,traffic}.py` wrap
these; tests read them without the mock engine. Nothing here touches Pulumi.
"""
from __future__ import annotations

import json
from typing import Optional

from leadgen import versions

GATEWAY_API, INGRESS_NGINX = "gateway-api", "ingress-nginx"
ROUTERS = (GATEWAY_API, INGRESS_NGINX)

# The Gateway API standard-channel CRDs, from the pinned release (leadgen/versions.py).
GATEWAY_API_CRDS_URL = versions.release_asset_url(versions.GATEWAY_API_CRDS, "standard-install.yaml")
# Envoy Gateway's own CRDs (EnvoyProxy and its policies), from the controller's release.
ENVOY_GATEWAY_CRDS_URL = versions.release_asset_url(versions.ENVOY_GATEWAY_CRDS, "envoy-gateway-crds.yaml")

# --- names the runbook and the other domains use ------------------------------------------------
ENVOY_NAMESPACE = "envoy-gateway-system"
CERT_MANAGER_NAMESPACE = "cert-manager"
EXTERNAL_DNS_NAMESPACE = "external-dns"
GATEWAY_CLASS = "envoy-gateway"
GATEWAY_NAME = "api"
ENVOY_PROXY_NAME = "api-nlb"
CONTROLLER_NAME = "gateway.envoyproxy.io/gatewayclass-controller"
TLS_SECRET = "api-tls"  # the runbook's `kubectl describe certificate api-tls -n production`
STABLE, CANARY = "api", "api-canary"
CANARY_HEADER, CANARY_HEADER_VALUE = "x-canary", "always"
NGINX_CLASS = "nginx"
# Where workloads serve Prometheus metrics, on the port their Service routes; Prometheus scrapes
# it inside the cluster. Never routed from outside: anyone could read internals and, worse, pad
# the SLIs' request counts with their own requests.
METRICS_PATH = "/metrics"
# The Envoy Gateway filter that answers 404 itself for paths that are not public
# (https://gateway.envoyproxy.io/v1.9/tasks/traffic/direct-response/).
NOT_PUBLIC_FILTER = "not-public"

LETSENCRYPT = {
    "letsencrypt-production": "https://acme-v02.api.letsencrypt.org/directory",
    "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
}


def issuer_for(is_production: bool) -> str:
    """Production certificates from Let's Encrypt production; every other stack from staging,
    whose rate limits are generous and whose certificates no browser trusts by mistake."""
    return "letsencrypt-production" if is_production else "letsencrypt-staging"


def data_plane_namespace(router: str, nginx_namespace: str) -> str:
    """The namespace whose proxies forward requests to `api` (the NetworkPolicy allowance)."""
    return ENVOY_NAMESPACE if router == GATEWAY_API else nginx_namespace


def in_zone(hostname: str, zone: str) -> bool:
    h, z = hostname.lower().rstrip("."), zone.lower().rstrip(".")
    return h == z or h.endswith("." + z)


def split_weight(weight: int) -> tuple[int, int]:
    """(stable, canary) shares of 100 for a canary weight."""
    return 100 - weight, weight


# --- IAM: Route53 limited to the one hosted zone -----------------------------------------------
def zone_arn(zone_id: str) -> str:
    return f"arn:aws:route53:::hostedzone/{zone_id}"


def external_dns_policy(zone_id: str) -> str:
    """external-dns changes records in the one zone only. ListHostedZones has no resource-level
    permission (it is an account-wide listing), so it alone is on `*`; it reads no records."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "ChangeRecordsInZone", "Effect": "Allow",
         "Action": ["route53:ChangeResourceRecordSets"],
         "Resource": [zone_arn(zone_id)],
         "Condition": {"ForAllValues:StringEquals": {
             "route53:ChangeResourceRecordSetsRecordTypes": ["A", "AAAA", "CNAME", "TXT"]}}},
        {"Sid": "ReadZone", "Effect": "Allow",
         "Action": ["route53:ListResourceRecordSets", "route53:ListTagsForResources",
                    "route53:GetHostedZone"],
         "Resource": [zone_arn(zone_id)]},
        {"Sid": "ListZones", "Effect": "Allow", "Action": ["route53:ListHostedZones"],
         "Resource": ["*"]},
    ]})


def cert_manager_policy(zone_id: str) -> str:
    """cert-manager writes only `_acme-challenge` TXT records, in the one zone. With the zone ID
    in the solver it never lists zones (cert-manager docs, Route53 DNS-01), so nothing is on `*`;
    GetChange polls the change it made, whose ARN is not known in advance."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "ChallengeRecordsInZone", "Effect": "Allow",
         "Action": ["route53:ChangeResourceRecordSets"],
         "Resource": [zone_arn(zone_id)],
         "Condition": {
             "ForAllValues:StringEquals": {"route53:ChangeResourceRecordSetsRecordTypes": ["TXT"]},
             "ForAllValues:StringLike": {
                 "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["_acme-challenge.*"]}}},
        {"Sid": "ReadZone", "Effect": "Allow", "Action": ["route53:ListResourceRecordSets"],
         "Resource": [zone_arn(zone_id)]},
        {"Sid": "PollChange", "Effect": "Allow", "Action": ["route53:GetChange"],
         "Resource": ["arn:aws:route53:::change/*"]},
    ]})


# --- certificates ------------------------------------------------------------------------------
def cluster_issuer_spec(name: str, email: str, region: str, zone_id: str, zone_name: str) -> dict:
    return {"acme": {
        "server": LETSENCRYPT[name],
        "email": email,
        # The ACME account key: cert-manager creates it in its own namespace, never in config.
        "privateKeySecretRef": {"name": f"{name}-account-key"},
        "solvers": [{
            "selector": {"dnsZones": [zone_name]},
            # Ambient credentials: the IRSA role of cert-manager's service account, no keys.
            "dns01": {"route53": {"region": region, "hostedZoneID": zone_id}},
        }],
    }}


def hostnames(hostname: str, public_hostname: Optional[str] = None) -> list[str]:
    """The names the router answers for: this region's own origin, and the public name clients use
    when a failover pair points it at the regions' origins (DNS for the public name is the
    failover records', never external-dns's)."""
    return [hostname, public_hostname] if public_hostname and public_hostname != hostname else [hostname]


def certificate_spec(hostname: str, issuer: str, duration: str, renew_before: str,
                     public_hostname: Optional[str] = None) -> dict:
    return {
        "secretName": TLS_SECRET,
        "dnsNames": hostnames(hostname, public_hostname),
        "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": issuer},
        "duration": duration,
        "renewBefore": renew_before,
        # A fresh key at every renewal: a leaked key dies with its certificate.
        "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        "usages": ["digital signature", "key encipherment", "server auth"],
    }


# --- Gateway API -------------------------------------------------------------------------------
NLB_ANNOTATIONS = {
    # An internet-facing Network Load Balancer in front of the Envoy proxies, built by the AWS Load
    # Balancer Controller (`external`; the in-tree controller ignores the scheme and target type).
    # IP targets send traffic straight to the proxy pods, not through a node port. TLS ends at
    # Envoy (the cert-manager certificate), so the NLB only forwards TCP.
    "service.beta.kubernetes.io/aws-load-balancer-type": "external",
    "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
    "service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled": "true",
}


def envoy_proxy_spec(replicas: int) -> dict:
    return {"provider": {"type": "Kubernetes", "kubernetes": {
        "envoyService": {"type": "LoadBalancer", "externalTrafficPolicy": "Local",
                         "annotations": dict(NLB_ANNOTATIONS)},
        "envoyDeployment": {"replicas": replicas},
        "envoyPDB": {"minAvailable": 1},
    }}}


def gateway_class_spec() -> dict:
    return {"controllerName": CONTROLLER_NAME,
            "description": "Envoy Gateway, exposed through an AWS NLB",
            "parametersRef": {"group": "gateway.envoyproxy.io", "kind": "EnvoyProxy",
                              "name": ENVOY_PROXY_NAME, "namespace": ENVOY_NAMESPACE}}


# The listeners of the public name carry this suffix; the origin's keep the plain names.
PUBLIC_LISTENER_SUFFIX = "-public"


def _sections(protocol: str, hostname: str, public_hostname: Optional[str]) -> list[str]:
    """The listener names of one protocol (`https`, `http`): one per hostname the Gateway answers."""
    return [protocol + ("" if i == 0 else PUBLIC_LISTENER_SUFFIX)
            for i, _ in enumerate(hostnames(hostname, public_hostname))]


def gateway_spec(hostname: str, public_hostname: Optional[str] = None) -> dict:
    """A listener hostname is one name, so each name gets its HTTPS and HTTP pair."""
    same = {"namespaces": {"from": "Same"}}
    routes = {**same, "kinds": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}]}
    names = hostnames(hostname, public_hostname)
    https = [{"name": section, "protocol": "HTTPS", "port": 443, "hostname": name,
              "tls": {"mode": "Terminate",
                      "certificateRefs": [{"group": "", "kind": "Secret", "name": TLS_SECRET}]},
              "allowedRoutes": routes}
             for section, name in zip(_sections("https", hostname, public_hostname), names)]
    http = [{"name": section, "protocol": "HTTP", "port": 80, "hostname": name, "allowedRoutes": routes}
            for section, name in zip(_sections("http", hostname, public_hostname), names)]
    return {"gatewayClassName": GATEWAY_CLASS, "listeners": [*https, *http]}


def _parents(protocol: str, hostname: str, public_hostname: Optional[str]) -> list[dict]:
    return [{"name": GATEWAY_NAME, "sectionName": s} for s in _sections(protocol, hostname, public_hostname)]


def public_routes(namespace: str) -> dict[str, str]:
    """Service -> `namespace/route` of the HTTPRoute that serves it to users (the canary's route,
    named after the stable service); the edge SLIs read Envoy's clusters of that route."""
    return {STABLE: f"{namespace}/{STABLE}"}


def redirect_route_spec(hostname: str, public_hostname: Optional[str] = None) -> dict:
    """The HTTP listeners' only route: a permanent redirect to HTTPS, no backend at all."""
    return {
        "parentRefs": _parents("http", hostname, public_hostname),
        "hostnames": hostnames(hostname, public_hostname),
        "rules": [{"filters": [{"type": "RequestRedirect",
                                "requestRedirect": {"scheme": "https", "statusCode": 301}}]}],
    }


def _backend(name: str, port: int, weight: int) -> dict:
    return {"group": "", "kind": "Service", "name": name, "port": port, "weight": weight}


def not_public_filter_spec() -> dict:
    return {"directResponse": {"contentType": "text/plain", "statusCode": 404,
                               "body": {"type": "Inline", "inline": "not found\n"}}}


def canary_route_spec(hostname: str, port: int, weight: int, public_hostname: Optional[str] = None) -> dict:
    """Testers' `x-canary: always` always reaches the canary; every other request splits by weight.
    Gateway API gives the match with more header matches precedence, whatever the rule order,
    and a longer path prefix precedence over both: `/metrics` (and below it) gets the gateway's
    own 404 and never reaches a pod."""
    stable, canary = split_weight(weight)
    prefix = {"type": "PathPrefix", "value": "/"}
    return {
        "parentRefs": _parents("https", hostname, public_hostname),
        "hostnames": hostnames(hostname, public_hostname),
        "rules": [
            {"matches": [{"path": {"type": "PathPrefix", "value": METRICS_PATH}}],
             "filters": [{"type": "ExtensionRef", "extensionRef": {
                 "group": "gateway.envoyproxy.io", "kind": "HTTPRouteFilter", "name": NOT_PUBLIC_FILTER}}]},
            {"matches": [{"path": prefix, "headers": [
                {"type": "Exact", "name": CANARY_HEADER, "value": CANARY_HEADER_VALUE}]}],
             "backendRefs": [_backend(CANARY, port, 1)]},
            {"matches": [{"path": prefix}],
             "backendRefs": [_backend(STABLE, port, stable), _backend(CANARY, port, weight)]},
        ],
    }


# --- ingress-nginx (retired upstream; kept for clusters still moving off it) -------------------
def ingress_spec(hostname: str, service: str, port: int, path: str = "/",
                 public_hostname: Optional[str] = None) -> dict:
    names = hostnames(hostname, public_hostname)
    return {
        "ingressClassName": NGINX_CLASS,
        "tls": [{"hosts": names, "secretName": TLS_SECRET}],
        "rules": [{"host": name, "http": {"paths": [{
            "path": path, "pathType": "Prefix",
            "backend": {"service": {"name": service, "port": {"number": port}}}}]}} for name in names],
    }


def stable_ingress_annotations() -> dict[str, str]:
    return {"nginx.ingress.kubernetes.io/ssl-redirect": "true",
            "nginx.ingress.kubernetes.io/force-ssl-redirect": "true"}


def canary_ingress_annotations(weight: int) -> dict[str, str]:
    """The runbook's blue-green annotations, set by config instead of `kubectl annotate`."""
    return {
        **stable_ingress_annotations(),
        "nginx.ingress.kubernetes.io/canary": "true",
        "nginx.ingress.kubernetes.io/canary-weight": str(weight),
        "nginx.ingress.kubernetes.io/canary-weight-total": "100",
        "nginx.ingress.kubernetes.io/canary-by-header": CANARY_HEADER,
        "nginx.ingress.kubernetes.io/canary-by-header-value": CANARY_HEADER_VALUE,
    }
