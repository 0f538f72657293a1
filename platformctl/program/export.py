"""The state a stack would have after `pulumi up`, as a `pulumi stack export` (version 3) document.

`platformctl preview --stack NAME --export FILE` runs the program under the mock engine with
outputs resolved and calls `write_export`, so `platformctl audit --state FILE` can be tried
without a cloud. The document has the shape the CLI writes: the root stack
first, providers before the resources that use them, `provider` references as `<urn>::<id>`.

Secrets are never written in the clear: state is an artefact people copy around, and the mock
engine has no secrets provider to encrypt with, so a secret's ciphertext is a fixed placeholder.
"""
from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import pathlib
import uuid
from typing import Any, Iterable

from platformctl.program.engine import ROOT_STACK_TYPE, new_urn
from platformctl.statefile import SECRET_SIG_KEY, SECRET_SIG_VALUE

PLACEHOLDER_CIPHERTEXT = "v1:platformctl-mock-engine:not-encrypted-value-withheld"
_NAMESPACE = uuid.UUID("5b0b7a52-4c0f-4f43-9a57-3f3c5c1d2e10")  # stable ids across runs
_PACKAGES = {"aws": "pulumi_aws", "kubernetes": "pulumi_kubernetes", "random": "pulumi_random"}


def _secret() -> dict:
    return {SECRET_SIG_KEY: SECRET_SIG_VALUE, "ciphertext": PLACEHOLDER_CIPHERTEXT}


def seal(value: Any) -> Any:
    """Replaces every in-memory secret wrapper (`{sig: secret, "value": ...}`) with ciphertext."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG_VALUE:
            return _secret()
        return {k: seal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [seal(v) for v in value]
    return value


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(_PACKAGES.get(package, f"pulumi_{package}"))
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"


def _default_provider(project: str, stack: str, package: str) -> dict:
    version = _version(package)
    name = f"default_{version.replace('.', '_')}"
    urn = new_urn(stack, project, "", f"pulumi:providers:{package}", name)
    return {"urn": urn, "custom": True, "id": str(uuid.uuid5(_NAMESPACE, urn)),
            "type": f"pulumi:providers:{package}", "inputs": {"version": version},
            "outputs": {"version": version}}


def to_export(project: str, stack: str, resources: Iterable[dict], outputs: dict | None = None,
              now: dt.datetime | None = None) -> dict:
    """Resource dicts as the engine records them -> a version 3 `pulumi stack export` document."""
    now = now or dt.datetime.now(dt.timezone.utc)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    resources = list(resources)
    ids = {r["urn"]: (r.get("id") or str(uuid.uuid5(_NAMESPACE, r["urn"]))) for r in resources}
    entries: list[dict] = []
    defaults: dict[str, dict] = {}
    stack_urn = new_urn(stack, project, "", ROOT_STACK_TYPE, f"{project}-{stack}")
    if not any(r["type"] == "pulumi:pulumi:Stack" for r in resources):
        entries.append({"urn": stack_urn, "custom": False, "type": "pulumi:pulumi:Stack",
                        "outputs": seal(outputs or {}), "created": stamp, "modified": stamp})
    for r in resources:
        entry: dict[str, Any] = {"urn": r["urn"], "custom": bool(r.get("custom"))}
        if entry["custom"]:
            entry["id"] = ids[r["urn"]]
        entry["type"] = r["type"]
        secret_keys = set(r.get("additional_secret_outputs") or [])
        entry["inputs"] = seal(r.get("inputs") or {})
        resource_outputs = outputs if r["type"] == "pulumi:pulumi:Stack" and outputs is not None else r.get("outputs")
        entry["outputs"] = {k: (_secret() if k in secret_keys else seal(v)) for k, v in (resource_outputs or {}).items()}
        if r.get("parent"):
            entry["parent"] = r["parent"]
        if r.get("protect"):
            entry["protect"] = True
        if r.get("external"):
            entry["external"] = True
        if r.get("aliases"):
            entry["aliases"] = list(r["aliases"])
        provider = r.get("provider") or ""
        if entry["custom"] and not r["type"].startswith("pulumi:providers:"):
            if not provider:
                # Resources without an explicit provider use the package's default provider, which
                # the CLI creates and records before them.
                package = r["type"].split(":", 1)[0]
                if package not in defaults:
                    defaults[package] = _default_provider(project, stack, package)
                    entries.append(defaults[package])
                provider = f"{defaults[package]['urn']}::{defaults[package]['id']}"
            elif provider.count("::") == 3:  # a bare URN: add the provider's id as the CLI does
                provider = f"{provider}::{ids.get(provider, str(uuid.uuid5(_NAMESPACE, provider)))}"
            entry["provider"] = provider
        if r.get("dependencies"):
            entry["dependencies"] = list(r["dependencies"])
        if r.get("property_dependencies"):
            entry["propertyDependencies"] = {k: list(v) for k, v in r["property_dependencies"].items()}
        if r.get("ignore_changes"):
            entry["ignoreChanges"] = list(r["ignore_changes"])
        if r.get("replace_on_changes"):
            entry["replaceOnChanges"] = list(r["replace_on_changes"])
        if r.get("retain_on_delete"):
            entry["retainOnDelete"] = True
        entry["created"] = entry["modified"] = stamp
        entries.append(entry)
    return {"version": 3, "deployment": {
        "manifest": {"time": stamp, "magic": "", "version": f"v{importlib.metadata.version('pulumi')}"},
        "secrets_providers": {"type": "service"},
        "resources": entries,
    }}


def write_export(run: Any, path: str | pathlib.Path) -> pathlib.Path:
    """Writes a `ProgramRun` (resources with outputs, stack outputs) as an export file."""
    path = pathlib.Path(path)
    document = to_export(run.project, run.stack, run.resources, getattr(run, "outputs", None))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
