"""SLOs and error budgets: every SLO's compliance over its window (28 days), the budget left and
its change since a week ago, from the SLO store, with the runbook's error-budget decision-matrix
row each falls in (`governance.error_budget.band`, the matrix the error-budget gate applies).

Statuses: the matrix's "monitor" is ok and "optimize" attention; "mitigate", a freeze, compliance
below the objective, or a declared SLO the store has no series for, need action. An SLO with no
traffic in its window (NaN) has spent nothing and says so.
"""
from __future__ import annotations

import datetime as dt

from platformctl.weekly.model import ACTION_NEEDED, ATTENTION, OK, Context, Finding, Section
from platformctl.weekly.promql import instant

KEY = "slos"
TITLE = "SLOs and error budgets"
COMPLIANCE = "slo_availability_percentage"
BUDGET = "slo_error_budget_remaining"
ACTION = "Grafana: SLO Tracking dashboard; the error-budget matrix in docs/runbooks/slo-violation.md"
WEEK = dt.timedelta(days=7)


def _by_slo(series) -> dict[str, float | None]:
    return {labels.get("slo_name") or labels.get("slo") or labels.get("service", "?"): value
            for labels, value in series}


def _status(band, compliance: float | None, objective) -> str:
    if compliance is not None and compliance < float(objective):
        return ACTION_NEEDED
    if band is None or band.action == "monitor":
        return OK
    return ATTENTION if band.role == "team-lead" else ACTION_NEEDED


def assess(ctx: Context) -> Section:
    from leadgen.workloads import all_slos
    from platformctl.pack import error_budget

    declared = {s.name: s for s in all_slos(ctx.config.workloads, ctx.config.observability.slos)}
    compliance = _by_slo(instant(ctx.fetch, COMPLIANCE, ctx.now))
    budget = _by_slo(instant(ctx.fetch, BUDGET, ctx.now))
    week_ago = _by_slo(instant(ctx.fetch, BUDGET, ctx.now - WEEK))
    rows, statuses, lowest = [], [], None
    for name in sorted(set(declared) | set(budget)):
        slo = declared.get(name)
        objective = slo.objective if slo else None
        if name not in budget:
            rows.append(Finding(name=name, figure=f"no {BUDGET} series in the SLO store (objective "
                                                  f"{objective} % over {slo.window})", status=ACTION_NEEDED))
            statuses.append(ACTION_NEEDED)
            continue
        left, done = budget[name], compliance.get(name)
        if left is None:
            figure, status = "no traffic in the window: no budget spent", OK
        else:
            band = error_budget.band(left)
            before = week_ago.get(name)
            change = f", {left - before:+.1f} points on the week" if before is not None else ", no value a week ago"
            done_text = f"{done:.3f} % compliant" if done is not None else "compliance unknown"
            below = done is not None and objective is not None and done < float(objective)
            target = (f" ({'below the' if below else ''}{' ' if below else ''}objective {objective} %)"
                      if objective is not None else "")
            approval = f", approval: {band.role}" if band.role else ""
            figure = f"{done_text}{target}, {left:.1f} % budget left{change}; matrix: {band.action}{approval}"
            status = _status(band, done, objective) if objective is not None else _status(band, None, 0)
            if lowest is None or left < lowest[0]:
                lowest = (left, name, band.action)
        rows.append(Finding(name=name, figure=figure, status=status))
        statuses.append(status)
    if not rows:
        return Section(key=KEY, title=TITLE, status=ACTION_NEEDED, action=ACTION,
                       figure="the stack declares no SLO and the store reports none")
    worst = max(statuses, key=(OK, ATTENTION, ACTION_NEEDED).index)
    headline = (f"{len(rows)} SLOs; lowest budget {lowest[0]:.1f} % ({lowest[1]}, matrix: {lowest[2]})"
                if lowest else f"{len(rows)} SLOs, none with traffic in its window")
    return Section(key=KEY, title=TITLE, status=worst, figure=headline, action=ACTION, rows=tuple(rows))
