"""The only door from platformctl to the leadgen-governance pack's code and data.

The pack is a CrossGuard pack folder (`policies/`), not an installed package: the Pulumi CLI runs
it as `python -m pulumi.policy` with that folder as the working directory, so its modules import
one another as `governance.*`. platformctl reuses them (the gates, the cost estimator, the change
request parser, the catalog) so the pack and the tool can never disagree, and reaches them only
through this module: the folder goes on `sys.path` here, once, and nowhere else in platformctl.

    from platformctl.pack import catalog, cost   # the pack's own modules, imported on first use
"""
from __future__ import annotations

import importlib
import sys
from types import ModuleType

from platformctl.project import ROOT

PACK_DIR = ROOT / "policies"
# The pack's modules platformctl may use; anything else is the pack's own business.
MODULES = ("approvers", "binding", "catalog", "changes", "clock", "compliance", "config", "cost", "exemptions",
           "gate_settings", "model", "pack_settings", "promotion", "signing")

if str(PACK_DIR) not in sys.path:
    # Appended, not prepended: the pack folder must not shadow anything already importable.
    sys.path.append(str(PACK_DIR))


def __getattr__(name: str) -> ModuleType:
    # Lazy, so `platformctl gate` loads only what it runs and `preview` does not pay for the gates.
    if name in MODULES:
        module = importlib.import_module(f"governance.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
