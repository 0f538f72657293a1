"""Runs `__main__.py` under the Pulumi SDK's mock engine, recording what `pulumi preview` would see.

The program is not changed or told it is mocked: the same config reaches it through the SDK's
config store, as the CLI's language host would pass it. A recording monitor keeps what the stock
`MockMonitor` drops (parents, options, providers) so the tree, the pack and the export see it all.
"""
from __future__ import annotations

import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from platformctl.errors import ProgramError, StackError
from platformctl.project import ROOT, project_name, stack_config

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270"


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
        return new_urn(self.stack, self.project, "", ROOT_STACK_TYPE, f"{self.project}-{self.stack}")


# --- URNs, as the engine makes them ------------------------------------------------------------
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


def qualified_type(urn: str) -> str:
    """The type part of a URN: the resource's type after its ancestors' (`A$B$type`)."""
    return urn.split("::")[2]


def new_urn(stack: str, project: str, parent: str, typ: str, name: str) -> str:
    """`urn:pulumi:<stack>::<project>::<qualified type>::<name>`, exactly as the Pulumi engine builds it.

    The engine (pulumi/pulumi `sdk/go/common/resource/urn.go` NewURN, called with the parent URN's
    qualified type) prefixes a resource's type with its parent's *whole* qualified type, so the
    chain names every ancestor component; a child of the root stack carries its own type alone,
    since the root stack type never enters a chain. The SDK's MockMonitor keeps only the parent's
    last type and writes `pulumi:pulumi:Stack$` under the stack: URNs no real state ever holds.
    """
    qualified = typ
    if parent:
        parent_type = qualified_type(parent)
        if parent_type != ROOT_STACK_TYPE:
            qualified = f"{parent_type}${typ}"
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


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
    from pulumi.asset import Archive, Asset

    if isinstance(value, (Asset, Archive)):
        # As the engine records them: by content, so two runs of one program agree (an object's
        # repr carries its address).
        fields = {k: getattr(value, k) for k in ("assets", "text", "path", "uri") if hasattr(value, k)}
        return {"kind": type(value).__name__, **{k: _plain(v) for k, v in fields.items()}}
    return str(value)


def _make_monitor(mocks, stack: str, project: str):
    from pulumi.runtime import rpc
    from pulumi.runtime.mocks import MockMonitor

    class RecordingMonitor(MockMonitor):
        def __init__(self, mocks):
            super().__init__(mocks)
            self.records: list[dict] = []

        def make_urn(self, parent: str, type_: str, name: str) -> str:
            # Every URN the program sees (its own, its parents', dependencies, provider
            # references) comes from here, so they all carry the engine's type chain.
            return new_urn(stack, project, parent, type_, name)

        def RegisterResource(self, request):
            response = super().RegisterResource(request)
            urn = response.urn
            inputs = _plain(rpc.deserialize_properties(request.object, keep_unknowns=True))
            if request.type == ROOT_STACK_TYPE:
                outputs, rid = {}, ""
            else:
                outputs = _plain(self.resources[urn].state)
                rid = self.resources[urn].id
            self.records.append({
                "urn": urn, "type": request.type, "name": request.name, "parent": request.parent,
                "custom": bool(request.custom), "id": rid, "inputs": inputs, "outputs": outputs,
                "provider": request.provider, "protect": bool(request.protect),
                "ignore_changes": list(request.ignoreChanges),
                "replace_on_changes": list(request.replaceOnChanges),
                "dependencies": list(request.dependencies),
                "property_dependencies": {key: list(deps.urns) for key, deps
                                          in request.propertyDependencies.items() if deps.urns},
                "retain_on_delete": bool(request.retainOnDelete),
                "delete_before_replace": bool(request.deleteBeforeReplace),
                "additional_secret_outputs": list(request.additionalSecretOutputs),
                "aliases": [self._alias_urn(a, request) for a in request.aliases],
            })
            return response

        def _alias_urn(self, alias, request) -> str:
            # What the engine resolves an alias to: a URN given as is, or the spec's fields laid
            # over the resource's own (the same URN scheme as every other URN here).
            if alias.HasField("urn"):
                return alias.urn
            spec = alias.spec
            parent = "" if spec.noParent else (spec.parentUrn or request.parent)
            return new_urn(spec.stack or stack, spec.project or project, parent,
                           spec.type or request.type, spec.name or request.name)

        def ReadResource(self, request):
            # Reads (`get` functions, StackReference) are in state too, marked external: the
            # engine records them so an audit or a reviewer sees what the stack depends on.
            response = super().ReadResource(request)
            registration = self.resources[response.urn]  # the read's state; its id is the one asked for
            self.records.append({
                "urn": response.urn, "type": request.type, "name": request.name,
                "parent": request.parent, "custom": True, "external": True, "id": request.id,
                "inputs": _plain(rpc.deserialize_properties(request.properties, keep_unknowns=True)),
                "outputs": _plain(registration.state), "provider": request.provider,
                "protect": False, "ignore_changes": [], "dependencies": list(request.dependencies),
                "property_dependencies": {}, "retain_on_delete": False,
                "delete_before_replace": False,
                "additional_secret_outputs": list(request.additionalSecretOutputs),
                "aliases": [],
            })
            return response

    return RecordingMonitor(mocks)


