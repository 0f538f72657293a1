"""Runs `__main__.py` under the Pulumi SDK's mock engine, recording what `pulumi preview` would see.

The program is not changed or told it is mocked: the same config reaches it through the SDK's
config store, as the CLI's language host would pass it. A recording monitor keeps what the stock
`MockMonitor` drops (parents, options, providers) so the tree, the pack and the export see it all.
"""
from __future__ import annotations

import json
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

ROOT = Path(__file__).resolve().parents[1]
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270"


class StackError(Exception):
    """A stack that cannot be run: unknown name, unreadable stack file. One line."""


@dataclass
class ProgramRun:
    project: str
    stack: str
    preview: bool
    config: dict[str, str]
    resources: list[dict] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def by_type(self, typ: str) -> list[dict]:
        return [r for r in self.resources if r["type"] == typ]

    def one(self, typ: str, name: str) -> dict:
        found = [r for r in self.resources if r["type"] == typ and r["name"] == name]
        if len(found) != 1:
            raise KeyError(f"{len(found)} resources of type {typ} named {name}")
        return found[0]

    @property
    def stack_urn(self) -> str:
        return f"urn:pulumi:{self.stack}::{self.project}::pulumi:pulumi:Stack::{self.project}-{self.stack}"


# --- config, as the CLI assembles it ----------------------------------------------------------
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


# --- the recording monitor ---------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """Deserialized SDK values to JSON-able data: unknowns become the engine's sentinel."""
    from pulumi.output import Unknown

    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _make_monitor(mocks):
    from pulumi.runtime import rpc
    from pulumi.runtime.mocks import MockMonitor

    class RecordingMonitor(MockMonitor):
        def __init__(self, mocks):
            super().__init__(mocks)
            self.records: list[dict] = []

        def RegisterResource(self, request):
            response = super().RegisterResource(request)
            urn = response.urn
            inputs = _plain(rpc.deserialize_properties(request.object, keep_unknowns=True))
            if request.type == "pulumi:pulumi:Stack":
                outputs, rid = {}, ""
            else:
                outputs = _plain(self.resources[urn].state)
                rid = self.resources[urn].id
            self.records.append({
                "urn": urn, "type": request.type, "name": request.name, "parent": request.parent,
                "custom": bool(request.custom), "id": rid, "inputs": inputs, "outputs": outputs,
                "provider": request.provider, "protect": bool(request.protect),
                "ignore_changes": list(request.ignoreChanges),
                "dependencies": list(request.dependencies),
                "retain_on_delete": bool(request.retainOnDelete),
                "delete_before_replace": bool(request.deleteBeforeReplace),
                "additional_secret_outputs": list(request.additionalSecretOutputs),
            })
            return response

    return RecordingMonitor(mocks)


def run_program(stack: str, *, preview: bool = True, config: Optional[dict[str, str]] = None,
                root: Path = ROOT) -> ProgramRun:
    """Run the program for `stack` under mocks. Raises the program's own exceptions
    (ConfigError for bad config) with nothing registered when config is invalid."""
    import pulumi
    from pulumi.runtime import settings
    from pulumi.runtime.config import set_all_config
    from pulumi.runtime.mocks import set_mocks
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from platformctl.mocks import PlatformMocks, load_domain_mocks

    load_domain_mocks()

    project = project_name(root)
    cfg = stack_config(stack, root) if config is None else dict(config)
    run = ProgramRun(project, stack, preview, cfg)

    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    mocks = PlatformMocks(region=cfg.get("aws:region") or "us-east-1")
    monitor = _make_monitor(mocks)
    set_all_config(cfg)
    settings.set_root_resource(None)
    set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)
    stack_resource = settings.get_root_resource()

    def program() -> None:
        runpy.run_path(str(root / "__main__.py"), run_name="__main__")

    try:
        _sync_await(run_pulumi_func(program))
    except BaseException as e:
        # Tests assert that a rejected config registered nothing: keep what was registered.
        e.registered = [r for r in monitor.records if r["type"] != "pulumi:pulumi:Stack"]  # type: ignore[attr-defined]
        raise
    run.outputs = _resolve_outputs(stack_resource)
    run.resources = [r for r in monitor.records if r["type"] != "pulumi:pulumi:Stack"]
    # The root stack resource is what `pulumi stack export` lists first, outputs included.
    run.resources.insert(0, {
        "urn": run.stack_urn, "type": "pulumi:pulumi:Stack", "name": f"{project}-{stack}",
        "parent": "", "custom": False, "id": "", "inputs": {}, "outputs": run.outputs,
        "provider": "", "protect": False, "ignore_changes": [], "dependencies": [],
        "retain_on_delete": False, "delete_before_replace": False, "additional_secret_outputs": []})
    # Children of the stack point at the URN the CLI would give it.
    mock_root = _sync_await(stack_resource.urn.future()) if stack_resource is not None else None
    for r in run.resources[1:]:
        if r["parent"] and r["parent"] == mock_root:
            r["parent"] = run.stack_urn
    return run


def _resolve_outputs(stack_resource) -> dict[str, Any]:
    """Stack outputs as plain values; secrets wrapped as the engine marks them."""
    import pulumi
    from pulumi.runtime.sync_await import _sync_await

    if stack_resource is None:
        return {}
    out: dict[str, Any] = {}
    for key, value in getattr(stack_resource, "outputs", {}).items():
        o = pulumi.Output.from_input(value)

        async def resolve(o=o):
            known = await o.is_known()
            secret = await o.is_secret()
            v = await o.future(with_unknowns=True)
            return known, secret, v

        known, secret, v = _sync_await(resolve())
        v = _plain(v) if known else UNKNOWN
        out[key] = {SECRET_SIG: SECRET_VALUE, "value": v} if secret else v
    return out
