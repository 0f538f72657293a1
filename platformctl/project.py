"""The Pulumi project on disk: its root folder, its name and each stack's config, read as the CLI
assembles it (project defaults from `Pulumi.yaml`, then `Pulumi.<stack>.yaml`, every value a string).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from platformctl.errors import InputError, StackError

ROOT = Path(__file__).resolve().parents[1]


def project_name(root: Path = ROOT) -> str:
    return yaml.safe_load((root / "Pulumi.yaml").read_text())["name"]


def _as_config_string(value: Any) -> str:
    # The CLI hands every config value to the program as a string; objects and lists as JSON.
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def stack_config(stack: str, root: Path = ROOT, *, missing_ok: bool = False,
                 skip_secrets: bool = False) -> dict[str, str]:
    """Project defaults from Pulumi.yaml overlaid by Pulumi.<stack>.yaml, full keys to strings.

    A run refuses a missing stack file and any `secure:` value; an audit of exported state may
    have neither the file nor a need for secrets (`missing_ok`, `skip_secrets`)."""
    path = root / f"Pulumi.{stack}.yaml"
    if not path.exists() and not missing_ok:
        known = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in root.glob("Pulumi.*.yaml"))
        raise StackError(f"unknown stack {stack!r}: no Pulumi.{stack}.yaml (stacks: {', '.join(known)})")
    project_file = root / "Pulumi.yaml"
    project = yaml.safe_load(project_file.read_text()) if project_file.exists() or not missing_ok else {}
    name = project.get("name", "leadgen")
    config: dict[str, str] = {}
    for key, decl in (project.get("config") or {}).items():
        full = key if ":" in key else f"{name}:{key}"
        if isinstance(decl, dict) and "default" in decl:
            config[full] = _as_config_string(decl["default"])
    if not path.exists():
        return config
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise StackError(f"{path.name}{where} is not valid YAML") from None
    values = doc.get("config") or {}
    if not isinstance(values, dict):
        raise StackError(f"{path.name}: `config` must be a mapping")
    for key, value in values.items():
        if isinstance(value, dict) and "secure" in value:
            if skip_secrets:
                continue  # encrypted values stay encrypted; no policy needs them
            raise StackError(f"{path.name}: {key} is a secret; secrets come from AWS Secrets Manager, never config")
        config[key] = _as_config_string(value)
    return config


def pack_config(stack: str, root: Path = ROOT) -> dict[str, str]:
    """The stack's config as the CLI hands it to a policy pack.

    Audits and gates judge a stack that may only exist as exported state: a missing stack file is
    tolerated and encrypted values are left out (no policy reads a secret)."""
    try:
        return stack_config(stack, root, missing_ok=True, skip_secrets=True)
    except (StackError, yaml.YAMLError, OSError) as exc:
        raise InputError(str(exc)) from None
