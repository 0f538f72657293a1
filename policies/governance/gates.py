"""The change gates for protected stacks: change request, window, error budget, cost.

Each gate is a stack policy that reports at most a few one-line violations against the stack's
URN. They fail closed: anything they cannot establish (no change request, no Prometheus) blocks.

A preview (`ctx.dry_run`) and an update are judged by the same rules, but a preview is not the
moment the change happens: what the update could still meet by then - its window opening, an
approval being signed, the error budget's approval, a Prometheus reachable only from where the
update runs - is reported by the advisory `update-forecast` as what the update will meet, and the
mandatory gates hold only what no waiting can fix. At update time every finding is mandatory.
"""
from __future__ import annotations

import functools
import pathlib
from typing import Iterator

from . import approvers, changes, compliance, cost, error_budget, exemptions, first_deploy, pack_settings, sdk_cache
from .clock import NOW_ENV
from .files import file_version as _version
from .config import CHANGES_DIR, STACK_AMP_WORKSPACE, setting_name
from .model import Context, Resource


@functools.lru_cache(maxsize=8)
def _load(root: str, change_id: str, _version: tuple) -> changes.Loaded:
    return changes.load(pathlib.Path(root), CHANGES_DIR, change_id)


def load_change(ctx: Context) -> changes.Loaded:
    """The stack's change request, read once per file version (AnalyzeStack may run many times).
    Always from the repository's changes/ folder: no stack setting names another."""
    change_id = ctx.config.change_request
    if ctx.source_problem and changes.ID_PATTERN.match(change_id):
        # A published pack without usable evidence has no request to read: say why, not "file not found".
        return changes.Loaded(f"{CHANGES_DIR}/{change_id}.yaml", None, (ctx.source_problem,), change_id)
    version = (_version(changes.path_for(ctx.project_root, CHANGES_DIR, change_id))
               if changes.ID_PATTERN.match(change_id) else (0,))
    return _load(str(ctx.project_root), change_id, version)


def assess(ctx: Context) -> compliance.Assessment:
    """The update about to run, judged by the same rules as a history audit of past updates, with
    every approval's signature, and the requester's, checked against governance/approvers.yaml and
    allowed_signers."""
    loaded = load_change(ctx)
    signatures = keys = requester = None
    if loaded.change is not None and ctx.protected:
        directory = approvers.load(ctx.project_root)
        signatures = approvers.check(loaded.change, directory)
        keys = approvers.fingerprints(loaded.change, directory)
        requester = approvers.requester(loaded.change, directory)
    return compliance.assess(loaded, stack=ctx.stack, protected=ctx.protected, at=ctx.clock.now,
                             signatures=signatures, keys=keys, requester=requester)


def _held(verdict: compliance.Assessment, ctx: Context, *rules: str) -> list[str]:
    """What blocks now: everything in an update; in a preview only what the update could not fix
    by waiting for its window or its approvals (those are `update_forecast`'s)."""
    return verdict.messages(*rules, deferrable=False if ctx.dry_run else None)


def change_request_required(resources: list[Resource], ctx: Context) -> Iterator[str]:
    yield from _held(assess(ctx), ctx, compliance.REQUEST, compliance.STACKS, compliance.APPROVAL,
                     compliance.ROLLBACK)


def change_window(resources: list[Resource], ctx: Context) -> Iterator[str]:
    yield from _held(assess(ctx), ctx, compliance.WINDOW)


def update_forecast(resources: list[Resource], ctx: Context) -> Iterator[str]:
    """In a preview of a protected stack: what `pulumi up` will meet that the preview does not block
    on (a window still ahead, approvals not yet given or signed, the error budget's approval)."""
    if not (ctx.dry_run and ctx.protected):
        return
    yield from assess(ctx).forecasts()
    for finding in _budget_findings(resources, ctx, error_budget.query):
        if finding.deferrable:
            yield finding.forecast


def emergency_in_use(resources: list[Resource], ctx: Context) -> Iterator[str]:
    """An emergency change is flagged in every report it is used in, so none passes unseen."""
    if not ctx.protected:
        return
    verdict = assess(ctx)
    change = verdict.change
    if change is not None and change.first_deploy:
        yield (f"{change.file}: FIRST DEPLOY change {change.id} ({change.title}): while the stack's SLO store does "
               f"not exist the error budget is not judged ({first_deploy.NAME}, governance/first_deploy.py)")
    if change is None or not change.emergency:
        return
    cto = sorted((a for a in verdict.approvals if a.role == "cto"), key=lambda a: a.at)
    if cto:
        yield (f"{change.file}: EMERGENCY change {change.id} ({change.title}) approved by cto {cto[-1].by} at "
               f"{_fmt(cto[-1].at)}, usable until {_fmt(verdict.emergency_until)}; review it at the next CAB")
    else:
        yield f"{change.file}: EMERGENCY change {change.id} ({change.title}) has no valid cto approval"


def error_budget_gate(resources: list[Resource], ctx: Context,
                      query=error_budget.query) -> Iterator[str]:
    for finding in _budget_findings(resources, ctx, query):
        if not (finding.deferrable and ctx.dry_run):
            yield finding.message


