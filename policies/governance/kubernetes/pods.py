"""Pod and container guardrails: requests and limits, non-root, no privilege escalation, pinned
images, no host namespaces, no node-level capabilities. Pure predicates; `helm_values.py` applies
the same pod rules to chart values."""
from __future__ import annotations

import re
from typing import Optional

from ..model import Context, Resource
from ..values import as_list, get, is_unknown
from .deployments import is_production
from .objects import containers, name_of, pod_spec


RESOURCE_KEYS = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory")
HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")  # checkov CKV_K8S_19, CKV_K8S_17, CKV_K8S_18
# checkov CKV_K8S_39 (SYS_ADMIN), CKV_K8S_25 / CKV_K8S_37 (added capabilities): each of these is
# a way out of the container onto the node.
DANGEROUS_CAPABILITIES = frozenset({"ALL", "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE", "SYS_RAWIO",
                                    "DAC_READ_SEARCH", "SYS_BOOT", "BPF", "PERFMON"})
# checkov CKV_K8S_40: UIDs below this are where a node's own users live; a container that shares
# one with the node owns that user's files should it ever reach them.
MIN_UID = 10000
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


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


def container_image_digest_pinned(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_K8S_43, on production stacks: a tag can be pushed again in a registry that allows
    it, and a digest cannot; production runs exactly the bytes staging ran."""
    if not is_production(ctx):
        return []
    out = []
    for label, c, _ in containers(r):
        image = c.get("image")
        if is_unknown(image) or not isinstance(image, str) or not image:
            continue  # no image at all is kubernetes-container-image-tag-pinned's finding
        if not DIGEST.search(image):
            out.append(f"{name_of(r)}: {label} image {image} is not pinned by digest; production runs "
                       "<repository>:<tag>@sha256:<digest>")
    return out


def pull_policy(container: dict) -> str:
    """The container's imagePullPolicy, or the one Kubernetes defaults to: Always for an image with no
    tag or the latest tag, IfNotPresent otherwise."""
    policy = container.get("imagePullPolicy")
    if policy:
        return policy
    tag = image_tag(container.get("image") or "")
    return "Always" if tag in (None, "latest") else "IfNotPresent"


def container_image_pull_policy(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_K8S_15: an image named by tag is pulled Always, so a node never runs what the tag
    used to name and every pull is authorised; by digest, the cached copy is the image."""
    out = []
    for label, c, _ in containers(r):
        image = c.get("image")
        if is_unknown(image) or is_unknown(c.get("imagePullPolicy")) or not isinstance(image, str) or not image:
            continue
        if "@" in image:
            continue
        policy = pull_policy(c)
        if policy != "Always":
            out.append(f"{name_of(r)}: {label} pulls {image} by tag with imagePullPolicy {policy}; pull a tag "
                       "Always, or pin the image by digest")
    return out


def container_high_uid(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_K8S_40: every container runs as a UID of 10000 or more, its own or the pod's. A
    pod in its own user namespace (hostUsers: false) is mapped away from the node's UIDs anyway."""
    spec = pod_spec(r)
    if get(spec, "hostUsers") is False:
        return []
    out = []
    for label, c, _ in containers(r):
        user = get(c, "securityContext.runAsUser", get(spec, "securityContext.runAsUser"))
        if user is None:
            out.append(f"{name_of(r)}: {label} sets no runAsUser; run as a UID of {MIN_UID} or more, not the "
                       "image's")
        elif isinstance(user, bool) or not isinstance(user, (int, float)):
            out.append(f"{name_of(r)}: {label} has runAsUser {user!r}, which is not a UID")
        elif user < MIN_UID:
            out.append(f"{name_of(r)}: {label} runs as UID {user:g}, below {MIN_UID}: it may be a user of the node")
    return out


def container_secrets_as_files(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_K8S_35 (CIS Kubernetes 5.4.1): a Secret in an environment variable is inherited by
    every child process, lands in crash dumps and debug output, and never sees a rotation; a mounted
    Secret is a file only the container's user reads, refreshed by the kubelet."""
    out = []
    for label, c, _ in containers(r):
        for e in as_list(c.get("env")):
            ref = get(e, "valueFrom.secretKeyRef") if isinstance(e, dict) else None
            if isinstance(ref, dict):
                out.append(f"{name_of(r)}: {label} reads Secret {ref.get('name', '?')} key {ref.get('key', '?')} "
                           f"as environment variable {e.get('name', '?')}; mount the Secret as a file")
        for e in as_list(c.get("envFrom")):
            ref = get(e, "secretRef") if isinstance(e, dict) else None
            if isinstance(ref, dict):
                out.append(f"{name_of(r)}: {label} loads Secret {ref.get('name', '?')} into its environment; "
                           "mount the Secret as a file")
    return out
