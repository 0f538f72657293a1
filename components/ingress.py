"""The ingress-nginx path, for clusters still moving off it: a stable Ingress `api` and, per host
and path, a canary Ingress `api-canary` carrying the runbook's canary annotations.

ingress-nginx was retired in March 2026 and gets no security fixes; the program warns on every
update that uses it. The controller itself is the cluster's existing one, not installed here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from leadgen import traffic as t

RETIRED_WARNING = ("traffic.router is ingress-nginx, retired upstream in March 2026 with no more "
                   "security fixes; move to `gateway-api` (docs/runbooks/canary-release.md)")


@dataclass(kw_only=True)
class NginxCanaryIngressArgs:
    hostname: str
    namespace: str
    port: int
    weight: int
    # The name clients use, answered beside `hostname` when a failover pair points it here.
    public_hostname: Optional[str] = None
    paths: list[str] = field(default_factory=lambda: ["/"])
    depends_on: Sequence[pulumi.Resource] = ()


class NginxCanaryIngress(pulumi.ComponentResource):
    def __init__(self, name: str, args: NginxCanaryIngressArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:ingress:NginxCanaryIngress", name, None, opts)
        pulumi.log.warn(RETIRED_WARNING, resource=self)
        child = pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on))
        self.stable = k8s.networking.v1.Ingress(
            f"{name}-stable",
            metadata={"name": t.STABLE, "namespace": args.namespace,
                      "annotations": t.stable_ingress_annotations()},
            spec=_spec(args, t.STABLE), opts=child)
        # ingress-nginx pairs a canary Ingress with the stable one of the same host and path.
        self.canaries = [
            k8s.networking.v1.Ingress(
                f"{name}-canary" if i == 0 else f"{name}-canary-{i}",
                metadata={"name": t.CANARY if i == 0 else f"{t.CANARY}-{i}",
                          "namespace": args.namespace,
                          "annotations": t.canary_ingress_annotations(args.weight)},
                spec=t.ingress_spec(args.hostname, t.CANARY, args.port, path, args.public_hostname),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.stable, *args.depends_on]))
            for i, path in enumerate(args.paths)
        ]
        self.register_outputs({})


def _spec(args: NginxCanaryIngressArgs, service: str) -> dict:
    spec = t.ingress_spec(args.hostname, service, args.port, args.paths[0], args.public_hostname)
    for path in args.paths[1:]:
        extra = t.ingress_spec(args.hostname, service, args.port, path, args.public_hostname)
        for rule, more in zip(spec["rules"], extra["rules"]):
            rule["http"]["paths"].append(more["http"]["paths"][0])
    return spec
