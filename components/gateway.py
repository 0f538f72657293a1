"""The Gateway API path: the standard CRDs, Envoy Gateway, a GatewayClass and the `api` Gateway.

Why Envoy Gateway: ingress-nginx was retired in March 2026 (no more security fixes); Envoy
Gateway is a CNCF Envoy project that implements the Gateway API's standard channel, publishes a
compatibility matrix and a dated end of life for every minor, and ships a pinned OCI Helm chart.
The Gateway has an HTTPS listener for the API hostname (certificate `api-tls`) and an HTTP listener
whose one route redirects to HTTPS, and the same pair for the public name when the region sits
behind a failover pair; Envoy's Service is an internet-facing AWS NLB.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.helm import helm_release
from leadgen import traffic as t
from leadgen import versions


@dataclass(kw_only=True)
class GatewayArgs:
    hostname: str
    namespace: str  # the Gateway lives beside `api` and `api-tls`: no cross-namespace grants
    # The name clients use, answered beside `hostname` when a failover pair points it here.
    public_hostname: Optional[str] = None
    proxy_replicas: int = 2
    depends_on: Sequence[pulumi.Resource] = ()


class Gateway(pulumi.ComponentResource):
    def __init__(self, name: str, args: GatewayArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:gateway:Gateway", name, None, opts)
        self._name_prefix = name
        base = list(args.depends_on)
        # The Gateway API CRDs from the project's own release, pinned, so the cluster's API
        # version is a reviewed choice and not whatever an implementation's chart bundles.
        self.crds = k8s.yaml.v2.ConfigFile(
            f"{name}-gateway-api-crds", file=t.GATEWAY_API_CRDS_URL,
            opts=pulumi.ResourceOptions(parent=self, depends_on=base))
        # Envoy Gateway's own CRDs from its release, applied server-side as its install guide
        # says: rendered into a Helm release they need ~2 MB, past Helm's 1 MiB release Secret.
        self.envoy_crds = k8s.yaml.v2.ConfigFile(
            f"{name}-envoy-gateway-crds", file=t.ENVOY_GATEWAY_CRDS_URL,
            opts=pulumi.ResourceOptions(parent=self, depends_on=base))
        self.controller = self._release(
            "eg", versions.ENVOY_GATEWAY,
            # gateway-helm carries the CRDs in a `crds` subchart's templates, which skip_crds does not
            # skip: without `crds.enabled: false` it would install the Gateway API and Envoy
            # Gateway CRDs a second time, owned by another release, and the install would fail.
            {"crds": {"enabled": False},
             "deployment": {"replicas": 2},
             "podDisruptionBudget": {"minAvailable": 1}},
            [self.crds, self.envoy_crds, *base], skip_crds=True)

        after = pulumi.ResourceOptions(parent=self, depends_on=[self.controller])
        self.envoy_proxy = k8s.apiextensions.CustomResource(
            f"{name}-envoy-proxy", api_version="gateway.envoyproxy.io/v1alpha1", kind="EnvoyProxy",
            metadata={"name": t.ENVOY_PROXY_NAME, "namespace": t.ENVOY_NAMESPACE},
            spec=t.envoy_proxy_spec(args.proxy_replicas), opts=after)
        self.gateway_class = k8s.apiextensions.CustomResource(
            f"{name}-class", api_version="gateway.networking.k8s.io/v1", kind="GatewayClass",
            metadata={"name": t.GATEWAY_CLASS}, spec=t.gateway_class_spec(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.controller, self.envoy_proxy]))
        self.gateway = k8s.apiextensions.CustomResource(
            f"{name}-gateway", api_version="gateway.networking.k8s.io/v1", kind="Gateway",
            metadata={"name": t.GATEWAY_NAME, "namespace": args.namespace},
            spec=t.gateway_spec(args.hostname, args.public_hostname),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.gateway_class]))
        self.redirect = k8s.apiextensions.CustomResource(
            f"{name}-https-redirect", api_version="gateway.networking.k8s.io/v1", kind="HTTPRoute",
            metadata={"name": "api-https-redirect", "namespace": args.namespace},
            spec=t.redirect_route_spec(args.hostname, args.public_hostname),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.gateway]))
        self.gateway_name = t.GATEWAY_NAME
        self.register_outputs({"gatewayName": self.gateway_name})

    def _release(self, release: str, chart: versions.Pin, values: dict,
                 depends_on: list, skip_crds: bool = False) -> k8s.helm.v3.Release:
        return helm_release(
            self._name_prefix, release, chart=chart, namespace=t.ENVOY_NAMESPACE, values=values,
            create_namespace=True, skip_crds=skip_crds,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on))
