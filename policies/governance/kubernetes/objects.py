"""Reading a Kubernetes object as the guardrails do: its name, its namespace, its pod spec and
containers, wherever the workload kind keeps them. Shared by the pod, deployment, traffic and
cluster rules and by deploy readiness."""
from __future__ import annotations

from typing import Iterator

from ..model import Resource
from ..values import as_list, get


POD_SPEC_PATHS = {
    "kubernetes:apps/v1:Deployment": "spec.template.spec",
    "kubernetes:apps/v1:StatefulSet": "spec.template.spec",
    "kubernetes:apps/v1:DaemonSet": "spec.template.spec",
    "kubernetes:apps/v1:ReplicaSet": "spec.template.spec",
    "kubernetes:batch/v1:Job": "spec.template.spec",
    "kubernetes:batch/v1:CronJob": "spec.jobTemplate.spec.template.spec",
    "kubernetes:core/v1:Pod": "spec",
}
WORKLOAD_TYPES = tuple(POD_SPEC_PATHS)
DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def pod_spec(r: Resource) -> dict:
    spec = get(r.props, POD_SPEC_PATHS[r.type]) or {}
    return spec if isinstance(spec, dict) else {}


def containers(r: Resource) -> Iterator[tuple[str, dict, dict]]:
    """(label, container, pod spec) for every container and init container."""
    spec = pod_spec(r)
    for key in ("initContainers", "containers"):
        for c in as_list(spec.get(key)):
            if isinstance(c, dict):
                label = "init container" if key == "initContainers" else "container"
                yield f"{label} {c.get('name', '?')}", c, spec


def name_of(r: Resource) -> str:
    """metadata.name, or the Pulumi name when the object does not set one."""
    return get(r.props, "metadata.name") or r.name


def namespace_of(r: Resource) -> str:
    return get(r.props, "metadata.namespace") or "default"
