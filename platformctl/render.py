"""`platformctl render`: what the cluster will receive, as files the consuming tools can check.

Every Kubernetes object the program declares becomes `manifests/<kind>-<namespace>-<name>.yaml`;
Helm releases become `helm/<release>.yaml` (chart, pinned version, values). Domain modules
`platformctl/render_<name>.py` add their own artefacts (rule files, Alertmanager config, ...).
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import re
import shutil
import sys
from pathlib import Path
from typing import Iterable

import yaml

from platformctl.engine import UNKNOWN, ProgramRun

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


def manifest(r: dict) -> dict:
    api_version, kind = api_version_kind(r["type"])
    inputs = _clean(dict(r["inputs"]))
    inputs.pop("apiVersion", None)
    inputs.pop("kind", None)
    return {"apiVersion": api_version, "kind": kind, **inputs}


def _file_name(m: dict) -> str:
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
        path = target / _file_name(m)
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


def render_all(run: ProgramRun, out_dir: Path) -> list[Path]:
    import platformctl

    written = render_manifests(run.resources, out_dir) + render_helm(run.resources, out_dir)
    for mod in pkgutil.iter_modules(platformctl.__path__):
        if mod.name.startswith("render_"):
            extension = importlib.import_module(f"platformctl.{mod.name}")
            written += extension.render(run.resources, out_dir)
    return written


def register(subparsers) -> None:
    p = subparsers.add_parser("render", help="write every Kubernetes object and artefact the program declares",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stack", required=True)
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (replaced)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from platformctl.preview import ProgramError, run_stack

    try:
        run = run_stack(args.stack)
    except ProgramError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    out = Path(args.out)
    # Render into a sibling folder and swap, so a failure never leaves half a render behind.
    staging = out.with_name(out.name + ".rendering")
    shutil.rmtree(staging, ignore_errors=True)
    written = render_all(run, staging)
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    kinds = {}
    for p in written:
        kinds[p.parent.name] = kinds.get(p.parent.name, 0) + 1
    print(f"rendered {len(written)} files for stack {run.stack} into {out}: "
          + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
    return 0
