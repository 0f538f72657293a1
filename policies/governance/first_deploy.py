"""The first update of a protected stack: the one named exception to the error-budget gate.

The gate reads the budget from the SLO store the stack itself declares (`amp:stack`), and fails
closed while that store cannot answer. On a stack's first update the store does not exist: only
this update creates it, so without an exception the first production deploy is blocked by its own
gate. The exception, `first-deploy-no-slo-store`, applies only when all hold:

- the change request says so (`first_deploy: true`), so it is signed and reviewed like the rest
  of the request, and `emergency-in-use` flags it in every report;
- the budget lives in the stack's own store (`leadgen:governance.prometheusUrl: amp:stack`), the
  stack declares exactly one workspace, and the gate could not read a budget from it;
- in the preview, the stack has no prior state: no AWS resource of it exists yet (every one's `arn`
  is unknown until the update creates it). A request claiming a first deploy of a stack that
  already exists is a mandatory violation of the preview. A policy cannot see prior state during
  the update itself (pulumi/pulumi-policy#154), but the update applies exactly the plan of that
  preview (`pulumi up --plan`), so the preview's verdict binds it.

Every other gate (request, window, approvals, cost) judges the first update as any other, and the
exception is written to the pack's log each time it is used.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Optional, Sequence

from . import signed_http
from .config import STACK_AMP_WORKSPACE
from .error_budget import AMP_WORKSPACE
from .values import is_unknown

NAME = "first-deploy-no-slo-store"


@dataclass(frozen=True)
class Judgement:
    applies: bool
    message: str  # the log line when it applies; why not when it does not
    refused: bool = False  # the claim itself is wrong (the stack exists): a violation of its own


def existing(resources: Sequence) -> list:
    """AWS resources the preview shows as already there (a known `arn`)."""
    return [r for r in resources if r.type.startswith("aws:") and isinstance(r.props, dict)
            and isinstance(r.props.get("arn"), str) and r.props["arn"] and not is_unknown(r.props["arn"])]


def judge(resources: Sequence, *, stack: str, prometheus_url: str, dry_run: bool, change,
          unavailable: str) -> Optional[Judgement]:
    """None when no request claims a first deploy; else whether the exception applies to a budget
    the gate could not read (`unavailable`, the gate's reason)."""
    if change is None or not getattr(change, "first_deploy", False):
        return None
    where = f"{change.file}: first_deploy is set"
    if prometheus_url != STACK_AMP_WORKSPACE:
        # Shown as every reader shows a store URL: a query may carry a token.
        store = signed_http.shown(prometheus_url) if prometheus_url else "no Prometheus"
        return Judgement(False, f"{where}, but the budget is read from {store}, not the "
                                f"stack's own SLO store ({STACK_AMP_WORKSPACE}); the exception does not apply")
    workspaces = [r for r in resources if r.type == AMP_WORKSPACE]
    if len(workspaces) != 1:
        return Judgement(False, f"{where}, but the stack declares {len(workspaces)} {AMP_WORKSPACE}; "
                                f"the exception needs exactly one")
    if dry_run:
        there = existing(resources)
        if there:
            names = ", ".join(sorted(r.name for r in there)[:3])
            return Judgement(False, f"{where}, but stack {stack} already has state: {len(there)} AWS resources "
                                    f"exist ({names}...); a first deploy has none", refused=True)
    line = (f"{NAME}: {change.id} is the first deploy of {stack}; its SLO store "
            f"'{workspaces[0].name}' is created by this update ({unavailable}); the error budget is not "
            f"judged for it")
    print(line, file=sys.stderr)
    return Judgement(True, line)
