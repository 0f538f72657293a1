"""Pod and container guardrails: requests and limits, non-root, no privilege escalation, pinned
images, no host namespaces, no node-level capabilities. Pure predicates; `helm_values.py` applies
the same pod rules to chart values."""
from __future__ import annotations

from typing import Optional

from ..model import Context, Resource
from ..values import as_list, get, is_unknown
from .objects import containers, name_of, pod_spec


RESOURCE_KEYS = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory")
HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")  # checkov CKV_K8S_19, CKV_K8S_17, CKV_K8S_18
# checkov CKV_K8S_39 (SYS_ADMIN), CKV_K8S_25 / CKV_K8S_37 (added capabilities): each of these is
# a way out of the container onto the node.
DANGEROUS_CAPABILITIES = frozenset({"ALL", "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE", "SYS_RAWIO",
                                    "DAC_READ_SEARCH", "SYS_BOOT", "BPF", "PERFMON"})


def container_resources(r: Resource, ctx: Context) -> list[str]:
    out = []
    for label, c, _ in containers(r):
        missing = [k for k in RESOURCE_KEYS if get(c, f"resources.{k}") in (None, "")]
        if missing:
            out.append(f"{name_of(r)}: {label} is missing resources {', '.join(missing)}")
    return out


def container_non_root(r: Resource, ctx: Context) -> list[str]:
    out = []
    for label, c, spec in containers(r):
        own = get(c, "securityContext.runAsNonRoot")
        pod = get(spec, "securityContext.runAsNonRoot")
        user = get(c, "securityContext.runAsUser", get(spec, "securityContext.runAsUser"))
        if (own if own is not None else pod) is not True:
            out.append(f"{name_of(r)}: {label} must set securityContext.runAsNonRoot: true")
        elif user is not None and int(user) == 0:
            out.append(f"{name_of(r)}: {label} runs as user 0")
    return out


def container_no_privilege_escalation(r: Resource, ctx: Context) -> list[str]:
    out = []
    for label, c, _ in containers(r):
        if get(c, "securityContext.privileged") is True:
            out.append(f"{name_of(r)}: {label} must not be privileged")
        elif get(c, "securityContext.allowPrivilegeEscalation") is not False:
            out.append(f"{name_of(r)}: {label} must set securityContext.allowPrivilegeEscalation: false")
    return out


def image_tag(image: str) -> Optional[str]:
    """The tag of an image reference, '' for a digest-pinned one, None when there is no tag."""
    if "@" in image:
        return ""
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def container_image_pinned(r: Resource, ctx: Context) -> list[str]:
    out = []
    for label, c, _ in containers(r):
        image = c.get("image")
        if is_unknown(image):
            continue
        if not isinstance(image, str) or not image:
            out.append(f"{name_of(r)}: {label} has no image")
            continue
        tag = image_tag(image)
        if tag is None:
            out.append(f"{name_of(r)}: {label} image {image} has no tag (it would pull latest)")
        elif tag == "latest":
            out.append(f"{name_of(r)}: {label} image {image} uses the latest tag")
    return out


def host_namespace_problems(spec: dict) -> list[str]:
    return [f"sets {key}: true" for key in HOST_NAMESPACES if get(spec, key) is True]


def capability_problems(container: dict) -> list[str]:
    added = [str(c).upper().removeprefix("CAP_") for c in as_list(get(container, "securityContext.capabilities.add"))]
    bad = sorted(c for c in added if c in DANGEROUS_CAPABILITIES)
    return [f"adds capability {c}" for c in bad]


def pod_no_host_namespaces(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_K8S_17 (hostPID), CKV_K8S_18 (hostIPC), CKV_K8S_19 (hostNetwork)."""
    return [f"{name_of(r)}: pod {p}; it would share the node's namespaces" for p in host_namespace_problems(pod_spec(r))]


def container_no_dangerous_capabilities(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_K8S_39 (SYS_ADMIN) and CKV_K8S_25 (added capabilities)."""
    out = []
    for label, c, _ in containers(r):
        out += [f"{name_of(r)}: {label} {p}; drop ALL and add only what it needs" for p in capability_problems(c)]
    return out
