"""The resource graph deploy readiness reads: what each resource waits for (its dependencies and its
parent, as the engine orders a first `pulumi up`), and the small readers every rule shares (API
group, chart name, a resource's label in a message, a walk over nested values).

"Waits for" follows the engine: a resource is created after its dependencies and its parent, so
it waits for everything reachable through those edges.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Iterator, Optional

from ..model import Resource
from ..values import Unknown, as_list, get, is_unknown

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
HELM_TYPES = (HELM_RELEASE, "kubernetes:helm.sh/v4:Chart")
CONFIG_FILE_TYPES = ("kubernetes:yaml/v2:ConfigFile", "kubernetes:yaml:ConfigFile")
# Kubernetes types that are components (the provider constructs the v2 ones and the Helm v4 Chart;
# the SDK builds the older ones): each object they apply is a child, a custom resource parented to
# the component and using the provider it inherits. The component itself never calls the API
# server, and the engine records no provider for it in state (pulumi-kubernetes
# provider/pkg/provider/yaml/v2/configfile.go registers the objects with `Parent(comp)` only).
K8S_COMPONENT_TYPES = frozenset({
    *CONFIG_FILE_TYPES, "kubernetes:yaml/v2:ConfigGroup", "kubernetes:yaml:ConfigGroup",
    "kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Chart", "kubernetes:helm.sh/v2:Chart",
    "kubernetes:kustomize/v2:Directory", "kubernetes:kustomize:Directory",
})

# API groups the API server serves itself, plus the pseudo-groups of the Kubernetes provider's
# own components (`helm.sh/v3:Release`, `yaml/v2:ConfigFile`): any other group is a custom resource.
BUILTIN_GROUPS = frozenset({
    "core", "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "storage.k8s.io",
    "rbac.authorization.k8s.io", "admissionregistration.k8s.io", "apiextensions.k8s.io",
    "apiregistration.k8s.io", "authentication.k8s.io", "authorization.k8s.io", "certificates.k8s.io",
    "coordination.k8s.io", "discovery.k8s.io", "events.k8s.io", "flowcontrol.apiserver.k8s.io",
    "internal.apiserver.k8s.io", "node.k8s.io", "resource.k8s.io", "scheduling.k8s.io",
    "storagemigration.k8s.io", "extensions",
    "helm.sh", "yaml", "kustomize",
})


# --- the graph ---------------------------------------------------------------------------------
class Graph:
    """Dependencies and parents of a stack, and what each resource waits for."""

    def __init__(self, resources: list[Resource]):
        self.resources = resources
        self.by_urn = {r.urn: r for r in resources}
        self._memo: dict[tuple[str, frozenset], bool] = {}

    def edges(self, r: Resource) -> Iterator[str]:
        yield from r.dependencies
        if r.parent:
            yield r.parent

    def waits_for_any(self, urn: str, targets: frozenset[str]) -> bool:
        """Whether `urn` is created after one of `targets` (through dependencies and parents)."""
        if not targets:
            return False
        # Iterative, memoised per target set: thousands of resources share the same ancestors.
        stack, path = [urn], []
        seen: set[str] = set()
        found = False
        while stack:
            u = stack.pop()
            if u in seen:
                continue
            seen.add(u)
            known = self._memo.get((u, targets))
            if known is not None:
                if known:
                    found = True
                    break
                continue
            r = self.by_urn.get(u)
            if r is None:
                continue
            path.append(u)
            for v in self.edges(r):
                if v in targets:
                    found = True
                    break
                stack.append(v)
            if found:
                break
        if found:
            self._memo[(urn, targets)] = True
        else:
            for u in path:  # nothing reachable from any of them is a target
                self._memo[(u, targets)] = False
        return found


_cached: tuple = (None, -1, None)  # (resources, their count, graph), swapped whole: one read is atomic


def graph_of(resources: list[Resource]) -> Graph:
    # The pack's policies of one AnalyzeStack share one list of resources (governance/sdk_cache.py):
    # build its graph once. The held reference keeps the list alive, so identity cannot be reused.
    global _cached
    held, count, graph = _cached
    if held is not resources or count != len(resources):
        graph = Graph(resources)
        _cached = (resources, len(resources), graph)
    return graph


# --- small readers shared by the rules -----------------------------------------------------------------------------
def api_group(typ: str) -> Optional[str]:
    """`kubernetes:monitoring.coreos.com/v1:ServiceMonitor` -> `monitoring.coreos.com`."""
    parts = typ.split(":")
    if len(parts) != 3 or parts[0] != "kubernetes" or "/" not in parts[1]:
        return None
    return parts[1].split("/", 1)[0]


def is_custom_resource(typ: str) -> bool:
    group = api_group(typ)
    return group is not None and group not in BUILTIN_GROUPS


def chart_name(r: Resource) -> str:
    chart = get(r.props, "chart") or ""
    return str(chart).rstrip("/").rsplit("/", 1)[-1]


def config_files(r: Resource) -> list:
    return [get(r.props, "file"), *as_list(get(r.props, "files"))]


def meta(r: Resource) -> tuple[str, str]:
    ns = get(r.props, "metadata.namespace") or "default"
    return str(ns), str(get(r.props, "metadata.name") or r.name)


def label(r: Resource) -> str:
    kind = r.type.rsplit(":", 1)[-1]
    ns, name = meta(r)
    return f"{kind} {ns}/{name}" if r.type.startswith("kubernetes:") and "helm.sh" not in r.type else f"{kind} {r.name}"


def release_namespace(r: Resource) -> str:
    return str(get(r.props, "namespace") or "default")


def safe(items: Iterable[Resource], fn):
    """fn(r) for each resource, skipping the ones whose needed values are unknown."""
    for r in items:
        try:
            yield r, fn(r)
        except Unknown:
            continue


def walk(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk(v, path + (i,))


def some(names: list[str], shown: int = 3) -> str:
    """A few names for a message, the rest counted: a stack can hold thousands."""
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def major_version(version: Any) -> Optional[int]:
    if version is None or is_unknown(version):
        return None
    match = re.match(r"^\s*(\d+)", str(version))
    return int(match.group(1)) if match else None


