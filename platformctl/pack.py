"""The only door from platformctl to the leadgen-governance pack's code and data.

The pack is a CrossGuard pack folder (`policies/`), not an installed package: the Pulumi CLI runs
it as `python -m pulumi.policy` with that folder as the working directory, so its modules import
one another as `governance.*`. platformctl reuses them (the gates, the cost estimator, the change
request parser, the catalog, the strict readers) so the pack and the tool can never disagree, and
reaches them only through this module, which loads them through `leadgen.pack` (the one place the
folder goes on sys.path, so every process names each pack module once).

    from platformctl.pack import catalog, cost   # the pack's own modules, imported on first use
"""
from __future__ import annotations

from types import ModuleType

from leadgen import pack
from leadgen.pack import PACK_DIR

__all__ = ["PACK_DIR"]
# The pack's modules platformctl may use; anything else is the pack's own business.
MODULES = ("approvers", "binding", "capped", "catalog", "changes", "clock", "compliance", "config", "cost",
           "error_budget", "escape", "exemptions", "gate_settings", "key_history", "model", "pack_settings",
           "promotion", "signed_http", "signing", "source", "strictread")


def __getattr__(name: str) -> ModuleType:
    # Lazy, so `platformctl gate` loads only what it runs and `preview` does not pay for the gates.
    if name in MODULES:
        module = pack.module(name)
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
