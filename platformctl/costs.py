"""The monthly cost estimate as reports show it: the pack's own pure estimator (so the figure is
the one the cost gates enforce), grouped by the program's top-level components."""
from __future__ import annotations

import dataclasses
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


NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
WORKLOAD = "leadgen:workload:Workload"
# vCPUs by instance size (the m/c/r families the node groups use): `large` 2, `xlarge` 4, `<n>xlarge` 4n.
_SIZES = {"medium": 1, "large": 2, "xlarge": 4}


def vcpus(instance_type: str) -> int:
    size = instance_type.rsplit(".", 1)[-1]
    if size in _SIZES:
        return _SIZES[size]
    head = size.removesuffix("xlarge")
    return 4 * int(head) if head.isdigit() else 0


def allocate_to_workloads(view: reports.CostView, resources: Iterable[dict], workloads) -> reports.CostView:
    """Each workload's share of the on-demand nodes it runs on, moved from the node groups' lines
    to its own (by the CPU it requests at its minimum, leadgen/workloads.py): the total stays the
    same, and a new workload shows what it costs."""
    from leadgen import workloads as derived

    resources = list(resources)
    props = {r["urn"]: r.get("outputs") or r.get("inputs") or {} for r in resources}
    groups = [i for i in view.items if i.type == NODE_GROUP
              and (props.get(i.urn, {}).get("capacityType") or "ON_DEMAND") == "ON_DEMAND"]
    capacity = 0
    for g in groups:
        p = props.get(g.urn, {})
        types = p.get("instanceTypes") or []
        nodes = float((p.get("scalingConfig") or {}).get("desiredSize") or 0)
        capacity += nodes * (vcpus(types[0]) if types else 0)
    pool = sum(g.monthly_usd for g in groups)
    if not groups or capacity <= 0 or pool <= 0:
        return view
    urns = {r["urn"].rsplit("::", 1)[-1]: r["urn"] for r in resources if r["type"] == WORKLOAD}
    shares: list[reports.CostItem] = []
    for w in workloads:
        cores = derived.derive("cost", w)
        if cores is None:
            continue
        usd = min(float(cores) / capacity, 1.0) * pool
        shares.append(reports.CostItem(
            component=w.name, urn=urns.get(w.name, f"workload {w.name}"), type=WORKLOAD, monthly_usd=usd,
            note=f"share of on-demand nodes: {cores:g} cores requested at minimum of {capacity:g} vCPU"))
    moved = sum(s.monthly_usd for s in shares)
    # Never more than the nodes cost: requests above capacity would not schedule anyway.
    scale = min(1.0, pool / moved) if moved else 1.0
    shares = [dataclasses.replace(s, monthly_usd=s.monthly_usd * scale) for s in shares]
    left = 1 - sum(s.monthly_usd for s in shares) / pool
    items = tuple(dataclasses.replace(i, monthly_usd=i.monthly_usd * left,
                                      note=f"{i.note}; {1 - left:.0%} moved to the workloads on it")
                  if i in groups else i
                  for i in view.items) + tuple(shares)
    return dataclasses.replace(view, items=items)
