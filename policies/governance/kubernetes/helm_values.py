"""The pod security rules applied to the values handed to every Helm release.

A chart renders its pods from values the program passes, and those pods never appear in state as
Deployments of their own, so the container rules in `pods.py` never see them. This walks a
release's values as data and flags the settings that give a pod the node: host namespaces,
privileged, root, privilege escalation and dangerous capabilities - checkov CKV_K8S_16 (privileged),
CKV_K8S_17/18/19 (hostPID/IPC/Network), CKV_K8S_20 (allowPrivilegeEscalation), CKV_K8S_23 (root),
CKV_K8S_39 (SYS_ADMIN) - wherever in the values a chart takes them. Values a chart leaves at its
defaults are not in state and are not judged here (render the chart to check those).
"""
from __future__ import annotations

import json
from typing import Any, Iterator

from .pods import DANGEROUS_CAPABILITIES, HOST_NAMESPACES
from ..model import Context, Resource
from ..values import get, is_unknown

RELEASE_TYPES = ("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart")
MAX_DEPTH = 64  # values are config, not data: deeper than this is not a chart's shape
_KEYS = frozenset(HOST_NAMESPACES) | {"privileged", "allowPrivilegeEscalation", "runAsNonRoot", "runAsUser",
                                      "runAsGroup", "add"}


def _walk(value: Any, path: str, depth: int = 0) -> Iterator[tuple[str, str, Any]]:
    """(path, key, value) for every key in the values."""
    if depth > MAX_DEPTH:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            yield here, str(key), item
            yield from _walk(item, here, depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]", depth + 1)


def _true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def value_problems(values: Any) -> list[str]:
    out = []
    for path, key, value in _walk(values, ""):
        if key not in _KEYS or is_unknown(value):
            continue
        if key in HOST_NAMESPACES and _true(value):
            out.append(f"{path}: true shares the node's namespaces")
        elif key == "privileged" and _true(value):
            out.append(f"{path}: true runs a privileged container")
        elif key == "allowPrivilegeEscalation" and _true(value):
            out.append(f"{path}: true lets a process gain more privileges than its parent")
        elif key == "runAsNonRoot" and (value is False or str(value).lower() == "false"):
            out.append(f"{path}: false lets the container run as root")
        elif key in ("runAsUser", "runAsGroup") and isinstance(value, (int, float)) and not isinstance(value, bool) \
                and value == 0:
            out.append(f"{path}: 0 runs as root")
        elif key == "add" and path.endswith("capabilities.add") and isinstance(value, list):
            bad = sorted({str(c).upper().removeprefix("CAP_") for c in value} & DANGEROUS_CAPABILITIES)
            if bad:
                out.append(f"{path}: adds {', '.join(bad)}")
    return out


def release_values_pod_security(r: Resource, ctx: Context) -> list[str]:
    values = get(r.props, "values")
    if isinstance(values, str) and not is_unknown(values):
        try:
            values = json.loads(values)
        except ValueError:
            return []
    chart = get(r.props, "chart") or r.name
    return [f"{r.name} ({chart}): values {p}" for p in value_problems(values or {})]
