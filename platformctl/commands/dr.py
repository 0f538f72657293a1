"""`platformctl dr check|step-check|drill`: the recovery site's readiness, the health a failback
update waits for, and the failover and failback rehearsed offline.

`dr check --stack NAME`: is the recovery stack ready to take over? (the quarterly drill)

Runs the recovery stack's program offline (its StackReference answered by the primary's program)
and prints one line per check: site (not the primary's region), replica (a standby replica of the
primary; refused once this site is the acting writer), replica-lag, paging (a subscribed alarm
outside the primary's region), health-check, records (DNS moves only on the decision), origins,
capacity (vCPU x max nodes, workload maximums, database and Redis classes against production's),
versions (Kubernetes and image tags), backups. It is an offline check of the declared state and
says so first. Exit 0 ready, 2 not ready, 1 bad input.

`dr step-check --stack NAME --prometheus URL`: has the site that serves the traffic been healthy
for ten minutes (platformctl/dr_health.py)? Every failback update waits for it. Exit 0 healthy,
2 not (or the store did not answer), 1 bad input.

`dr drill [--out FILE]`: the runbook's failover and failback updates, each stack's program run
offline with the step's config and diffed against the state the previous update left (as
`preview --against` does); each diff printed, then checked against what the runbook says it
changes (platformctl/dr_plan.py). Exit 0 when every step matches, 2 when one does not.
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


def step_check(stack: str, url: str, timeout: float) -> int:
    from platformctl import dr_health
    from platformctl.reports.escape import Escaper

    shown = Escaper().terminal
    problem = dr_health.bad_input(url)
    if problem:
        raise InputError(problem)
    print(f"{shown(stack)}: {dr_health.MINUTES} healthy minutes in the SLO store {shown(dr_health.shown(url))}? "
          f"(every SLO's {dr_health.SERIES} at most {dr_health.MAX_BURN:g}, recorded all along, with traffic)")
    try:
        slos = dr_health.check(url, timeout)
    except dr_health.Unhealthy as err:
        print(f"FAIL store: {shown(str(err))}")
        print(f"{shown(stack)}: NOT healthy: wait, or go back to the previous step")
        return 2
    for s in slos:
        print(shown(s.line()))
    bad = [s for s in slos if not s.ok]
    if bad:
        print(f"{shown(stack)}: NOT healthy ({len(bad)} of {len(slos)} SLOs): wait, or go back to the previous step")
        return 2
    print(f"{shown(stack)}: healthy for {dr_health.MINUTES} minutes ({len(slos)} SLOs): the next step may start")
    return 0


def drill(out: str | None) -> int:
    import json

    from platformctl import dr_plan
    from platformctl.program.diff import lines
    from platformctl.program.engine import run_program
    from platformctl.project import stack_config
    from platformctl.reports.escape import Escaper

    shown = Escaper().terminal

    def run(stack: str, overrides: dict):
        return run_program(stack, preview=False, config={**stack_config(stack), **overrides})

    print("dr drill: failover and failback rehearsed offline, each update diffed against the state the "
          "previous one left (preview --against); nothing in AWS is touched or queried")
    rehearsed = dr_plan.rehearse(run)
    record = []
    for n, r in enumerate(rehearsed, 1):
        step = r.step
        print(f"\n== step {n}/{len(rehearsed)}: {step.name} ({step.stack})"
              + (" - the primary's region is down" if step.primary_down else ""))
        for a in step.before:
            print(f"   before: {shown(a)}")
        print("   config: " + ", ".join(f"leadgen:{k}: {v!r}" for k, v in step.config.items()))
        for line in lines(r.diff, shown):
            print(f"   {line}".rstrip())
        for e in r.diff.errors:
            print(f"   error: {shown(e)}")
        want = {k: sorted(v) for k, v in step.expect.items() if v}
        if r.ok:
            print("   ok: changes exactly what the runbook says")
        else:
            print(f"   FAIL: the runbook says {want}, the update changes {r.names}")
        for a in step.after:
            print(f"   after: {shown(a)}")
        record.append({"step": step.name, "stack": step.stack, "primaryDown": step.primary_down,
                       "config": {f"leadgen:{k}": v for k, v in step.config.items()},
                       "expected": want, "changed": r.changed, "errors": r.diff.errors, "ok": r.ok,
                       "before": list(step.before), "after": list(step.after)})
    failed = [r.step.name for r in rehearsed if not r.ok]
    updates = {"failover": sum(1 for r in rehearsed if r.step.primary_down)}
    updates["failback"] = len(rehearsed) - updates["failover"]
    manual = sum(len(r.step.before) + len(r.step.after) for r in rehearsed)
    print(f"\ndr drill: {len(rehearsed)} updates ({updates['failover']} failover, {updates['failback']} failback), "
          f"{manual} manual actions and checks; "
          + ("every update changes what the runbook says" if not failed else f"MISMATCH in {', '.join(failed)}"))
    if out:
        from pathlib import Path
        Path(out).write_text(json.dumps({"steps": record, "updates": updates, "manualActions": manual,
                                         "ok": not failed}, indent=2, sort_keys=True) + "\n")
    return 0 if not failed else 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = sub.add_parser("check", help="report, offline, whether the recovery stack is ready to take over")
    p.add_argument("--stack", required=True)
    p = sub.add_parser("step-check", help="whether the serving site's SLOs were healthy for the last ten minutes")
    p.add_argument("--stack", required=True, help="the site that serves the traffic now")
    p.add_argument("--prometheus", required=True, metavar="URL",
                   help="its SLO store: the stack output sloStore.queryUrl (an Amazon Managed Prometheus "
                        "workspace, queried with SigV4) or any Prometheus")
    p.add_argument("--timeout", type=float, default=3.0, help="seconds for each query, all of it (default 3)")
    p = sub.add_parser("drill", help="rehearse failover and failback offline, each update's diff checked")
    p.add_argument("--out", metavar="FILE", help="also write the drill's record as JSON")


def main(args: argparse.Namespace) -> int:
    try:
        if args.action == "step-check":
            return step_check(args.stack, args.prometheus, args.timeout)
        if args.action == "drill":
            return drill(args.out)
        return check(args.stack)
    except (InputError, ProgramError, StackError) as exc:
        print(f"platformctl dr {args.action}: {exc}", file=sys.stderr)
        return 1
