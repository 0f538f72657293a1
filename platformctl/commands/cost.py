"""`platformctl cost --stack NAME [--against FILE]`: the pack's estimate by component and resource.

The estimate comes from the pack's own pure estimator (`policies/governance/cost.py`) over the
program's resources, so the figure shown here is the one the cost gates enforce. `--against`
prices a `pulumi stack export` the same way and shows the monthly delta in dollars and percent,
as Infracost's diff does for Terraform.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys

from platformctl import reports
from leadgen.config import ConfigError, load
from platformctl.costs import allocate_to_workloads, cost_view
from platformctl.errors import InputError, ProgramError
from platformctl.program.engine import run_stack
from platformctl.project import config_secrets
from platformctl.statefile import StateError, StateFile

FORMATS = ("table", "json", "markdown")


def baseline_total(path: str, config: dict) -> float:
    """The estimate for an exported state, streamed (inputs dropped, outputs priced)."""
    state = StateFile(path)
    slim = []
    for resource in state.resources():
        resource.pop("inputs", None)
        slim.append(resource)
    return cost_view(slim, config).total_usd


def _workloads(project: str, stack: str, config: dict):
    """The stack's workloads; none for a program whose config is not the platform's (the program
    ran, so the platform's own config has already been validated)."""
    try:
        return load(project, stack, config).workloads
    except ConfigError:
        return ()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", required=True)
    parser.add_argument("--against", metavar="FILE", help="a `pulumi stack export` to compare with")
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.add_argument("--out", metavar="PATH")


def run(args: argparse.Namespace) -> int:
    try:
        # Outputs resolved, as after `pulumi up`: a preview's unknowns would leave things unpriced.
        program = run_stack(args.stack, preview=False)
    except ProgramError as exc:
        raise InputError(str(exc)) from None
    config = dict(program.config)
    baseline = baseline_total(args.against, config) if args.against else None
    view = cost_view(program.resources, config, baseline=baseline, baseline_source=args.against or "")
    view = allocate_to_workloads(view, program.resources, _workloads(program.project, args.stack, config))
    report = reports.Report(stack=args.stack, project=program.project, kind="cost",
                            generated_at=dt.datetime.now(dt.timezone.utc),
                            resource_count=len(program.resources), cost=view,
                            secrets=config_secrets(config))
    text = reports.write(report, args.format, args.out)
    if args.out is None:
        sys.stdout.write(text)
    return 0


def main(args: argparse.Namespace) -> int:
    try:
        return run(args)
    except (InputError, StateError) as exc:
        print(f"platformctl cost: {exc}", file=sys.stderr)
        return 1
