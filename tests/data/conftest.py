"""The program under the mock engine, once per stack for the whole data suite (each run is the
full program: ~10 s), plus a runner that keeps what was registered when the program fails."""
from __future__ import annotations

import json
from typing import Optional

import pytest

from platformctl.program import engine
from platformctl.project import stack_config

DATA_COMPONENTS = ("leadgen:database:Database", "leadgen:cache:Cache", "leadgen:backup_bucket:BackupBucket",
                   "leadgen:backup_jobs:BackupJobs")


class Run:
    """A finished program run with lookups for the data domain's resources."""

    def __init__(self, run: engine.ProgramRun):
        self.run = run
        self.resources = run.resources
        self.config = run.config

    def under(self, component: str) -> list[dict]:
        """Every resource below the components of type `component`, at any depth."""
        roots = {r["urn"] for r in self.resources if r["type"] == component}
        below, frontier = [], roots
        while frontier:
            children = [r for r in self.resources if r["parent"] in frontier]
            below += children
            frontier = {r["urn"] for r in children}
        return below

    def data(self) -> list[dict]:
        return [r for c in DATA_COMPONENTS for r in self.under(c)]

    def of_type(self, typ: str, component: Optional[str] = None) -> list[dict]:
        pool = self.under(component) if component else self.resources
        return [r for r in pool if r["type"] == typ]

    def one(self, typ: str, component: Optional[str] = None) -> dict:
        found = self.of_type(typ, component)
        assert len(found) == 1, f"expected one {typ} under {component}, found {len(found)}"
        return found[0]

    def named(self, typ: str, name: str) -> dict:
        found = [r for r in self.resources if r["type"] == typ and r["name"] == name]
        assert len(found) == 1, f"expected one {typ} named {name}, found {len(found)}"
        return found[0]

    def by_urn(self, urn: str) -> dict:
        return next(r for r in self.resources if r["urn"] == urn)


def run_program(stack: str = "production", overrides: Optional[dict] = None, preview: bool = False):
    """(Run or None, exception or None, resources registered). Overrides take full keys; None
    removes a key, non-strings are JSON-encoded as the CLI passes them."""
    config = stack_config(stack)
    for key, value in (overrides or {}).items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value if isinstance(value, str) else json.dumps(value)
    try:
        result = engine.run_program(stack, preview=preview, config=config)
    except Exception as exc:  # the caller asserts on it, and on what was registered before it
        return None, exc, getattr(exc, "registered", [])
    return Run(result), None, result.resources[1:]


def _ok(stack: str, preview: bool = False) -> Run:
    run, exc, _ = run_program(stack, preview=preview)
    if exc is not None:
        raise exc
    return run


@pytest.fixture(scope="session")
def prod() -> Run:
    return _ok("production")


@pytest.fixture(scope="session")
def dev() -> Run:
    return _ok("dev")


@pytest.fixture(scope="session")
def prod_preview() -> Run:
    return _ok("production", preview=True)
