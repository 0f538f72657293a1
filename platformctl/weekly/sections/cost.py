"""Cost: the stack's estimate against its budget, the week's actual spend, and what could be saved.

- **Estimate**: the stack's current state (`("pulumi", "stack-export")`: what `pulumi stack export`
  prints, the Pulumi Service's `GET .../export` document) priced by the pack's own estimator
  (platformctl/costs.py) and judged by the pack's own budget policies (`cost-budget-gate`,
  `cost-budget-warning`) with the budget the gates use (governance/gates.yaml for a protected
  stack): over the budget is "action needed", near it (as the warning policy says) "attention".
- **Actual spend**: Cost Explorer `GetCostAndUsage` (ce) over the reported week, the costs tagged
  with the stack's `environment` in its region, by service. Spend running above the budget is
  "action needed"; spend well above the estimate for the same days means the model misses
  something ("attention"). Without an answer the part is "not assessed", never a pass.
- **Candidates**: what the model itself can name from state, config and the price table: node
  groups no workload in state can schedule onto (idle standby capacity), replicated workloads
  pinned to on-demand nodes while a spot group exists, and on-demand groups whose nodes hold far
  more CPU than the workloads request. Each is "attention" with the monthly figure; the model sees
  requests, not usage, so each says what to check before acting.
"""
from __future__ import annotations

import collections
import datetime as dt
from decimal import Decimal
from typing import Any, Iterable, Mapping, Optional

from platformctl.weekly.model import ACTION_NEEDED, ATTENTION, OK, Context, Finding, Section
from platformctl.weekly.sections import _readers as r

KEY = "cost"
TITLE = "Cost"

