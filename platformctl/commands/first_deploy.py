"""`platformctl first-deploy --stack NAME`: the `--target` arguments of a fresh account's AWS-only
update, derived from the program's dependency graph (platformctl/targets.py).

One `--target=URN` per line, in creation order, for the break-glass administrator to hand to
`pulumi up` (README, "First deploy of a fresh account"):

    pulumi up -s dev $(python -m platformctl first-deploy --stack dev)

Exit 0 with the list, 1 when the program fails or the wanted resources would need the cluster.
"""
from __future__ import annotations

import argparse
import sys

from platformctl.errors import InputError, ProgramError
from platformctl.program.engine import run_stack
from platformctl.reports.escape import Escaper
from platformctl.targets import TargetError, first_deploy_targets


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--stack", required=True)


def main(args: argparse.Namespace) -> int:
    term = Escaper().terminal
    try:
        targets = first_deploy_targets(run_stack(args.stack).resources)
    except (ProgramError, InputError, TargetError) as e:
        print(f"error: {term(str(e))}", file=sys.stderr)
        return 1
    for urn in targets:
        print(f"--target={term(urn)}")
    return 0
