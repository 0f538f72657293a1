"""Everything between the internet and `api`: DNS, certificates, the router and the canary split.

One router at a time (`traffic.router`): the Gateway API through Envoy Gateway, or the retired
ingress-nginx for clusters still moving off it. Both share external-dns, cert-manager and the
`api-tls` certificate, and both split requests between `api` and `api-canary` by `canary.weight`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi

from components.canary import CanaryRoute, CanaryRouteArgs
from components.certificates import Certificates, CertificatesArgs
from components.external_dns import ExternalDns, ExternalDnsArgs
from components.gateway import Gateway, GatewayArgs
from components.ingress import NginxCanaryIngress, NginxCanaryIngressArgs
from components.namespaces import from_namespace
from leadgen import traffic as t


@dataclass(kw_only=True)
class TrafficArgs:
    router: str
    hostname: str
    zone_name: str
    zone_id: str
    issuer: str
    acme_email: str
    certificate_duration: str
    certificate_renew_before: str
    weight: int
    namespace: str  # where `api`, `api-canary`, their routes and `api-tls` live
    port: int  # the Service port of `api` and `api-canary`
    cluster_name: str
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    region: pulumi.Input[str]
    # The name clients use when a failover pair (components/failover_dns.py) points it at each
    # region's `hostname`: the router and certificate answer for it too, external-dns leaves it alone.
    public_hostname: Optional[str] = None
    # Nodes and the namespace: Helm releases wait for their pods.
    depends_on: Sequence[pulumi.Resource] = ()
    # The stable and canary Deployments: weights move only after both have rolled out.
    backends: Sequence[pulumi.Resource] = ()
    tags: dict[str, str] = field(default_factory=dict)


class Traffic(pulumi.ComponentResource):
    def __init__(self, name: str, args: TrafficArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:traffic:Traffic", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.dns = ExternalDns(f"{name}-external-dns", ExternalDnsArgs(
            oidc_provider_arn=args.oidc_provider_arn, oidc_issuer=args.oidc_issuer, region=args.region,
            zone_id=args.zone_id, zone_name=args.zone_name, router=args.router,
            owner_id=args.cluster_name,
            exclude_hostnames=[args.public_hostname] if args.public_hostname else [],
            depends_on=args.depends_on, tags=args.tags),
            opts=child)
        self.certificates = Certificates(f"{name}-certificates", CertificatesArgs(
            oidc_provider_arn=args.oidc_provider_arn, oidc_issuer=args.oidc_issuer, region=args.region,
            zone_id=args.zone_id, zone_name=args.zone_name, hostname=args.hostname,
            issuer=args.issuer, acme_email=args.acme_email, duration=args.certificate_duration,
            renew_before=args.certificate_renew_before, namespace=args.namespace,
            public_hostname=args.public_hostname,
            depends_on=args.depends_on, tags=args.tags), opts=child)
        backends = [*args.backends, self.certificates.certificate]
        self.gateway: Optional[Gateway] = None
        self.route: Optional[CanaryRoute] = None
        self.ingress: Optional[NginxCanaryIngress] = None
        if args.router == t.GATEWAY_API:
            self.gateway = Gateway(f"{name}-gateway", GatewayArgs(
                hostname=args.hostname, public_hostname=args.public_hostname, namespace=args.namespace,
                depends_on=args.depends_on),
                opts=child)
            self.route = CanaryRoute(f"{name}-canary", CanaryRouteArgs(
                hostname=args.hostname, public_hostname=args.public_hostname, namespace=args.namespace,
                port=args.port, weight=args.weight, depends_on=[*backends, self.gateway.gateway]), opts=child)
        else:
            self.ingress = NginxCanaryIngress(f"{name}-ingress", NginxCanaryIngressArgs(
                hostname=args.hostname, public_hostname=args.public_hostname, namespace=args.namespace,
                port=args.port, weight=args.weight, depends_on=backends),
                opts=child)
        self.hostname = args.hostname
        # What clients use: the public name where a failover pair fronts the regions.
        self.url = f"https://{args.public_hostname or args.hostname}"
        self.register_outputs({"url": self.url})


def data_plane_allowance(router: str, nginx_namespace: str, port: int) -> dict[str, dict]:
    """The production namespace denies by default: let the router's proxies reach the `api` pods
    (stable and canary share `app=api`) on the service port, and nothing else."""
    namespace = t.data_plane_namespace(router, nginx_namespace)
    return {"allow-from-gateway": from_namespace(namespace, [port], {"app": "api"})}
