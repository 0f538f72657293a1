"""The weighted HTTPRoute that releases `api-canary`: `canary.weight` percent of requests, and every
request carrying `x-canary: always`, go to the canary; the rest to the stable `api`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from leadgen import traffic as t


@dataclass(kw_only=True)
class CanaryRouteArgs:
    hostname: str
    namespace: str
    port: int
    weight: int
    # The name clients use, answered beside `hostname` when a failover pair points it here.
    public_hostname: Optional[str] = None
    # The stable and canary Deployments: the provider waits for their rollouts, so weight only
    # moves once the pods that will receive it are Ready.
    depends_on: Sequence[pulumi.Resource] = ()


class CanaryRoute(pulumi.ComponentResource):
    def __init__(self, name: str, args: CanaryRouteArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:canary:CanaryRoute", name, None, opts)
        # Referenced by the route's `/metrics` rule; Envoy Gateway answers 404 itself.
        self.not_public = k8s.apiextensions.CustomResource(
            f"{name}-not-public", api_version="gateway.envoyproxy.io/v1alpha1", kind="HTTPRouteFilter",
            metadata={"name": t.NOT_PUBLIC_FILTER, "namespace": args.namespace},
            spec=t.not_public_filter_spec(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)))
        self.route = k8s.apiextensions.CustomResource(
            f"{name}-route", api_version="gateway.networking.k8s.io/v1", kind="HTTPRoute",
            metadata={"name": t.STABLE, "namespace": args.namespace,
                      "annotations": {"leadgen.io/canary-weight": str(args.weight)}},
            spec=t.canary_route_spec(args.hostname, args.port, args.weight, args.public_hostname),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*args.depends_on, self.not_public]))
        self.weight = args.weight
        self.register_outputs({"weight": self.weight})
