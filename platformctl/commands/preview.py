"""`platformctl preview`: the program under the mock engine, then the policy pack over gRPC.

What `pulumi preview -s STACK --policy-pack policies` does, without the CLI or a cloud account:
the resource tree grouped by component, counts by type, and the pack's verdict, printed last.
Exit codes: 0 clean or advisory only, 1 program or config error, 2 a mandatory violation.
"""
from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any, Optional

from platformctl.errors import ProgramError
from platformctl.program.engine import ProgramRun, run_stack


def short_type(typ: str) -> str:
    """`aws:ec2/vpc:Vpc` -> `aws:ec2:Vpc`, as `pulumi preview` prints types."""
    parts = typ.split(":")
    if len(parts) == 3 and "/" in parts[1]:
        return f"{parts[0]}:{parts[1].split('/')[0]}:{parts[2]}"
    return typ


def _terminal(run: ProgramRun):
    """What every name and type passes through before it reaches the terminal or a CI log: a
    program's names are the program's (or its config's) to choose, so an ANSI escape or a CR in
    one is shown, never acted on, and the config's credentials are redacted as reports do."""
    from platformctl.project import config_secrets
    from platformctl.reports.escape import Escaper

    return Escaper(config_secrets(run.config)).terminal


def tree_lines(run: ProgramRun) -> list[str]:
    shown = _terminal(run)
    children: dict[str, list[dict]] = collections.defaultdict(list)
    for r in run.resources[1:]:
        children[r["parent"]].append(r)
    width = max((len(shown(short_type(r["type"]))) for r in run.resources), default=20) + 8
    lines = [f"     {'Type':<{width}} {'Name':<40} Plan"]

    def walk(r: dict, prefix: str, last: bool, depth: int) -> None:
        branch = "" if depth == 0 else prefix + ("└─ " if last else "├─ ")
        label = branch + shown(short_type(r["type"]))
        lines.append(f" +   {label:<{width}} {shown(r['name']):<40} create")
        kids = children.get(r["urn"], [])
        for i, k in enumerate(kids):
            walk(k, "" if depth == 0 else prefix + ("   " if last else "│  "), i == len(kids) - 1, depth + 1)

    walk(run.resources[0], "", True, 0)
    return lines


def summary(run: ProgramRun) -> dict:
    counts = collections.Counter(r["type"] for r in run.resources)
    return {"create": len(run.resources),
            "components": sum(1 for r in run.resources if not r["custom"] and r["type"] != "pulumi:pulumi:Stack"),
            "byType": dict(sorted(counts.items()))}


# --- policy ------------------------------------------------------------------------------------
def evaluate_policies(run: ProgramRun, exemptions_path: Optional[str] = None,
                      dry_run: Optional[bool] = None):
    """The pack over gRPC, then exemptions, then the cost estimate. Returns a reports.Report.
    `dry_run` (default: the run's own mode) is PULUMI_DRY_RUN as the pack sees it: false judges
    the change as `pulumi up` does, with the real clock."""
    from platformctl import exemptions as exemptions_mod
    from platformctl import policy_client, reports
    from platformctl.costs import cost_view
    from platformctl.pack import PACK_DIR
    from platformctl.project import config_secrets

    violations = policy_client.analyze(run.resources, PACK_DIR, project=run.project, stack=run.stack,
                                       config=run.config, dry_run=run.preview if dry_run is None else dry_run)
    today = dt.date.today()
    exemptions = exemptions_mod.load(exemptions_path, named=True) if exemptions_path else exemptions_mod.load()
    kept, exempted, expired = exemptions_mod.apply(violations, exemptions, today)
    cost = cost_view(run.resources, run.config)
    return reports.Report(
        stack=run.stack, project=run.project, kind="preview",
        generated_at=dt.datetime.now(dt.timezone.utc), resource_count=len(run.resources),
        violations=kept + expired, exemptions=exemptions_mod.in_force(exemptions, today),
        exempted=exempted, cost=cost, source=f"Pulumi.{run.stack}.yaml",
        secrets=config_secrets(run.config))


