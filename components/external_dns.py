"""external-dns: publishes the API hostname in the one Route53 zone it may touch."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi

from components.helm import helm_release
from components.irsa import IrsaRole, IrsaRoleArgs
from leadgen import traffic as t
from leadgen import versions

SERVICE_ACCOUNT = "external-dns"
# What external-dns reads hostnames from, per router.
SOURCES = {t.GATEWAY_API: ["gateway-httproute"], t.INGRESS_NGINX: ["ingress"]}


@dataclass(kw_only=True)
class ExternalDnsArgs:
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    region: pulumi.Input[str]
    zone_id: str
    zone_name: str
    router: str
    owner_id: str  # the TXT ownership marker: this cluster never touches another's records
    # Names the router answers for whose records belong to someone else (the failover pair of the
    # public name): external-dns neither creates nor changes them, nor anything under them.
    exclude_hostnames: Sequence[str] = ()
    depends_on: Sequence[pulumi.Resource] = ()
    tags: dict[str, str] = field(default_factory=dict)


class ExternalDns(pulumi.ComponentResource):
    def __init__(self, name: str, args: ExternalDnsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:external_dns:ExternalDns", name, None, opts)
        self.role = IrsaRole(f"{name}-irsa", IrsaRoleArgs(
            oidc_provider_arn=args.oidc_provider_arn, oidc_issuer=args.oidc_issuer,
            namespace=t.EXTERNAL_DNS_NAMESPACE, service_account=SERVICE_ACCOUNT,
            policy_json=t.external_dns_policy(args.zone_id), tags=args.tags),
            opts=pulumi.ResourceOptions(parent=self))
        self.release = helm_release(
            name, "external-dns", chart=versions.EXTERNAL_DNS, namespace=t.EXTERNAL_DNS_NAMESPACE,
            create_namespace=True,
            values={
                "provider": {"name": "aws"},
                "sources": SOURCES[args.router],
                "domainFilters": [args.zone_name],
                "extraArgs": [f"--zone-id-filter={args.zone_id}", "--aws-zone-type=public",
                              *(f"--exclude-domains={h}" for h in args.exclude_hostnames)],
                # upsert-only: a deleted route never deletes a record someone else relies on.
                "policy": "upsert-only",
                "registry": "txt",
                "txtOwnerId": args.owner_id,
                "env": [{"name": "AWS_DEFAULT_REGION", "value": args.region}],
                "serviceAccount": {"name": SERVICE_ACCOUNT,
                                   "annotations": {"eks.amazonaws.com/role-arn": self.role.arn}},
                "securityContext": {"runAsNonRoot": True, "readOnlyRootFilesystem": True,
                                    "allowPrivilegeEscalation": False,
                                    "capabilities": {"drop": ["ALL"]}},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)))
        self.register_outputs({})
