"""The change gates for protected stacks: change request, window, error budget, cost.

Each gate is a stack policy that reports at most a few one-line violations against the stack's
URN. They fail closed: anything they cannot establish (no change request, no Prometheus) blocks.
"""
from __future__ import annotations

import datetime as dt
import functools
import pathlib
from typing import Iterator

from . import changes, cost, error_budget
from .clock import NOW_ENV
from .model import Context, Resource

HIGH_RISK = ("high", "critical")


@functools.lru_cache(maxsize=8)
def _load(root: str, changes_dir: str, change_id: str, _mtime: float) -> changes.Loaded:
    return changes.load(pathlib.Path(root), changes_dir, change_id)


def load_change(ctx: Context) -> changes.Loaded:
    """The stack's change request, read once per file version (AnalyzeStack may run many times)."""
    path = changes.path_for(ctx.project_root, ctx.config.changes_dir, ctx.config.change_request)
    try:
        mtime = path.stat().st_mtime if changes.ID_PATTERN.match(ctx.config.change_request) else 0.0
    except OSError:
        mtime = -1.0
    return _load(str(ctx.project_root), ctx.config.changes_dir, ctx.config.change_request, mtime)


def change_request_required(resources: list[Resource], ctx: Context) -> Iterator[str]:
    if not ctx.protected:
        return
    loaded = load_change(ctx)
    if loaded.change is None:
        yield from loaded.problems
        return
    cr = loaded.change
    if ctx.stack not in cr.stacks:
        yield f"{cr.file}: stacks {list(cr.stacks)} does not include {ctx.stack}"
    roles = cr.approved_roles()
    if not roles:
        yield f"{cr.file}: approvals has no approval from anyone other than the requester {cr.requested_by}"
    elif cr.risk_level in HIGH_RISK and "cab" not in roles:
        yield f"{cr.file}: risk_level {cr.risk_level} needs a cab approval"


def change_window(resources: list[Resource], ctx: Context) -> Iterator[str]:
    if not ctx.protected:
        return
    loaded = load_change(ctx)
    if not ctx.config.change_request:
        yield "leadgen:changeRequest is not set, so there is no change window"
        return
    if loaded.change is None:
        yield f"{loaded.file}: no valid change request, so no change window (see change-request-required)"
        return
    cr, now = loaded.change, ctx.clock.now
    if cr.window_start <= now < cr.window_end:
        return
    when = _fmt(now)
    span = f"{_fmt(cr.window_start)} - {_fmt(cr.window_end)}"
    if cr.change_type == "emergency":
        if "cto" in cr.approved_roles():
            return
        yield f"{cr.file}: now ({when}) is outside the window {span}; an emergency change outside its window needs a cto approval"
        return
    yield f"{cr.file}: now ({when}) is outside the window {span}"


def _fmt(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def approved_emergency(loaded: changes.Loaded) -> bool:
    cr = loaded.change
    return cr is not None and cr.change_type == "emergency" and "cto" in cr.approved_roles()


def error_budget_gate(resources: list[Resource], ctx: Context,
                      query=error_budget.query) -> Iterator[str]:
    if not ctx.protected:
        return
    loaded = load_change(ctx)
    try:
        budget = query(ctx.config.prometheus_url)
    except error_budget.BudgetUnavailable as err:
        if approved_emergency(loaded):
            return  # an approved emergency must not wait for a broken monitoring stack
        yield f"{err}; failing closed (only an emergency change with a cto approval passes)"
        return
    band = error_budget.band(budget.remaining)
    if band.role is None:
        return
    where = f"lowest {error_budget.METRIC}{{{budget.slo}}} is {budget.remaining:g} %"
    cr = loaded.change
    if cr is None:
        yield f"{where} ({band.action}): needs a valid change request with a {band.role} approval ({loaded.file})"
        return
    roles = cr.approved_roles()
    if band.freeze:
        if cr.change_type != "emergency" or "cto" not in roles:
            yield f"{where}: feature freeze, only emergency changes with a cto approval pass ({cr.file})"
        return
    if not error_budget.satisfies(roles, band.role):
        yield f"{where} ({band.action}): {cr.file} needs a {band.role} approval"


def cost_over_budget(resources: list[Resource], ctx: Context) -> Iterator[str]:
    budget = ctx.config.monthly_budget_usd
    if budget <= 0:
        return
    estimate = cost.estimate(_as_dicts(resources), ctx.config)
    if estimate.total_usd > budget:
        yield (f"estimated {estimate.total_usd:,.2f} USD/month exceeds leadgen:governance.monthlyBudgetUsd "
               f"{budget:,.2f} ({_top(estimate)})")


def cost_near_budget(resources: list[Resource], ctx: Context) -> Iterator[str]:
    budget = ctx.config.monthly_budget_usd
    if budget <= 0:
        return
    estimate = cost.estimate(_as_dicts(resources), ctx.config)
    if 0.8 * budget <= estimate.total_usd <= budget:
        yield (f"estimated {estimate.total_usd:,.2f} USD/month is {100 * estimate.total_usd / budget:.0f} % of "
               f"leadgen:governance.monthlyBudgetUsd {budget:,.2f}")
    for line in estimate.unpriced:
        yield f"not in the estimate: {line}"


def _top(estimate: cost.CostEstimate) -> str:
    by_component: dict[str, float] = {}
    for line in estimate.lines:
        by_component[line.component] = by_component.get(line.component, 0) + line.usd
    top = sorted(by_component.items(), key=lambda kv: -kv[1])[:3]
    return "largest: " + ", ".join(f"{k} {v:,.2f}" for k, v in top)


def _as_dicts(resources: list[Resource]) -> list[dict]:
    return [{"type": r.type, "urn": r.urn, "props": r.props} for r in resources]


def clock_override(resources: list[Resource], ctx: Context) -> Iterator[str]:
    clock = ctx.clock
    if clock.problem:
        yield clock.problem
    elif clock.override is not None:
        yield f"{NOW_ENV}={clock.override} fixes the change-window clock; unset it outside tests"


def config_valid(resources: list[Resource], ctx: Context) -> Iterator[str]:
    yield from ctx.config.problems
