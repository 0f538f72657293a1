"""`platformctl dr check --stack NAME`: is the recovery stack ready to take over? (the quarterly drill)

Runs the recovery stack's program offline (its StackReference answered by the primary's program)
and prints one line per check: site (not the primary's region), replica (a standby replica of the
primary; refused once this site is the acting writer), replica-lag, paging (a subscribed alarm
outside the primary's region), health-check, records (DNS moves only on the decision), origins,
capacity (vCPU x max nodes, workload maximums, database and Redis classes against production's),
versions (Kubernetes and image tags), backups. It is an offline check of the declared state and
says so first. Exit 0 ready, 2 not ready, 1 bad input.
"""
from __future__ import annotations

import argparse
import sys

from platformctl.errors import InputError, ProgramError, StackError


def check(stack: str) -> int:
    from leadgen.config import load
    from platformctl import dr
    from platformctl.program.engine import run_stack
    from platformctl.program.mocks.dr import stack_outputs
    from platformctl.project import project_name, stack_config

    project = project_name()
    try:
        cfg = load(project, stack, stack_config(stack))
    except StackError as err:
        raise InputError(str(err)) from None
    except Exception as err:  # ConfigError: one line naming the key and the file
        raise InputError(str(err)) from None
    if not cfg.dr.is_recovery:
        raise InputError(f"--stack {stack} is not a recovery site (leadgen:dr.site: {cfg.dr.site} in "
                         f"Pulumi.{stack}.yaml)")
    try:
        primary_cfg = load(project, cfg.dr.primary_stack, stack_config(cfg.dr.primary_stack))
    except Exception as err:  # noqa: BLE001 the primary's own config problem, one line
        raise InputError(f"the primary stack {cfg.dr.primary_stack}: {err}") from None
    run = run_stack(stack, preview=False)
    primary = stack_outputs(cfg.dr.primary_stack)["outputs"].get("dr") or {}
    checks = dr.check_all(run, cfg, primary_cfg, primary)
    print(f"{stack}: {dr.SCOPE}")
    for c in checks:
        print(c.line())
    print(f"{stack}: {dr.summary(checks)}")
    return 0 if all(c.ok for c in checks) else 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = sub.add_parser("check", help="report, offline, whether the recovery stack is ready to take over")
    p.add_argument("--stack", required=True)


def main(args: argparse.Namespace) -> int:
    try:
        return check(args.stack)
    except (InputError, ProgramError, StackError) as exc:
        print(f"platformctl dr {args.action}: {exc}", file=sys.stderr)
        return 1
