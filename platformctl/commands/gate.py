"""`platformctl gate --stack NAME`: the change-request, window and error-budget checks alone.

A pipeline calls it before `pulumi up`, so it must answer in well under two seconds: it runs the
pack's own gate functions in-process (no program run, no gRPC, no Pulumi SDK import) against the
stack's config and `changes/<ID>.yaml`. The gates are the catalog's `gate` group: the checks that
judge an update about to run. Exit 0 pass, 2 blocked, 1 bad input.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import sys

from platformctl import reports
from platformctl.errors import InputError
from platformctl.exemptions import Finding
from platformctl.project import ROOT, config_secrets, pack_config

CHANGE_KEY = "leadgen:changeRequest"
BUDGET_GATE = "error-budget-gate"


def evaluate(stack: str, change_request: str | None = None, project_root: pathlib.Path = ROOT,
             env=None) -> reports.Report:
    from platformctl.pack import catalog, clock, config as gconfig, gate_settings, model, pack_settings

    from platformctl.errors import StackError
    from platformctl.project import existing_stack_file
    try:
        existing_stack_file(stack, project_root)
    except StackError as exc:
        raise InputError(str(exc)) from None
    raw = pack_config(stack, project_root)
    if change_request:
        raw[CHANGE_KEY] = change_request  # what `pulumi config set leadgen:changeRequest` will record
    settings = gate_settings.apply(gconfig.from_mapping(raw), stack, gate_settings.load(project_root),
                                   pack_settings.stacks())
    project = "leadgen"
    # The real clock, as the update reads it: a pre-flight that honoured LEADGEN_GOVERNANCE_NOW
    # passed a closed window that `pulumi up` then refused (the variable is reported as ignored).
    ctx = model.Context(stack=stack, project=project, config=settings, project_root=project_root,
                        clock=clock.read(env if env is not None else os.environ, honour_override=False))
    violations = []
    notes = [f"{problem}" for problem in settings.problems]
    # With `amp:stack` the SLO store is the workspace the stack declares, known only from the stack's
    # resources, which this pre-flight does not have (it runs no program): judged here against no
    # resources it would always block. The pack judges it in `pulumi preview` and, mandatory, in
    # `pulumi up`, against the real workspace; this report says so instead of guessing.
    from_stack = settings.prometheus_url == gconfig.STACK_AMP_WORKSPACE and ctx.protected
    if from_stack:
        notes.append(f"{BUDGET_GATE}: leadgen:governance.prometheusUrl is {gconfig.STACK_AMP_WORKSPACE}, the stack's "
                     "own Managed Prometheus workspace; the policy pack checks the error budget against it in "
                     "pulumi preview and pulumi up")
    for name in catalog.names_in_group("gate"):
        if from_stack and name == BUDGET_GATE:
            continue
        spec = catalog.BY_NAME[name]
        for message, urn in catalog.check_stack(spec, [], ctx):
            violations.append(Finding(policy=name, level=spec.enforcement, urn=urn, message=message,
                                      severity=spec.severity))
    # The pack's own rule (its list, the stack's additions, a production environment under any name),
    # so this note never calls a stack unprotected that the gates below just judged.
    if not ctx.protected:
        notes.append(f"stack {stack} is not protected (not a protected stack, environment not "
                     f"{gconfig.PROTECTED_ENVIRONMENT}): gates pass")
    return reports.Report(stack=stack, project=project, kind="gate",
                          generated_at=dt.datetime.now(dt.timezone.utc), resource_count=0,
                          violations=violations, notes=notes,
                          # The SLO store's URL may come from governance/gates.yaml: redacted like the stack's.
                          secrets=config_secrets({**raw, "gates:prometheus_url": settings.prometheus_url}),
                          source=f"changes/{settings.change_request}.yaml" if settings.change_request else "")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", required=True)
    parser.add_argument("--change-request", metavar="ID", help="override leadgen:changeRequest (e.g. CR-2026-014)")
    parser.add_argument("--format", choices=reports.FORMATS, default="table")
    parser.add_argument("--out", metavar="PATH")


def main(args: argparse.Namespace) -> int:
    try:
        report = evaluate(args.stack, args.change_request)
    except InputError as exc:
        print(f"platformctl gate: {exc}", file=sys.stderr)
        return 1
    text = reports.write(report, args.format, args.out)
    if args.out is None:
        sys.stdout.write(text)
    return report.exit_code()