def run_program(stack: str, *, preview: bool = True, config: Optional[dict[str, str]] = None,
                root: Path = ROOT, strict: bool = True) -> ProgramRun:
    """Run the program for `stack` under mocks. Raises the program's own exceptions
    (ConfigError for bad config) with nothing registered when config is invalid; the exception
    carries what was registered before it as `.registered`. Then the strict checks
    (platformctl.program.strict): what AWS, Kubernetes or the engine would refuse at create time
    raises StrictError, one line per finding; `strict=False` is for tests that inspect a run the
    checks would refuse."""
    from pulumi.runtime import settings
    from pulumi.runtime.config import set_all_config
    from pulumi.runtime.mocks import set_mocks
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from platformctl.program.mocks import PlatformMocks, load_domains

    load_domains()

    project = project_name(root)
    cfg = stack_config(stack, root) if config is None else dict(config)
    run = ProgramRun(project, stack, preview, cfg)

    mocks = PlatformMocks(region=cfg.get("aws:region") or "us-east-1")
    monitor = _make_monitor(mocks, stack, project)
    set_all_config(cfg)
    settings.set_root_resource(None)
    set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)
    stack_resource = settings.get_root_resource()

    def program() -> None:
        # The project folder, as the language host runs it: runpy puts the folder on the import
        # path for the run, so `components` and `leadgen` import as they do under `pulumi preview`.
        runpy.run_path(str(root), run_name="__main__")

    try:
        _sync_await(run_pulumi_func(program))
    except BaseException as e:
        # Tests assert that a rejected config registered nothing: keep what was registered.
        e.registered = [r for r in monitor.records if r["type"] != ROOT_STACK_TYPE]  # type: ignore[attr-defined]
        raise
    run.outputs = _resolve_outputs(stack_resource)
    run.resources = [r for r in monitor.records if r["type"] != ROOT_STACK_TYPE]
    # The root stack resource is what `pulumi stack export` lists first, outputs included.
    run.resources.insert(0, {
        "urn": run.stack_urn, "type": ROOT_STACK_TYPE, "name": f"{project}-{stack}",
        "parent": "", "custom": False, "id": "", "inputs": {}, "outputs": run.outputs,
        "provider": "", "protect": False, "ignore_changes": [], "dependencies": [],
        "property_dependencies": {}, "retain_on_delete": False, "delete_before_replace": False,
        "additional_secret_outputs": []})
    if strict:
        from platformctl.program.strict import StrictError, check

        findings = check(run.resources, project, stack)
        if findings:
            raise StrictError(findings)
    return run


def run_stack(stack: str, *, preview: bool = True, config: Optional[dict] = None) -> ProgramRun:
    """Run the program as a command does: any failure becomes one ProgramError line."""
    import pulumi

    from platformctl.program.strict import StrictError

    try:
        return run_program(stack, preview=preview, config=config)
    except StackError as e:
        raise ProgramError(str(e)) from None
    except StrictError as e:  # one line per finding, as the engine prints its diagnostics
        raise ProgramError(str(e)) from None
    except pulumi.RunError as e:  # ConfigError and friends: already one line naming the key
        raise ProgramError(str(e)) from None
    except Exception as e:  # noqa: BLE001 the program's own bug: name it, no traceback
        raise ProgramError(f"the program failed: {type(e).__name__}: {e}") from None


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
