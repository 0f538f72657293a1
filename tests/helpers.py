"""Shared test helpers: run the real program under mocks, render it, validate what it emits.

The program runs in a fresh subprocess-free state each call (`set_root_resource(None)` inside
`run_program`), with the config the stack file gives plus `overrides`.
"""
from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import time
import urllib.request
from functools import lru_cache
from pathlib import Path
from typing import Optional

import jsonschema
import yaml

from platformctl.program.engine import ProgramRun, run_program as _run
from platformctl.project import ROOT, stack_config
from platformctl.render import manifest, render_manifests, is_k8s_object

CRDS = ROOT.parent / "shared" / "crds"
K8S_VERSION = "1.35.0"


def run_program(stack: str = "production", overrides: Optional[dict] = None,
                preview: bool = True) -> ProgramRun:
    config = stack_config(stack)
    for key, value in (overrides or {}).items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value if isinstance(value, str) else json.dumps(value)
    return _run(stack, preview=preview, config=config)


def manifests(run: ProgramRun) -> list[dict]:
    return [manifest(r) for r in run.resources if is_k8s_object(r)]


def find_manifest(run: ProgramRun, kind: str, name: str, namespace: Optional[str] = None) -> dict:
    found = [m for m in manifests(run) if m["kind"] == kind and m["metadata"]["name"] == name
             and (namespace is None or m["metadata"].get("namespace") == namespace)]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


# --- custom resources against the published CRD schemas ----------------------------------------
class _CrdLoader(yaml.SafeLoader):
    """Some upstream CRDs use `=` as a plain key, which PyYAML reads as YAML's obsolete value tag."""


_CrdLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


@lru_cache(maxsize=None)
def _crd_schemas() -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> openAPIV3Schema, from ../shared/crds."""
    schemas = {}
    for path in CRDS.glob("*.yaml"):
        for doc in yaml.load_all(path.read_text(), Loader=_CrdLoader):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = doc["spec"]["group"], doc["spec"]["names"]["kind"]
            for v in doc["spec"]["versions"]:
                schemas[(f"{group}/{v['name']}", kind)] = v["schema"]["openAPIV3Schema"]
    return schemas


def has_crd(api_version: str, kind: str) -> bool:
    return (api_version, kind) in _crd_schemas()


def validate_custom_resource(m: dict) -> None:
    """Raise jsonschema.ValidationError when `m` does not fit its CRD's schema."""
    schema = _crd_schemas()[(m["apiVersion"], m["kind"])]
    # Upstream schemas use Go regex syntax (`^(?i)...`) that Python's metaschema check rejects,
    # so validate the instance without re-checking the schema itself.
    error = jsonschema.exceptions.best_match(jsonschema.Draft7Validator(schema).iter_errors(m))
    if error is not None:
        raise error


# --- a real Prometheus holding the SLO series the error-budget gate reads ----------------------
PROMETHEUS, PROMTOOL = shutil.which("prometheus"), shutil.which("promtool")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_prometheus(workdir, lowest: float) -> tuple[subprocess.Popen, str]:
    """A Prometheus whose TSDB was backfilled (promtool) with three SLOs, the lowest at `lowest`."""
    now = int(time.time())
    lines = ["# HELP slo_error_budget_remaining Remaining error budget, percent.",
             "# TYPE slo_error_budget_remaining gauge"]
    for slo, value in (("api_availability", lowest), ("api_latency", min(100.0, lowest + 20)), ("lead_delivery", 99.0)):
        for ago in (90, 30):
            lines.append(f'slo_error_budget_remaining{{slo_name="{slo}",service="api-service"}} {value} {now - ago}')
    (workdir / "series.om").write_text("\n".join(lines) + "\n# EOF\n")
    data = workdir / "data"
    subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", str(workdir / "series.om"), str(data)],
                   check=True, capture_output=True)
    (workdir / "prometheus.yml").write_text("global: {}\n")
    port = free_port()
    proc = subprocess.Popen([PROMETHEUS, f"--config.file={workdir / 'prometheus.yml'}", f"--storage.tsdb.path={data}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}"


def wait_ready(url: str, proc) -> None:
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        assert proc.poll() is None, "prometheus exited"
        time.sleep(0.1)
    raise AssertionError(f"prometheus at {url} never became ready")


@contextlib.contextmanager
def running_prometheus(workdir, lowest: float):
    """`start_prometheus`, ready, stopped on exit: the URL of a Prometheus whose lowest SLO is `lowest`."""
    assert PROMETHEUS and PROMTOOL, "install Debian's prometheus (scripts/install-system-deps.sh)"
    proc, url = start_prometheus(workdir, lowest)
    try:
        wait_ready(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
