"""The one door from the program, platformctl and the tests to the leadgen-governance pack's code.

The pack is a CrossGuard pack folder (`policies/`), not an installed package: the Pulumi CLI runs
it as `python -m pulumi.policy <engine> policies`, which puts that folder on sys.path, so the
pack's modules are `governance.*` and nothing else (`pulumi policy publish` ships the folder alone,
so the pack cannot import the program). Every other process must load the same files under the
same name, or one interpreter holds two copies of each module: `isinstance` against the other
copy's classes is False and the two `ReadError`s differ. So this module appends the folder to
sys.path, once, and is the only place anywhere that does:

    from leadgen.pack import strictread   # the pack's own module, imported on first use
"""
from __future__ import annotations

import importlib
import pathlib
import sys
from types import ModuleType

PACK_DIR = pathlib.Path(__file__).resolve().parents[1] / "policies"
PACKAGE = "governance"

if str(PACK_DIR) not in sys.path:
    # Appended, not prepended: the pack folder must not shadow anything already importable.
    sys.path.append(str(PACK_DIR))


def module(name: str) -> ModuleType:
    """`governance.<name>`, checked to be the pack's file: the repository root also holds a
    `governance/` data folder, which must never stand in for the package."""
    loaded = importlib.import_module(f"{PACKAGE}.{name}")
    origin = pathlib.Path(getattr(loaded, "__file__", "") or "").resolve()
    if PACK_DIR not in origin.parents:
        raise ImportError(f"{PACKAGE}.{name} was loaded from {origin}, not from {PACK_DIR}")
    return loaded


def __getattr__(name: str) -> ModuleType:
    # Lazy, so the program loads only the pack modules it reads.
    if name.startswith("_"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        loaded = module(name)
    except ModuleNotFoundError as err:
        if err.name != f"{PACKAGE}.{name}":
            raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = loaded
    return loaded
