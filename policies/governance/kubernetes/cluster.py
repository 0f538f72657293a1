"""Cluster-level Kubernetes guardrails: namespaces that decide their Pod Security level and deny
traffic by default, service accounts that hand out no token unasked, encrypted storage classes.
Pure predicates; each names the public check it mirrors."""
from __future__ import annotations

from typing import Iterator

from ..model import Context, Resource
from ..values import Unknown, as_list, get, is_unknown
from .objects import name_of


NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
PSA = "pod-security.kubernetes.io/"
PSA_LEVELS = ("privileged", "baseline", "restricted")
EBS_PROVISIONERS = ("ebs.csi.aws.com", "kubernetes.io/aws-ebs")


def namespace_pod_security(r: Resource, ctx: Context) -> list[str]:
    """CIS EKS 4.2 / Pod Security Admission: each namespace enforces a level; one that must stay
    privileged (node agents) still warns and audits at restricted or baseline, so drift is seen."""
    labels = get(r.props, "metadata.labels") or {}
    enforce = labels.get(PSA + "enforce")
    if is_unknown(enforce):
        raise Unknown("labels")
    if enforce not in PSA_LEVELS:
        return [f"{name_of(r)}: label {PSA}enforce must be one of {', '.join(PSA_LEVELS)}"]
    if enforce == "privileged" and labels.get(PSA + "audit") not in ("baseline", "restricted"):
        return [f"{name_of(r)}: enforces privileged without {PSA}audit at baseline or restricted"]
    return []


def service_account_no_automount(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_K8S_38 (tokens mounted only where needed), at the service account."""
    if get(r.props, "automountServiceAccountToken") is not False:
        return [f"{name_of(r)}: automountServiceAccountToken must be false; a pod that calls the API asks for it"]
    return []


def storage_class_encrypted(r: Resource, ctx: Context) -> list[str]:
    """AWS EBS volumes from a StorageClass are encrypted with our key (checkov CKV_AWS_3/189 for the
    volumes the class creates)."""
    if get(r.props, "provisioner") not in EBS_PROVISIONERS:
        return []
    if str(get(r.props, "parameters.encrypted", "")).lower() != "true":
        return [f"{name_of(r)}: parameters.encrypted must be \"true\""]
    if not get(r.props, "parameters.kmsKeyId"):
        return [f"{name_of(r)}: parameters.kmsKeyId must name the customer-managed KMS key"]
    return []


def _default_deny(policy: Resource) -> bool:
    spec = get(policy.props, "spec") or {}
    types = set(as_list(spec.get("policyTypes")))
    return (spec.get("podSelector") in ({}, None) and {"Ingress", "Egress"} <= types
            and not spec.get("ingress") and not spec.get("egress"))


def namespaces_default_deny(resources: list[Resource], ctx: Context) -> Iterator[tuple[str, str]]:
    """CIS Kubernetes 5.3.2: every namespace the stack creates has a default-deny NetworkPolicy
    (all pods, ingress and egress), so traffic flows only where a policy allows it."""
    denied: set[str] = set()
    for p in resources:
        if p.type != NETWORK_POLICY:
            continue
        try:
            if _default_deny(p):
                namespace = get(p.props, "metadata.namespace") or "default"
                denied.add(namespace)
        except Unknown:
            return  # a policy not known yet may be any namespace's
    for ns in resources:
        if ns.type != NAMESPACE:
            continue
        try:
            name = get(ns.props, "metadata.name")
        except Unknown:
            continue
        if name and name not in denied:
            yield f"{name}: no default-deny NetworkPolicy (all pods, Ingress and Egress) in this namespace", ns.urn