def preview_json(run: ProgramRun, report) -> dict:
    """The machine-readable preview. Secret inputs appear as the export writes them (ciphertext
    placeholder), and every string is redacted as the reports are: credentials in URLs, the
    config's listed secrets and Pulumi ciphertext never reach stdout or a CI log."""
    from platformctl.program.export import seal
    from platformctl.project import config_secrets
    from platformctl.reports.escape import Escaper

    doc: dict[str, Any] = {
        "stack": run.stack, "project": run.project,
        "resources": [{"urn": r["urn"], "type": r["type"], "name": r["name"], "parent": r["parent"],
                       "custom": r["custom"], "inputs": seal(r["inputs"])} for r in run.resources],
        "summary": summary(run),
    }
    if report is not None:
        doc["policy"] = {
            "violations": [{"policy": v.policy, "level": v.level, "urn": v.urn, "message": v.message}
                           for v in report.violations],
            "estimatedMonthlyCostUsd": round(report.cost.total_usd, 2) if report.cost else None,
        }
    return _redacted(doc, Escaper(config_secrets(run.config)))


def _redacted(value: Any, esc) -> Any:
    if isinstance(value, str):
        return esc.redact(value)
    if isinstance(value, dict):
        return {esc.redact(k): _redacted(v, esc) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v, esc) for v in value]
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    from platformctl.reports import FORMATS

    p.description = __doc__
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--stack", required=True, help="stack name (Pulumi.<stack>.yaml)")
    p.add_argument("--json", action="store_true", help="print the machine-readable preview")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="print the policy report in this format instead of the tree")
    p.add_argument("--out", metavar="PATH", help="write the output here instead of stdout")
    p.add_argument("--export", metavar="FILE",
                   help="also write the state after `pulumi up` as a `pulumi stack export` file")
    p.add_argument("--exemptions", metavar="FILE", help="exemptions file (default policies/exemptions.yaml)")
    p.add_argument("--no-policy", action="store_true", help="skip the policy pack")
    p.add_argument("--waves", action="store_true",
                   help="print the order a first `pulumi up` could create the resources in (dependency waves) "
                        "instead of the tree; with --json, add them as `waves`")
    p.add_argument("--against", metavar="EXPORT",
                   help="print what an update would change against this `pulumi stack export` file (creates, "
                        "updates with the changed properties, replacements, deletes) instead of the tree")
    p.add_argument("--update", action="store_true",
                   help="judge the change as `pulumi up` would: outputs resolved, PULUMI_DRY_RUN=false and "
                        "the real clock for the pack")
    p.add_argument("--look", action="store_true",
                   help="a look, not a gate: exit 0 when the only findings are policy violations")


def main(args: argparse.Namespace) -> int:
    from platformctl.reports.escape import Escaper

    if args.exemptions and not args.no_policy and not os.path.lexists(args.exemptions):
        # Checked before the program runs: a mistyped path must not mean "nothing is exempted".
        print(f"error: --exemptions {Escaper().terminal(args.exemptions)}: no such file", file=sys.stderr)
        return 2

    old_state = None
    if args.against:
        from platformctl.program.diff import state_resources
        from platformctl.statefile import StateError
        try:
            old_state = state_resources(args.against)
        except (StateError, OSError) as e:
            print(f"error: --against: {Escaper().terminal(str(e))}", file=sys.stderr)
            return 1
    try:
        # A diff compares resolved inputs with the state the last update left: the mock engine
        # resolves every output as that update did, so only what the change changes differs.
        run = run_stack(args.stack, preview=not (args.update or args.against))
        export_run = (run if not run.preview else run_stack(args.stack, preview=False)) if args.export else None
    except ProgramError as e:
        for line in str(e).split("\n"):  # the strict checks: one finding a line
            print(f"error: {Escaper().terminal(line)}", file=sys.stderr)
        return 1

    if export_run is not None:
        from platformctl.program.export import write_export
        write_export(export_run, Path(args.export))

    changes = None
    if old_state is not None:
        from platformctl.program.diff import diff, run_resources
        changes = diff(old_state, run_resources(run))
        if changes.errors:
            for line in changes.errors:
                print(f"error: {Escaper().terminal(line)}", file=sys.stderr)
            return 1

    report = None
    if not args.no_policy:
        from platformctl.policy_client import PolicyPackError
        try:
            report = evaluate_policies(run, args.exemptions, dry_run=not args.update)
        except PolicyPackError as e:
            print(f"error: the policy pack failed: {e}", file=sys.stderr)
            return 1

    if args.json:
        doc = preview_json(run, report)
        if args.waves:
            doc["waves"] = [[r["urn"] for r in w.resources] for w in _waves(run)]
        if changes is not None:
            doc["diff"] = _redacted(diff_json(changes), Escaper())
        text = json.dumps(doc, indent=2, sort_keys=False) + "\n"
    elif args.format and report is not None:
        from platformctl import reports
        text = reports.render(report, args.format, color=args.out is None and sys.stdout.isatty())
        if changes is not None and args.format == "markdown":
            text = text.rstrip("\n") + "\n\n" + _markdown_diff(changes)
    else:
        text = _table(run, report, waves=args.waves, changes=changes)
    _emit(text, args.out)

    code = report.exit_code() if report is not None else 0
    return 0 if args.look else code


