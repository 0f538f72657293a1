"""A namespace with a Pod Security profile, default-deny network policies and named allowances."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.log_shipper import POD_LABELS as LOG_SHIPPER_PODS

# The platform's namespaces and the Pod Security level each enforces. Production runs only the
# platform's own hardened workloads; monitoring hosts node-exporter, which needs the host's PID
# and network namespaces, so it may only be audited and warned against `restricted`.
PRODUCTION, MONITORING, GOVERNANCE = "production", "monitoring", "governance"
POD_SECURITY = {PRODUCTION: "restricted", MONITORING: "privileged", GOVERNANCE: "restricted"}

DNS_EGRESS = {
    "podSelector": {},
    "policyTypes": ["Egress"],
    "egress": [{
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }],
}
SAME_NAMESPACE = {
    "podSelector": {},
    "policyTypes": ["Ingress", "Egress"],
    "ingress": [{"from": [{"podSelector": {}}]}],
    "egress": [{"to": [{"podSelector": {}}]}],
}


def from_namespace(namespace: str, ports: list[int], pod_labels: Optional[dict] = None) -> dict:
    """Ingress to (some) pods of this namespace from every pod of `namespace` on `ports`."""
    return {
        "podSelector": {"matchLabels": pod_labels} if pod_labels else {},
        "policyTypes": ["Ingress"],
        "ingress": [{
            "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}],
            "ports": [{"protocol": "TCP", "port": p} for p in ports],
        }],
    }


def egress_to_cidr(cidr: str, ports: list[int]) -> dict:
    return {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": cidr}}],
                    "ports": [{"protocol": "TCP", "port": p} for p in ports]}],
    }


def egress_https_outside(vpc_cidr: str) -> dict:
    """HTTPS to AWS APIs outside the VPC (S3 through its gateway endpoint, Secrets Manager, KMS),
    nothing else."""
    return {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [vpc_cidr]}}],
                    "ports": [{"protocol": "TCP", "port": 443}]}],
    }


def egress_https_to_interface_endpoints(vpc_cidr: str) -> dict:
    """HTTPS to the VPC's interface endpoints: with private DNS, `sts.<region>.amazonaws.com` (IRSA's
    AssumeRoleWithWebIdentity), ECR and Logs resolve to their ENIs inside the VPC, which the rule
    above excludes."""
    return egress_to_cidr(vpc_cidr, [443])


@dataclass(kw_only=True)
class PlatformNamespaceArgs:
    pod_security: str = "restricted"
    # name -> NetworkPolicy spec, each an allowance on top of default-deny.
    allowances: dict[str, dict] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


class PlatformNamespace(pulumi.ComponentResource):
    def __init__(self, name: str, args: PlatformNamespaceArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:namespaces:PlatformNamespace", name, None, opts)
        level = args.pod_security
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata={"name": name, "labels": {
                **args.labels,
                "pod-security.kubernetes.io/enforce": level,
                "pod-security.kubernetes.io/enforce-version": "latest",
                "pod-security.kubernetes.io/audit": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
            }},
            opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])
        policies = {"default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
                    "allow-dns": DNS_EGRESS, "allow-same-namespace": SAME_NAMESPACE,
                    **args.allowances}
        for policy, spec in policies.items():
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{policy}", metadata={"name": policy, "namespace": name}, spec=spec,
                opts=child)
        self.name = name
        self.register_outputs({"name": self.name})


def production_allowances(vpc_cidr: str, app_ports: list[int]) -> dict[str, dict]:
    """What the production workloads need beyond their own namespace."""
    return {
        # Prometheus scrapes the services' metrics from the monitoring namespace.
        "allow-from-monitoring": from_namespace(MONITORING, sorted(set(app_ports))),
        # PostgreSQL and Redis live in the VPC's private subnets.
        "allow-egress-datastores": egress_to_cidr(vpc_cidr, [5432, 6379]),
        # Traces (OTLP) and backup metrics (Pushgateway) go to the monitoring namespace.
        "allow-egress-monitoring": {
            "podSelector": {}, "policyTypes": ["Egress"],
            "egress": [{"to": [{"namespaceSelector": {"matchLabels": {
                "kubernetes.io/metadata.name": MONITORING}}}],
                "ports": [{"protocol": "TCP", "port": p} for p in (4317, 4318, 9091)]}]},
        "allow-egress-aws-apis": egress_https_outside(vpc_cidr),
        "allow-egress-aws-endpoints": egress_https_to_interface_endpoints(vpc_cidr),
    }


def monitoring_allowances(vpc_cidr: str) -> dict[str, dict]:
    """Prometheus must reach every pod and node it scrapes and the API server it discovers from;
    the log shipper must reach the API server for its pods' metadata (Loki, in this namespace, is
    reached through allow-same-namespace)."""
    return {
        "allow-scrape-egress": {
            "podSelector": {}, "policyTypes": ["Egress"],
            "egress": [{"to": [{"namespaceSelector": {}}]},
                       # The API server's ENIs, kubelet, kube-proxy and node-exporter: host
                       # addresses inside the VPC, which no namespace selector matches.
                       {"to": [{"ipBlock": {"cidr": vpc_cidr}}],
                        "ports": [{"protocol": "TCP", "port": p} for p in (443, 10250, 10249, 9100)]}]},
        "allow-from-production": from_namespace(PRODUCTION, [4317, 4318, 9091]),
        "allow-egress-aws-apis": egress_https_outside(vpc_cidr),
        # Its own rule, so narrowing the scrape rule to Prometheus cannot cut the shipper off:
        # the API server's ENIs are in the VPC, on 443.
        "allow-log-shipper-egress": {
            "podSelector": {"matchLabels": dict(LOG_SHIPPER_PODS)}, "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": vpc_cidr}}], "ports": [{"protocol": "TCP", "port": 443}]}]},
    }
