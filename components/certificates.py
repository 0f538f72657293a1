"""cert-manager, the Let's Encrypt ClusterIssuers (DNS-01 on Route53) and the `api-tls` Certificate.

The certificate renews itself: cert-manager re-issues it `renewBefore` its expiry, which replaces
the runbook's manual `kubectl delete certificate api-tls` / `kubectl apply` renewal.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.helm import helm_release
from components.irsa import IrsaRole, IrsaRoleArgs
from leadgen import traffic as t
from leadgen import versions

SERVICE_ACCOUNT = "cert-manager"


@dataclass(kw_only=True)
class CertificatesArgs:
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    region: pulumi.Input[str]
    zone_id: str
    zone_name: str
    hostname: str
    issuer: str  # the ClusterIssuer `api-tls` is issued by (production or staging)
    acme_email: str
    duration: str
    renew_before: str
    namespace: str  # where `api-tls` lives: the namespace of the Gateway or Ingress using it
    # The name clients use, in the certificate beside `hostname` when a failover pair points it here.
    public_hostname: Optional[str] = None
    depends_on: Sequence[pulumi.Resource] = ()  # nodes and the target namespace
    tags: dict[str, str] = field(default_factory=dict)


class Certificates(pulumi.ComponentResource):
    def __init__(self, name: str, args: CertificatesArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:certificates:Certificates", name, None, opts)
        self.role = IrsaRole(f"{name}-irsa", IrsaRoleArgs(
            oidc_provider_arn=args.oidc_provider_arn, oidc_issuer=args.oidc_issuer,
            namespace=t.CERT_MANAGER_NAMESPACE, service_account=SERVICE_ACCOUNT,
            policy_json=t.cert_manager_policy(args.zone_id), tags=args.tags),
            opts=pulumi.ResourceOptions(parent=self))

        self.release = helm_release(
            name, "cert-manager", chart=versions.CERT_MANAGER, namespace=t.CERT_MANAGER_NAMESPACE,
            create_namespace=True,
            values={
                # The CRDs ship with the chart at the same version; `keep` leaves them (and so every
                # Certificate) in place if the release is ever uninstalled.
                "crds": {"enabled": True, "keep": True},
                "replicaCount": 2,
                "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
                "serviceAccount": {"name": SERVICE_ACCOUNT,
                                   "annotations": {"eks.amazonaws.com/role-arn": self.role.arn}},
                # The projected IRSA token is readable only by the pod's fsGroup.
                "securityContext": {"fsGroup": 1001, "runAsNonRoot": True,
                                    "seccompProfile": {"type": "RuntimeDefault"}},
                "prometheus": {"enabled": True, "servicemonitor": {"enabled": False}},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)))

        after_crds = pulumi.ResourceOptions(parent=self, depends_on=[self.release])
        self.issuers = {
            issuer: k8s.apiextensions.CustomResource(
                f"{name}-{issuer}", api_version="cert-manager.io/v1", kind="ClusterIssuer",
                metadata={"name": issuer},
                spec=t.cluster_issuer_spec(issuer, args.acme_email, args.region, args.zone_id,
                                           args.zone_name),
                opts=after_crds)
            for issuer in t.LETSENCRYPT
        }
        self.certificate = k8s.apiextensions.CustomResource(
            f"{name}-api-tls", api_version="cert-manager.io/v1", kind="Certificate",
            metadata={"name": t.TLS_SECRET, "namespace": args.namespace},
            spec=t.certificate_spec(args.hostname, args.issuer, args.duration, args.renew_before,
                                    args.public_hostname),
            opts=pulumi.ResourceOptions(parent=self,
                                        depends_on=[self.issuers[args.issuer], *args.depends_on]))
        self.secret_name = t.TLS_SECRET
        self.register_outputs({"secretName": self.secret_name})
