"""What one workload may reach: its IAM role (IRSA), the Secrets Manager entries External Secrets
copies for it, and its NetworkPolicy. The grants and the policy come from the workload's `uses`
(leadgen/workloads.py); this component only declares them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.irsa import IrsaRole, IrsaRoleArgs

ESO_API = "external-secrets.io/v1"


@dataclass(kw_only=True)
class SyncedSecret:
    """A Kubernetes Secret `name` whose `key` holds the value of Secrets Manager entry `remote`."""

    name: str
    key: str
    remote: pulumi.Input[str]  # the entry's name
    property: Optional[str] = None  # a JSON field of the entry; None: its whole value


@dataclass(kw_only=True)
class WorkloadAccessArgs:
    namespace: str
    service_account: str
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    region: pulumi.Input[str]
    # The role's inline policy (only what the workload uses), or None for a role with no grant.
    policy_json: Optional[pulumi.Input[str]] = None
    network_policy: Optional[dict] = None
    secrets: Sequence[SyncedSecret] = ()
    secret_store: str = ""
    # What installs the external-secrets.io CRDs (the operator's release).
    external_secrets: Sequence[pulumi.Resource] = ()
    k8s_provider: Optional[pulumi.ProviderResource] = None
    tags: dict[str, str] = field(default_factory=dict)


class WorkloadAccess(pulumi.ComponentResource):
    def __init__(self, name: str, args: WorkloadAccessArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:workload_access:WorkloadAccess", name, None, opts)
        self.role = IrsaRole(f"{name}-irsa", IrsaRoleArgs(
            oidc_provider_arn=args.oidc_provider_arn, oidc_issuer=args.oidc_issuer, namespace=args.namespace,
            service_account=args.service_account, policy_json=args.policy_json, tags=args.tags),
            opts=pulumi.ResourceOptions(parent=self))
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider)
        self.network_policy = None
        if args.network_policy is not None:
            self.network_policy = k8s.networking.v1.NetworkPolicy(
                f"{name}-netpol", metadata={"name": f"workload-{args.service_account}", "namespace": args.namespace},
                spec=args.network_policy, opts=k8s_opts)
        self.external_secrets: list[k8s.apiextensions.CustomResource] = []
        if args.secrets:
            crds = pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=list(args.external_secrets)))
            # Its own store, reading as its own ServiceAccount (so its own role): no workload can
            # ask the store for another's entries.
            store = k8s.apiextensions.CustomResource(
                f"{name}-secret-store", api_version=ESO_API, kind="SecretStore",
                metadata={"name": args.secret_store, "namespace": args.namespace},
                spec={"provider": {"aws": {"service": "SecretsManager", "region": args.region, "auth": {
                    "jwt": {"serviceAccountRef": {"name": args.service_account}}}}}},
                opts=crds)
            for s in args.secrets:
                ref = {"key": s.remote, **({"property": s.property} if s.property else {})}
                self.external_secrets.append(k8s.apiextensions.CustomResource(
                    f"{name}-{s.name}", api_version=ESO_API, kind="ExternalSecret",
                    metadata={"name": s.name, "namespace": args.namespace},
                    spec={"refreshInterval": "1h", "secretStoreRef": {"name": args.secret_store, "kind": "SecretStore"},
                          "target": {"name": s.name, "creationPolicy": "Owner"},
                          "data": [{"secretKey": s.key, "remoteRef": ref}]},
                    opts=pulumi.ResourceOptions.merge(crds, pulumi.ResourceOptions(depends_on=[store]))))
        self.role_arn = self.role.arn
        self.register_outputs({"roleArn": self.role_arn})
