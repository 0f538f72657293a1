"""`platformctl audit`: the governance pack over exported state, and change evidence.

Semantics follow `pulumi policy analyze`: resources marked for deletion are skipped, each
resource's inputs go through Remediate and Analyze as they stream out of the export, and the
outputs of all resources go to AnalyzeStack once at the end. Only the outputs are kept for that
last call (inputs are dropped after Analyze), so the export is never held in memory twice.

Every audit says what it could not judge: the resources of a type no policy covers, counted by
type. A stack whose resources are mostly of such types (another cloud's, say) is "not assessed",
never a PASS: its own exit code, so CI cannot mistake silence for compliance.

Exit codes: 0 clean or advisory only, 2 mandatory violations, 3 not assessed (no other mandatory
violation, but half the resources or more - or all, or there are none - are of types no policy
covers: reported as the mandatory finding `audit-not-assessed`, so no format says PASS),
1 unreadable input.
"""
from __future__ import annotations

import argparse
import datetime as dt
import pathlib
import sys

from platformctl import exemptions as exemptions_mod
from platformctl import reports
from platformctl.errors import InputError
from platformctl.exemptions import ExemptionError
from platformctl.history import HistoryError
from platformctl.project import ROOT
from platformctl.statefile import StateError
# The state audit lives below the commands, where the weekly report reads it too; the names stay
# importable from here for the command's callers.
from platformctl.state_audit import (COVERAGE_POLICY, ENGINES, NOT_ASSESSED, PENDING_POLICY,  # noqa: F401
                                     AnalyzerFactory, CatalogAnalyzer, Coverage, PackAnalyzer,
                                     audit_state, audit_state_coverage, catalog_analyzer, pack_analyzer)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Audit a `pulumi stack export` file and/or a `pulumi stack history --json` file."
    parser.add_argument("--state", metavar="FILE", help="a `pulumi stack export` (v3/v4) or checkpoint file")
    parser.add_argument("--history", metavar="FILE", help="`pulumi stack history --json` output")
    parser.add_argument("--since", metavar="DATE", help="first day of the audited period (YYYY-MM-DD)")
    parser.add_argument("--until", metavar="DATE", help="last day of the period (default today)")
    parser.add_argument("--repo", metavar="DIR", help="the git repository the updates ran from: each update is "
                        "judged against changes/<ID>.yaml and the approvers as they were at its commit")
    parser.add_argument("--stack", help="stack name (default: read from the export)")
    parser.add_argument("--format", choices=reports.FORMATS, default="table")
    parser.add_argument("--out", metavar="PATH", help="write the report here instead of stdout")
    parser.add_argument("--exemptions", metavar="FILE",
                        help=f"exemptions file (default {exemptions_mod.DEFAULT_PATH.relative_to(ROOT)})")
    parser.add_argument("--no-cost", action="store_true", help="leave the cost estimate out")
    parser.add_argument("--engine", choices=tuple(ENGINES), default="catalog",
                        help="catalog: the pack's policies in this process (default, fast); pack: the pack "
                             "started over gRPC as `pulumi policy analyze` starts it")


def run(args: argparse.Namespace, analyzer_factory: AnalyzerFactory = None) -> int:
    analyzer_factory = analyzer_factory or ENGINES[getattr(args, "engine", None) or "catalog"]
    today = dt.datetime.now(dt.timezone.utc).date()
    if not args.state and not args.history:
        raise InputError("audit needs --state FILE, --history FILE, or both")
    if args.history and not args.since:
        raise InputError("--history needs --since DATE (the first day of the audited period)")
    if args.since and not args.history:
        raise InputError("--since/--until apply to --history; give --history FILE")
    if getattr(args, "repo", None) and not args.history:
        raise InputError("--repo applies to --history; give --history FILE")
    exemptions = exemptions_mod.load(args.exemptions, named=True) if args.exemptions else exemptions_mod.load()
    coverage = None
    if args.state:
        report, coverage = audit_state_coverage(args.state, analyzer_factory, exemptions, today,
                                                with_cost=not args.no_cost)
    else:
        report = reports.Report(stack=args.stack or "unknown", project="leadgen", kind="audit",
                                generated_at=dt.datetime.now(dt.timezone.utc), resource_count=0,
                                exemptions=exemptions_mod.in_force(exemptions, today))
    if args.stack and args.state and report.stack not in ("unknown", args.stack):
        raise InputError(f"--stack {args.stack} does not match the export's stack {report.stack}")
    if args.history:
        from platformctl import history
        since = history.parse_day(args.since, "--since")
        until = history.parse_day(args.until, "--until") if args.until else today
        if until < since:
            raise InputError(f"--until {until} is before --since {since}")
        repo = pathlib.Path(args.repo) if getattr(args, "repo", None) else None
        judged = history.judge(args.history, args.stack or report.stack, since, until, repo=repo)
        changes, findings = [j.evidence for j in judged], history.findings_of(judged)
        report.changes = changes
        report.violations = list(report.violations) + findings
        report.period = (since, until)
        from platformctl import history_checks
        # What neither the history nor the repository can show, said in every report of a period.
        unchecked = sorted({line for j in judged for line in j.unchecked})
        report.notes = list(report.notes) + list(history_checks.NOT_RECHECKED) + [
            f"not re-checked for some updates: {line}" for line in unchecked]
        if not changes:
            report.notes = list(report.notes) + [f"no update in {since}..{until}"]
    if args.format == "csv" and args.history:
        # With a history the CSV is the period's audit trail: every update, compliant or not.
        from platformctl.reports.escape import for_report

        text = history.trail_csv(judged, report.violations, report.stack, cell=for_report(report).csv)
        if args.out is not None:
            reports.write_atomically(pathlib.Path(args.out), text)
    else:
        text = reports.write(report, args.format, args.out)
    if args.out is None:
        sys.stdout.write(text)
    else:
        from platformctl.reports.text import verdict
        print(f"{args.format} report written to {args.out}: {verdict(report)}", file=sys.stderr)
    return exit_code(report)


def exit_code(report: reports.Report) -> int:
    """2 on a mandatory finding, 3 when the only mandatory finding is that the stack was not
    assessed, else 0."""
    return report.exit_code()


def main(args: argparse.Namespace) -> int:
    try:
        return run(args)
    except (InputError, StateError, HistoryError, ExemptionError) as exc:
        print(f"platformctl audit: {exc}", file=sys.stderr)
        return 1
