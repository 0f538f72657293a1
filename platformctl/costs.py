"""The monthly cost estimate as reports show it: the pack's own pure estimator (so the figure is
the one the cost gates enforce), grouped by the program's top-level components."""
from __future__ import annotations

from typing import Iterable, Optional

from platformctl import reports


def _component_of(urn: str, parents: dict[str, Optional[str]], types: dict[str, str]) -> str:
    """The top-level component (a direct child of the stack) a resource belongs to."""
    current, seen = urn, 0
    while seen < 64:
        parent = parents.get(current)
        if not parent or types.get(parent) == "pulumi:pulumi:Stack":
            break
        current, seen = parent, seen + 1
    if types.get(current, "").startswith("pulumi:"):
        return "(stack)"
    return current.rsplit("::", 1)[-1]


def cost_view(resources: Iterable[dict], config: dict, baseline: Optional[float] = None,
              baseline_source: str = "") -> Optional[reports.CostView]:
    from platformctl.pack import cost

    resources = list(resources)
    parents = {r["urn"]: r.get("parent") for r in resources}
    types = {r["urn"]: r["type"] for r in resources}
    # The estimator reads `props`; state holds the settled values in outputs.
    estimate = cost.estimate([{"type": r["type"], "urn": r["urn"],
                               "props": r.get("outputs") or r.get("inputs") or {}} for r in resources],
                             config)
    items = tuple(reports.CostItem(component=_component_of(line.urn, parents, types), urn=line.urn,
                                   type=line.type, monthly_usd=float(line.usd),
                                   note=f"{line.component}: {line.basis}") for line in estimate.lines)
    return reports.CostView(total_usd=float(estimate.total_usd), items=items, baseline_usd=baseline,
                            baseline_source=baseline_source)