def _budget_findings(resources: list[Resource], ctx: Context, query) -> list[compliance.Finding]:
    if not ctx.protected:
        return []
    verdict = assess(ctx)
    cr = verdict.change
    try:
        # Only protected stacks get here, and their SLO store is the CAB's setting: a line naming
        # the stack's own key would send the reader to a key the pack refuses on this stack.
        store = setting_name(ctx.config, "prometheus_url")
        if not ctx.config.prometheus_url:
            raise error_budget.BudgetUnavailable(f"Prometheus is not configured for {ctx.stack} ({store} is not "
                                                 "set, or was refused)")
        budget = _query(error_budget.store_url(resources, ctx.config.prometheus_url, store), query, cr,
                        error_budget.services_of(resources))
    except error_budget.BudgetUnavailable as err:
        if verdict.approved_emergency:
            return []  # an approved, fresh emergency must not wait for a broken monitoring stack
        # A stack's first update creates the store the budget is read from (first_deploy.py).
        first = first_deploy.judge(resources, stack=ctx.stack, prometheus_url=ctx.config.prometheus_url,
                                   dry_run=ctx.dry_run, change=cr, unavailable=str(err))
        if first is not None and first.applies:
            return []
        if first is not None and first.refused:
            return [compliance.Finding(compliance.APPROVAL, first.message)]
        line = f"{err}; failing closed (only an emergency change with a cto approval passes)"
        if first is not None:
            line += f" ({first.message})"  # why the request's first_deploy claim does not count
        # A preview runs where Prometheus may not be reachable (a pull request's runner): the update
        # asks again and blocks then.
        if not ctx.config.prometheus_url:
            return [_deferred(line, f"{err}: the update will be blocked unless {store} names the Prometheus "
                                    f"that holds {error_budget.METRIC}")]
        if ctx.config.prometheus_url == STACK_AMP_WORKSPACE:
            return [_deferred(line, f"{err}: the update will read the workspace again and is blocked unless "
                                    f"it exists and answers {error_budget.METRIC}")]
        return [_deferred(line, f"{err}: the update will query it again and is blocked unless it answers")]
    if budget.remaining is None:
        return []  # no SLO the change touches had traffic in its window: no budget was spent
    band = error_budget.band(budget.remaining)
    if band.role is None:
        return []
    where = f"{budget.describe()} is {budget.remaining:g} %"
    if band.freeze:
        if verdict.approved_emergency:
            return []
        return [compliance.Finding(compliance.APPROVAL, f"{where}: {band.action}, only an emergency change with a "
                                                        f"cto approval passes ({load_change(ctx).file})")]
    if cr is None:
        return [compliance.Finding(compliance.APPROVAL, f"{where} ({band.action}): needs a valid change request "
                                                        f"with a {band.role} approval ({load_change(ctx).file})")]
    if not error_budget.satisfies(verdict.roles, band.role):
        line = f"{where} ({band.action}): {cr.file} needs a {band.role} approval"
        return [_deferred(line, f"{line}; the update will be blocked until a {band.role} signs it "
                                f"(platformctl change approve {cr.id} --role {band.role})")]
    return []


def _deferred(message: str, forecast: str) -> compliance.Finding:
    return compliance.Finding(compliance.APPROVAL, message, True, forecast)


def _query(url: str, query, cr, touched: tuple[str, ...] = ()) -> error_budget.Budget:
    # Every service the change touches, the lowest budget among them: the request's own `service`
    # is free text and once chose a healthy service's budget while the one deployed was frozen.
    services = tuple(sorted(set(touched) | ({cr.service} if cr is not None else set())))
    return _cached_query(query, url, services)


def _cached_query(query, url: str, services: tuple) -> error_budget.Budget:
    """One Prometheus exchange per analyzer call: the gate and the forecast share it."""
    memo = sdk_cache.request_memo()
    key = ("error-budget", query, url, services)
    if memo is not None and key in memo:
        hit = memo[key]
    else:
        try:
            hit = query(url, services=services)
        except error_budget.BudgetUnavailable as err:
            hit = err
        if memo is not None:
            memo[key] = hit
    if isinstance(hit, error_budget.BudgetUnavailable):
        raise hit
    return hit


def _fmt(moment) -> str:
    return compliance._fmt(moment) if moment is not None else "-"


def cost_over_budget(resources: list[Resource], ctx: Context) -> Iterator[str]:
    budget = ctx.config.monthly_budget_usd
    if budget <= 0:
        return
    estimate = cost.estimate(_as_dicts(resources), ctx.config)
    if estimate.total_usd > budget:
        yield (f"estimated {estimate.total_usd:,.2f} USD/month exceeds {setting_name(ctx.config, 'monthly_budget_usd')} "
               f"{budget:,.2f} ({_top(estimate)})")


def cost_near_budget(resources: list[Resource], ctx: Context) -> Iterator[str]:
    budget = ctx.config.monthly_budget_usd
    if budget <= 0:
        return
    estimate = cost.estimate(_as_dicts(resources), ctx.config)
    # From the share governance/gates.yaml gives (the CAB's, published with the pack), not a figure here.
    if ctx.config.cost_warning_percent / 100 * budget <= estimate.total_usd <= budget:
        yield (f"estimated {estimate.total_usd:,.2f} USD/month is {100 * estimate.total_usd / budget:.0f} % of "
               f"{setting_name(ctx.config, 'monthly_budget_usd')} {budget:,.2f}")
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
    if not ctx.protected:
        return  # only the gates of a protected stack read the clock
    clock = ctx.clock
    if clock.ignored:
        yield f"{NOW_ENV}={clock.override} is ignored: an update reads the real clock"
    elif clock.problem:
        yield clock.problem
    elif clock.override is not None:
        yield f"{NOW_ENV}={clock.override} fixes the change-window clock; unset it outside tests"


def gate_settings_owned(resources: list[Resource], ctx: Context) -> Iterator[str]:
    """A protected stack's gate settings are governance/gates.yaml's; its own file sets none."""
    yield from ctx.config.gate_problems


def config_valid(resources: list[Resource], ctx: Context) -> Iterator[str]:
    yield from ctx.config.problems
    if pack_settings.problem():
        yield pack_settings.problem()
    yield from exemptions.load().problems