def diff_json(changes) -> dict:
    return {"steps": [{"op": s.op, "urn": s.urn, "type": s.type, "protected": s.protected,
                       "replaceKeys": s.replace_keys,
                       "changes": [{"path": c.path, "old": c.old, "new": c.new} for c in s.changes]}
                      for s in changes.steps],
            "outputs": [{"path": c.path, "old": c.old, "new": c.new} for c in changes.outputs]}


def _markdown_diff(changes) -> str:
    """The diff for the pull-request comment: a fenced block, so nothing in it renders as Markdown."""
    from platformctl.program.diff import lines
    from platformctl.reports.escape import Escaper

    body = "\n".join(lines(changes, Escaper().terminal)).replace("```", "`\u200b``")
    return f"### What this change changes\n\n```diff\n{body}\n```\n"


def _waves(run: ProgramRun):
    from platformctl.program.waves import waves
    return waves(run.resources, run.project)


def wave_lines(run: ProgramRun, names_shown: int = 4) -> list[str]:
    """The dependency waves, one line per type in each: "the CNI, then the nodes, then ..."."""
    shown = _terminal(run)
    found = _waves(run)
    prefix = f"{run.project}-{run.stack}-"
    total = sum(len(w.resources) for w in found)
    out = [f"First-deploy order: {total} resources in {len(found)} waves. Each starts once its dependencies, "
           "its parent and its provider exist.", f'Names without "{shown(prefix)}".']
    width = max((len(shown(short_type(r["type"]))) for w in found for r in w.resources), default=20)
    for w in found:
        out += ["", f"Wave {w.number} ({len(w.resources)})"]
        for typ, names in w.by_type():
            kept = [shown(n[len(prefix):] if n.startswith(prefix) else n) for n in names[:names_shown]]
            more = f" and {len(names) - names_shown} more" if len(names) > names_shown else ""
            out.append(f"    {len(names):>3}  {shown(short_type(typ)):<{width}}  {', '.join(kept)}{more}")
    return out


def _table(run: ProgramRun, report, waves: bool = False, changes=None) -> str:
    shown = _terminal(run)
    out = [f"Previewing update ({shown(run.stack)}) offline under the Pulumi mock engine:", ""]
    s = summary(run)
    if changes is not None:
        from platformctl.program.diff import lines
        out += lines(changes, shown)
        out += ["", "Counts by type (the whole stack):"]
    else:
        out += wave_lines(run) if waves else tree_lines(run)
        out += ["", "Resources:", f"    + {s['create']} to create", "", "Counts by type:"]
    for typ, n in sorted(s["byType"].items(), key=lambda kv: (-kv[1], kv[0])):
        out.append(f"    {n:>4}  {shown(short_type(typ))}")
    if report is not None:
        from platformctl import reports
        out += ["", reports.render(report, "table", color=sys.stdout.isatty()).rstrip()]
    return "\n".join(out) + "\n"


def _emit(text: str, out: Optional[str]) -> None:
    if out:
        from platformctl.reports import write_atomically

        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, text)  # a reader (the PR-comment job) never sees half a report
    else:
        sys.stdout.write(text)
