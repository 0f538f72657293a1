"""What the cluster will receive, as files the consuming tools can check.

Every Kubernetes object the program declares becomes `manifests/<kind>-<namespace>-<name>.yaml`;
Helm releases become `helm/<release>.yaml` (chart, pinned version, values). The extensions listed
in EXTENSIONS add their domain's artefacts (rule files, Alertmanager config, validated routes).
"""
from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Iterable

import yaml

from platformctl.program.engine import UNKNOWN, ProgramRun

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


def is_k8s_object(r: dict) -> bool:
    return r["custom"] and r["type"].startswith("kubernetes:") and r["type"] != HELM_RELEASE


def api_version_kind(typ: str) -> tuple[str, str]:
    """`kubernetes:apps/v1:Deployment` -> (`apps/v1`, `Deployment`); core is `v1`."""
    _, gv, kind = typ.split(":")
    group, version = gv.rsplit("/", 1)
    return (version if group == "core" else f"{group}/{version}"), kind


def _clean(value):
    """Drop unset fields the SDK leaves as None, as kubectl would never send them."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _integers(value):
    """Whole numbers as integers. Every number crosses the engine as a double (protobuf Struct), so
    the program's `runAsUser: 10001` arrives as 10001.0; the provider's JSON carries it as 10001, so
    that is what the API server stores and what a manifest checker must read (an int field holding
    10001.0 is not an integer to it)."""
    if isinstance(value, dict):
        return {k: _integers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integers(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def manifest(r: dict) -> dict:
    api_version, kind = api_version_kind(r["type"])
    inputs = _integers(_clean(dict(r["inputs"])))
    inputs.pop("apiVersion", None)
    inputs.pop("kind", None)
    return {"apiVersion": api_version, "kind": kind, **inputs}


def file_name(m: dict) -> str:
    meta = m.get("metadata") or {}
    parts = [m["kind"].lower(), meta.get("namespace") or "cluster", meta.get("name") or "unnamed"]
    return re.sub(r"[^a-z0-9.-]+", "-", "-".join(parts).lower()) + ".yaml"


def has_unknowns(value) -> bool:
    if isinstance(value, dict):
        return any(has_unknowns(v) for v in value.values())
    if isinstance(value, list):
        return any(has_unknowns(v) for v in value)
    return value == UNKNOWN


def render_manifests(resources: Iterable[dict], out_dir: Path) -> list[Path]:
    target = out_dir / "manifests"
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for r in resources:
        if not is_k8s_object(r):
            continue
        m = manifest(r)
        path = target / file_name(m)
        if path.exists():
            raise ValueError(f"two objects render to {path.name}: {r['urn']}")
        path.write_text(yaml.safe_dump(m, sort_keys=False, width=120))
        written.append(path)
    return written


def render_helm(resources: Iterable[dict], out_dir: Path) -> list[Path]:
    target = out_dir / "helm"
    written = []
    for r in resources:
        if r["type"] != HELM_RELEASE:
            continue
        target.mkdir(parents=True, exist_ok=True)
        i = r["inputs"]
        doc = {"release": i.get("name"), "namespace": i.get("namespace"), "chart": i.get("chart"),
               "version": i.get("version"), "repository": (i.get("repositoryOpts") or {}).get("repo"),
               "values": _clean(i.get("values") or {})}
        path = target / f"{i.get('namespace')}-{i.get('name')}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False, width=120))
        written.append(path)
    return written


# Domain extensions, each a module with `render(resources, out_dir) -> list[Path]`. Listed here
# rather than discovered: a module renders because it is named here, not because of its file name.
EXTENSIONS = ("platformctl.render.observability", "platformctl.render.traffic", "platformctl.render.flows")


def render_all(run: ProgramRun, out_dir: Path) -> list[Path]:
    written = render_manifests(run.resources, out_dir) + render_helm(run.resources, out_dir)
    for name in EXTENSIONS:
        written += importlib.import_module(name).render(run.resources, out_dir)
    return written
