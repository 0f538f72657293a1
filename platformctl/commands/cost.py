"""`platformctl cost --stack NAME [--against FILE]`: the pack's estimate by component and resource.

The estimate comes from the pack's own pure estimator (`policies/governance/cost.py`) over the
program's resources, so the figure shown here is the one the cost gates enforce. `--against`
prices a `pulumi stack export` the same way and shows the monthly delta in dollars and percent,
as Infracost's diff does for Terraform. Without `--against`, a recovery site (`leadgen:dr.site:
recovery`) is shown beside its primary: the baseline is the primary stack's own estimate, so the
standby's share of production's cost is on the same page.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
from typing import Optional

from platformctl import reports
from leadgen.config import ConfigError, load
from platformctl.costs import allocate_to_workloads, cost_view
from platformctl.errors import InputError, ProgramError
from platformctl.program.engine import run_stack
from platformctl.project import ROOT, config_secrets
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


def primary_total(program) -> tuple[Optional[float], str]:
    """A recovery site's primary stack and its estimate, priced the same way in a child process
    (the SDK's mock engine holds one program per process); (None, "") for any other stack."""
    from leadgen.config.dr import RECOVERY

    # Only a recovery site is read further: any other stack is priced on its own, as before.
    if program.config.get("leadgen:dr.site") != RECOVERY:
        return None, ""
    cfg = load(program.project, program.stack, program.config)
    primary = cfg.dr.primary_stack
    proc = subprocess.run([sys.executable, "-m", "platformctl", "cost", "--stack", primary, "--format", "json"],
                          cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise InputError(f"the primary stack {primary} could not be priced: {last}")
    return float(json.loads(proc.stdout)["cost"]["monthly_usd"]), f"{primary} (the primary this standby recovers)"


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
    if args.against:
        baseline, source = baseline_total(args.against, config), args.against
    else:
        baseline, source = primary_total(program)
    view = cost_view(program.resources, config, baseline=baseline, baseline_source=source)
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
