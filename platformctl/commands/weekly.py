"""`platformctl weekly --stack NAME`: the operations runbook's weekly checklist as one report.

One section per checklist item (platformctl/weekly/sections/), each with its status (ok,
attention, action needed, not assessed), the figure behind it and the command that acts on it.
Live, every source is asked through the signed, deadline-bounded client the error-budget gate uses;
with `--fixtures DIR` (or LEADGEN_WEEKLY_FIXTURES) from answers recorded from them. A source that
cannot be reached makes its section "not assessed" with the reason, never a pass.
Exit 0: every section ok or attention; 2: a section needs action; 3: none needs action but a
section could not be assessed; 1: bad input (one line, nothing written).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import sys

from platformctl.errors import InputError, StackError

DEFAULT_DAYS = 7


def _since(text: str | None, now: dt.datetime) -> dt.datetime:
    if text is None:
        return now - dt.timedelta(days=DEFAULT_DAYS)
    try:
        day = dt.date.fromisoformat(text)
        since = dt.datetime.combine(day, dt.time(), dt.timezone.utc)
    except (TypeError, ValueError):
        from platformctl.weekly.sources import parse_moment
        try:
            since = parse_moment(text, "--since")
        except InputError:
            raise InputError(f"--since {text!r} is not a date YYYY-MM-DD (or an ISO 8601 time with its zone)") from None
    if since >= now:
        raise InputError(f"--since {text} is not before the report's time {now.isoformat(timespec='seconds')}")
    return since


def _config(stack: str, root: pathlib.Path):
    from leadgen.config import load
    from platformctl.project import existing_stack_file, project_name, stack_config

    try:
        existing_stack_file(stack, root)
    except StackError as err:
        raise InputError(str(err)) from None
    try:
        return load(project_name(root), stack, stack_config(stack, root))
    except StackError as err:
        raise InputError(str(err)) from None
    except Exception as err:  # noqa: BLE001 ConfigError: one line naming the key and the stack file
        raise InputError(str(err).splitlines()[0] if str(err) else type(err).__name__) from None


def _store_url(stack: str, root: pathlib.Path) -> tuple[str, str, list[str]]:
    """The SLO store the error-budget gate reads for this stack, the key that sets it, and the
    secrets its URL holds."""
    from platformctl.pack import config as gconfig, gate_settings, pack_settings
    from platformctl.project import config_secrets, pack_config

    raw = pack_config(stack, root)
    try:
        settings = gate_settings.apply(gconfig.from_mapping(raw), stack, gate_settings.load(root), pack_settings.stacks())
    except Exception as err:  # noqa: BLE001 governance/gates.yaml that does not read: one line
        raise InputError(f"governance/gates.yaml: {err}") from None
    return (settings.prometheus_url, gconfig.setting_name(settings, "prometheus_url"),
            config_secrets({**raw, "gates:prometheus_url": settings.prometheus_url}))


def build(args: argparse.Namespace, root: pathlib.Path, env=os.environ):
    from platformctl.weekly import report as weekly_report, sources
    from platformctl.weekly.model import Context

    cfg = _config(args.stack, root)
    fixtures = sources.fixtures_dir(args.fixtures, env)
    prometheus_url, store_setting, secrets = _store_url(args.stack, root)
    if fixtures:
        fetch = sources.FixtureFetch(fixtures)
        now = fetch.recorded_at or dt.datetime.now(dt.timezone.utc)
    else:
        fetch = sources.LiveFetch(stack=args.stack, region=cfg.core.region, prometheus_url=prometheus_url,
                                  loki_url=args.loki_url or env.get(sources.LOKI_URL_ENV, ""), timeout=args.timeout,
                                  project_root=root, store_setting=store_setting)
        now = dt.datetime.now(dt.timezone.utc)
    since = _since(args.since, now)
    ctx = Context(stack=args.stack, config=cfg, now=now, since=since, fetch=fetch, project_root=root)
    return weekly_report.run(ctx, source=fetch.describe(), secrets=tuple(secrets))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from platformctl.weekly.render import FORMATS

    parser.add_argument("--stack", required=True)
    parser.add_argument("--format", choices=FORMATS, default="markdown")
    parser.add_argument("--since", metavar="DATE", help=f"start of the period (default: {DEFAULT_DAYS} days ago)")
    parser.add_argument("--fixtures", metavar="DIR", help="replay answers recorded in DIR instead of asking the sources")
    parser.add_argument("--loki-url", metavar="URL", help="Loki's query URL (default: $LEADGEN_LOKI_URL)")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="deadline of each exchange with a source")
    parser.add_argument("--out", metavar="PATH", help="write the report here instead of stdout")


def main(args: argparse.Namespace) -> int:
    from platformctl.project import ROOT
    from platformctl.weekly.render import render

    try:
        if not 0 < args.timeout <= 300:
            raise InputError(f"--timeout {args.timeout:g} must be between 0 and 300 seconds")
        report = build(args, ROOT)
        text = render(report, args.format)
        if args.out:
            out = pathlib.Path(args.out)
            partial = out.with_name(f".{out.name}.partial")
            try:
                partial.write_text(text, encoding="utf-8")
                partial.replace(out)
            except OSError as err:
                partial.unlink(missing_ok=True)
                raise InputError(f"--out {out}: cannot be written ({err.strerror or err})") from None
        else:
            sys.stdout.write(text)
    except InputError as err:
        print(f"platformctl weekly: {err}", file=sys.stderr)
        return 1
    return report.exit_code()
