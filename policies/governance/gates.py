"""The change gates for protected stacks: change request, window, error budget, cost.

Each gate is a stack policy that reports at most a few one-line violations against the stack's
URN. They fail closed: anything they cannot establish (no change request, no Prometheus) blocks.
"""
from __future__ import annotations

import functools
import os
import pathlib
from typing import Iterator

from . import changes, compliance, cost, error_budget, pack_settings
from .clock import NOW_ENV
from .config import CHANGES_DIR
from .model import Context, Resource


@functools.lru_cache(maxsize=8)
def _load(root: str, change_id: str, _version: tuple) -> changes.Loaded:
    return changes.load(pathlib.Path(root), CHANGES_DIR, change_id)


def _version(path: pathlib.Path) -> tuple:
    # lstat: a symlink's own identity, so swapping the link's target is a new version too.
    try:
        info = os.lstat(path)
    except OSError:
        return (-1,)
    return (info.st_ino, info.st_mtime_ns, info.st_size, info.st_mode)


def load_change(ctx: Context) -> changes.Loaded:
    """The stack's change request, read once per file version (AnalyzeStack may run many times).
    Always from the repository's changes/ folder: no stack setting names another."""
    change_id = ctx.config.change_request
    version = (_version(changes.path_for(ctx.project_root, CHANGES_DIR, change_id))
               if changes.ID_PATTERN.match(change_id) else (0,))
    return _load(str(ctx.project_root), change_id, version)


def assess(ctx: Context) -> compliance.Assessment:
    """The update about to run, judged by the same rules as a history audit of past updates."""
    return compliance.assess(load_change(ctx), stack=ctx.stack, protected=ctx.protected, at=ctx.clock.now)


def change_request_required(resources: list[Resource], ctx: Context) -> Iterator[str]:
    yield from assess(ctx).messages(compliance.REQUEST, compliance.STACKS, compliance.APPROVAL,
                                    compliance.ROLLBACK)


def change_window(resources: list[Resource], ctx: Context) -> Iterator[str]:
    yield from assess(ctx).messages(compliance.WINDOW)


def error_budget_gate(resources: list[Resource], ctx: Context,
                      query=error_budget.query) -> Iterator[str]:
    if not ctx.protected:
        return
    verdict = assess(ctx)
    try:
        budget = query(ctx.config.prometheus_url)
    except error_budget.BudgetUnavailable as err:
        if verdict.approved_emergency:
            return  # an approved emergency must not wait for a broken monitoring stack
        yield f"{err}; failing closed (only an emergency change with a cto approval passes)"
        return
    band = error_budget.band(budget.remaining)
    if band.role is None:
        return
    where = f"lowest {error_budget.METRIC}{{{budget.slo}}} is {budget.remaining:g} %"
    cr = verdict.change
    if cr is None:
        yield f"{where} ({band.action}): needs a valid change request with a {band.role} approval ({load_change(ctx).file})"
        return
    if band.freeze:
        if not verdict.approved_emergency:
            yield f"{where}: feature freeze, only emergency changes with a cto approval pass ({cr.file})"
        return
    if not error_budget.satisfies(verdict.roles, band.role):
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
    if clock.ignored:
        yield f"{NOW_ENV}={clock.override} is ignored: an update reads the real clock"
    elif clock.problem:
        yield clock.problem
    elif clock.override is not None:
        yield f"{NOW_ENV}={clock.override} fixes the change-window clock; unset it outside tests"


def config_valid(resources: list[Resource], ctx: Context) -> Iterator[str]:
    yield from ctx.config.problems
    if pack_settings.problem():
        yield pack_settings.problem()