# The pack's budget policies (policies/governance/catalog.py): their verdict is the estimate's.
OVER_BUDGET_POLICY = "cost-budget-gate"
NEAR_BUDGET_POLICY = "cost-budget-warning"
# Spend this much above the estimate for the same days is a cost the model does not see.
ABOVE_ESTIMATE = 0.25
# An on-demand group whose vCPUs exceed this multiple of the CPU its workloads request at their
# minimum is a candidate for the next smaller size of its family.
OVERSIZED_FACTOR = 2
CE_METRIC = "UnblendedCost"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
POD_OWNERS = {  # pod-template owners in state and where their pod spec sits
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
# EKS spells taint effects in upper snake case; tolerations use Kubernetes' spelling.
_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


def assess(ctx: Context) -> Section:
    from platformctl import state_audit
    from platformctl.errors import InputError
    from platformctl.project import ROOT

    root = ctx.project_root or ROOT
    try:
        config = state_audit.pack_config(ctx.stack, root)
    except InputError as exc:
        why = f"the stack's config cannot be read: {r.one_line(str(exc))}"
        return r.section(key=KEY, title=TITLE, action=_action(ctx),
                         parts=[r.unassessed(name, why) for name in ("estimate", "actual spend", "candidates")])
    budget = float(state_audit.governance_settings(ctx.stack, config, root).monthly_budget_usd)
    state = r.judge("estimate", "pulumi stack export", lambda: _state(ctx, root))
    parts = [state if isinstance(state, r.Part) else _estimate(state, budget)]
    estimate = state.total if isinstance(state, _State) else None
    parts.append(r.judge("actual spend", "Cost Explorer (ce GetCostAndUsage)",
                         lambda: _actual(ctx, budget, estimate)))
    if isinstance(state, _State):
        parts.append(_candidates(state, ctx.config))
    else:
        parts.append(r.unassessed("candidates", "needs the stack's state, which was not read (see estimate)"))
    return r.section(key=KEY, title=TITLE, parts=parts, action=_action(ctx))


def _action(ctx: Context) -> str:
    return (f"python -m platformctl cost --stack {ctx.stack}; Cost Explorer: "
            "https://console.aws.amazon.com/cost-management/home#/cost-explorer")


class _State:
    """The stack's state as judged by the pack, and its estimate."""

    def __init__(self, judged, view):
        self.judged, self.view = judged, view
        self.total = float(view.total_usd)
        self.resources = judged.resources


def _state(ctx: Context, root) -> Any:
    from platformctl.costs import cost_view

    judged = r.judged_export(ctx, root, "estimate")
    if isinstance(judged, r.Part):
        return judged
    return _State(judged, cost_view(judged.resources, judged.config))


def _estimate(state: _State, budget: float) -> r.Part:
    found = [v for v in state.judged.report.violations if v.policy in (OVER_BUDGET_POLICY, NEAR_BUDGET_POLICY)]
    over = [v for v in found if v.policy == OVER_BUDGET_POLICY]
    status = ACTION_NEEDED if over else ATTENTION if found else OK
    share = f", {100 * state.total / budget:.1f} % of the {r.money(budget)} budget" if budget > 0 else \
        " (no monthly budget is set: nothing to compare with)"
    if budget <= 0:
        status = ATTENTION
    figure = f"{r.money(state.total)}/month{share}"
    rows = [Finding(name="estimate", figure=figure, status=status)]
    rows += [Finding(name=v.policy, figure=r.one_line(v.message), status=ACTION_NEEDED if v in over else ATTENTION)
             for v in found]
    return r.Part(name="estimate", status=status, figure=figure, rows=tuple(rows))


def _actual(ctx: Context, budget: float, estimate: Optional[float]) -> r.Part:
    start = ctx.since.date()
    end = max(ctx.now.date(), start + dt.timedelta(days=1))  # Cost Explorer's End is exclusive
    request = {"TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()}, "Granularity": "DAILY",
               "Metrics": [CE_METRIC],
               "Filter": {"And": [{"Tags": {"Key": "environment", "Values": [ctx.config.core.environment]}},
                                  {"Dimensions": {"Key": "REGION", "Values": [ctx.config.core.region]}}]},
               "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}]}
    spend = read_cost_and_usage(_pages(ctx, request))
    hours = float(_hours_per_month())
    monthly = spend.total / spend.days * hours / 24 if spend.days else 0.0
    what = (f"{r.money(spend.total)} over {spend.days} day(s) from {start} ({CE_METRIC}, environment="
            f"{ctx.config.core.environment}, {ctx.config.core.region}), about {r.money(monthly)}/month")
    if spend.estimated:
        what += f"; {spend.estimated} day(s) still estimated by AWS"
    status = OK
    if budget > 0 and monthly > budget:
        status = ACTION_NEEDED
        what += f"; above the {r.money(budget)} budget"
    if estimate is not None and spend.days:
        expected = estimate * spend.days * 24 / hours
        what += f"; the estimate for those days is {r.money(expected)}"
        if spend.total > expected * (1 + ABOVE_ESTIMATE) and status == OK:
            status = ATTENTION
            what += f" ({100 * (spend.total / expected - 1):.0f} % more is spent than the model prices)"
    rows = [Finding(name="actual spend", figure=what, status=status)]
    rows += [Finding(name=f"spend: {service}", figure=r.money(amount), status=OK)
             for service, amount in spend.by_service[:5]]
    return r.Part(name="actual spend", status=status, figure=what, rows=tuple(rows))


def _hours_per_month() -> float:
    from platformctl.pack import cost

    return float(cost.load_prices()["hours_per_month"])


def _pages(ctx: Context, request: Mapping[str, Any]) -> Iterable[Any]:
    token, seen = None, 0
    while True:
        params = dict(request, **({"NextPageToken": token} if token else {}))
        page = r.fetch(ctx, "ce", "GetCostAndUsage", params)
        yield page
        token = r.field(page, "NextPageToken", str, "GetCostAndUsage", optional=True)
        seen += 1
        if not token:
            return
        if seen >= 100:
            raise r.Malformed("GetCostAndUsage: more than 100 pages for one week")


class Spend:
    def __init__(self, total: float, days: int, estimated: int, by_service: list[tuple[str, float]]):
        self.total, self.days, self.estimated, self.by_service = total, days, estimated, by_service


def read_cost_and_usage(pages: Iterable[Any], metric: str = CE_METRIC) -> Spend:
    """The total of `metric` in USD over every ResultsByTime of every page, by group key (the
    service when grouped) and the number of days; an answer in any other shape is Malformed
    naming the field."""
    total, days, estimated = Decimal(0), set(), 0
    services: dict[str, Decimal] = collections.defaultdict(Decimal)
    for p, page in enumerate(pages):
        results = r.field(page, "ResultsByTime", list, f"GetCostAndUsage page {p + 1}")
        for i, result in enumerate(results):
            where = f"ResultsByTime[{i}]"
            period = r.field(result, "TimePeriod", dict, where)
            day = r.field(period, "Start", str, f"{where}.TimePeriod")
            days.add(day)
            if r.field(result, "Estimated", bool, where, optional=True):
                estimated += 1
            groups = r.field(result, "Groups", list, where, optional=True) or []
            if groups:
                for j, group in enumerate(groups):
                    keys = r.field(group, "Keys", list, f"{where}.Groups[{j}]")
                    amount = _amount(r.field(group, "Metrics", dict, f"{where}.Groups[{j}]"), metric,
                                     f"{where}.Groups[{j}].Metrics")
                    services[" / ".join(str(k) for k in keys) or "(no key)"] += amount
                    total += amount
            else:
                metrics = r.field(result, "Total", dict, where)
                if metrics:  # an empty Total is a day with nothing to charge
                    total += _amount(metrics, metric, f"{where}.Total")
    ranked = sorted(((k, float(v)) for k, v in services.items()), key=lambda kv: (-kv[1], kv[0]))
    return Spend(float(total), len(days), estimated, ranked)


def _amount(metrics: Mapping[str, Any], metric: str, where: str) -> Decimal:
    value = r.field(metrics, metric, dict, where)
    unit = r.field(value, "Unit", str, f"{where}.{metric}")
    if unit != "USD":
        raise r.Malformed(f"{where}.{metric}.Unit is {unit!r}, expected USD")
    text = r.field(value, "Amount", str, f"{where}.{metric}")
    try:
        return Decimal(text)
    except ArithmeticError:
        raise r.Malformed(f"{where}.{metric}.Amount ({r.one_line(text, 40)!r}) is not a number") from None


# --- candidates -----------------------------------------------------------------------------------

def _candidates(state: _State, config: Any) -> r.Part:
    from platformctl.pack import cost

    prices = cost.load_prices()
    found = list(candidates(state.resources, state.view, config.workloads, prices))
    if not found:
        return r.Part(name="candidates", status=OK, figure="none the model can name",
                      rows=(Finding(name="candidates", figure="none the model can name", status=OK),))
    saving = sum(usd for _, _, usd in found)
    figure = f"{len(found)}, up to {r.money(saving)}/month"
    return r.Part(name="candidates", status=ATTENTION, figure=figure,
                  rows=tuple(Finding(name=name, figure=text, status=ATTENTION) for name, text, _ in found))


def candidates(resources: Iterable[dict], view, workloads, prices: Mapping[str, Any]):
    """(name, figure, monthly USD) for each saving the model can name."""
    from platformctl.costs import vcpus
    from leadgen import workloads as derived

    resources = list(resources)
    hours = float(prices["hours_per_month"])
    monthly = collections.defaultdict(float)
    for item in view.items:
        monthly[item.urn] += item.monthly_usd
    pods = [(res, spec) for res in resources if (spec := _pod_spec(res)) is not None]
    groups = [g for g in resources if g["type"] == NODE_GROUP]
    spot = [g for g in groups if _props(g).get("capacityType") == "SPOT"]
    for g in groups:
        p = _props(g)
        desired = int(float((p.get("scalingConfig") or {}).get("desiredSize") or 0))
        if desired > 0 and not any(_schedules(spec, p) for _, spec in pods):
            yield (f"idle capacity: {_name(g)}",
                   f"{desired} x {_first_type(p)} ({(p.get('capacityType') or 'ON_DEMAND').lower()}) at "
                   f"{r.money(monthly[g['urn']])}/month: no workload in state selects and tolerates these nodes "
                   f"(labels {_labels(p)}); add-ons may still run there, so check `kubectl get pods -A "
                   f"--field-selector spec.nodeName=<node>` before lowering its size", monthly[g["urn"]])
    by_name = {w.name: w for w in workloads}
    for g in groups:
        p = _props(g)
        if p.get("capacityType", "ON_DEMAND") != "ON_DEMAND" or p.get("taints"):
            continue
        kind = _first_type(p)
        on = [w for res, spec in pods if _schedules(spec, p) and (w := by_name.get(_object_name(res)))]
        cores = float(sum(Decimal(derived.derive("cost", w) or 0) for w in on))
        price, cpus = prices["ec2_hourly"].get(kind), vcpus(kind)
        if price is None or not cpus:
            continue
        replicated = [w for w in on if w.min_replicas >= 2]
        if spot and replicated:
            spot_kind = _first_type(_props(spot[0]))
            spot_price, spot_cpus = prices["ec2_spot_hourly"].get(spot_kind), vcpus(spot_kind)
            if spot_price is not None and spot_cpus:
                # One replica of each stays on on-demand: only the others move.
                rep_cores = float(sum(Decimal(derived.derive("cost", w) or 0) * (w.min_replicas - 1) / w.min_replicas
                                      for w in replicated))
                usd = rep_cores * (price / cpus - spot_price / spot_cpus) * hours
                if usd > 0:
                    names = ", ".join(w.name for w in replicated)
                    yield (f"on-demand where spot fits: {_name(g)}",
                           f"{names} (2 or more replicas each) are pinned to on-demand {kind}; all but one replica of "
                           f"each ({rep_cores:g} cores at their minimum) on {_name(spot[0])}'s {spot_kind} spot "
                           f"capacity would cost up to {r.money(usd)}/month less", usd)
        desired = int(float((p.get("scalingConfig") or {}).get("desiredSize") or 0))
        smaller = _smaller(kind, prices["ec2_hourly"])
        if desired and smaller and cores and desired * cpus > OVERSIZED_FACTOR * cores:
            usd = desired * (price - prices["ec2_hourly"][smaller]) * hours
            yield (f"oversized class: {_name(g)}",
                   f"{desired} x {kind} hold {desired * cpus} vCPU for {cores:g} cores the workloads request at "
                   f"their minimum; {smaller} would save {r.money(usd)}/month (check the nodes' real usage in "
                   "the Platform Overview dashboard first: add-ons and monitoring share them)", usd)


def _props(res: dict) -> dict:
    return res.get("outputs") or res.get("inputs") or {}


def _name(res: dict) -> str:
    return res["urn"].rsplit("::", 1)[-1]


def _object_name(res: dict) -> str:
    return ((_props(res).get("metadata") or {}).get("name")) or _name(res)


def _first_type(props: dict) -> str:
    types = props.get("instanceTypes") or []
    return str(types[0]) if types else "?"


def _labels(props: dict) -> str:
    labels = props.get("labels") or {}
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "none"


def _pod_spec(res: dict) -> Optional[dict]:
    path = POD_OWNERS.get(res["type"])
    if path is None:
        return None
    node: Any = _props(res)
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def _schedules(spec: dict, group: dict) -> bool:
    """Whether a pod with this spec can land on the group's nodes: its nodeSelector matches the
    group's labels and it tolerates every NoSchedule/NoExecute taint."""
    labels = group.get("labels") or {}
    selector = spec.get("nodeSelector") or {}
    if any(labels.get(k) != v for k, v in selector.items()):
        return False
    tolerations = spec.get("tolerations") or []
    for taint in group.get("taints") or []:
        effect = _EFFECTS.get(str(taint.get("effect")), str(taint.get("effect")))
        if effect == "PreferNoSchedule":
            continue
        if not any(_tolerates(t, taint.get("key"), taint.get("value"), effect) for t in tolerations):
            return False
    return True


def _tolerates(t: dict, key: Any, value: Any, effect: str) -> bool:
    if t.get("effect") and t["effect"] != effect:
        return False
    if t.get("operator") == "Exists":
        return not t.get("key") or t["key"] == key
    return t.get("key") == key and (t.get("value") or "") == (value or "")


def _smaller(kind: str, table: Mapping[str, Any]) -> Optional[str]:
    """The next smaller size of the same family (`m6i.xlarge` -> `m6i.large`), when priced."""
    family, _, size = kind.partition(".")
    order = ["medium", "large", "xlarge"] + [f"{n}xlarge" for n in (2, 4, 8, 12, 16, 24, 32, 48)]
    if size not in order or order.index(size) == 0:
        return None
    smaller = f"{family}.{order[order.index(size) - 1]}"
    return smaller if smaller in table else None
