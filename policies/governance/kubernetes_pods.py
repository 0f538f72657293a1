"""Pod security beyond the container checks in `kubernetes.py`: host namespaces, added Linux
capabilities, and Services that put a load balancer in front of the world. Pure predicates; each
names the public check it mirrors. `helm_values.py` applies the same pod rules to chart values."""
from __future__ import annotations

from .kubernetes import _containers, _name, _pod_spec
from .model import Context, Resource
from .values import Unknown, as_list, get, is_unknown

HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")  # checkov CKV_K8S_19, CKV_K8S_17, CKV_K8S_18
# checkov CKV_K8S_39 (SYS_ADMIN), CKV_K8S_25 / CKV_K8S_37 (added capabilities): each of these is
# a way out of the container onto the node.
DANGEROUS_CAPABILITIES = frozenset({"ALL", "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE", "SYS_RAWIO",
                                    "DAC_READ_SEARCH", "SYS_BOOT", "BPF", "PERFMON"})
SERVICE = "kubernetes:core/v1:Service"
OPEN_CIDRS = ("0.0.0.0/0", "::/0")
# The AWS load balancer annotations that keep a Service's load balancer inside the VPC.
INTERNAL_ANNOTATIONS = {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
                        "service.beta.kubernetes.io/aws-load-balancer-internal": "true"}


def host_namespace_problems(spec: dict) -> list[str]:
    return [f"sets {key}: true" for key in HOST_NAMESPACES if get(spec, key) is True]


def capability_problems(container: dict) -> list[str]:
    added = [str(c).upper().removeprefix("CAP_") for c in as_list(get(container, "securityContext.capabilities.add"))]
    bad = sorted(c for c in added if c in DANGEROUS_CAPABILITIES)
    return [f"adds capability {c}" for c in bad]


def pod_no_host_namespaces(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_K8S_17 (hostPID), CKV_K8S_18 (hostIPC), CKV_K8S_19 (hostNetwork)."""
    return [f"{_name(r)}: pod {p}; it would share the node's namespaces" for p in host_namespace_problems(_pod_spec(r))]


def container_no_dangerous_capabilities(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_K8S_39 (SYS_ADMIN) and CKV_K8S_25 (added capabilities)."""
    out = []
    for label, c, _ in _containers(r):
        out += [f"{_name(r)}: {label} {p}; drop ALL and add only what it needs" for p in capability_problems(c)]
    return out


def load_balancer_restricted(r: Resource, ctx: Context) -> list[str]:
    """A Service of type LoadBalancer is internal or lists its source ranges. checkov has no such
    check; this follows the Kubernetes docs (`spec.loadBalancerSourceRanges`) and CIS EKS 5.4.5
    (restrict network access to load balancers); the public entry is the Gateway, behind TLS."""
    if get(r.props, "spec.type") != "LoadBalancer":
        return []
    annotations = get(r.props, "metadata.annotations") or {}
    if any(str(annotations.get(k, "")).lower() == v for k, v in INTERNAL_ANNOTATIONS.items()):
        return []
    ranges = as_list(get(r.props, "spec.loadBalancerSourceRanges"))
    if any(is_unknown(x) for x in ranges):
        raise Unknown("spec.loadBalancerSourceRanges")
    if not ranges or any(x in OPEN_CIDRS for x in ranges):
        return [f"{_name(r)}: a LoadBalancer Service open to the world; make it internal or list "
                "spec.loadBalancerSourceRanges (public traffic enters through the Gateway)"]
    return []
