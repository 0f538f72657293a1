"""`platformctl`: preview, render, audit, cost and gate the leadgen platform offline.

Each command is a module in `platformctl/commands/` with `add_arguments(parser)` and
`main(args) -> int`; commands never import one another, and what several need lives below them
(`program/`, `render/`, `reports/`, `pack`, ...). COMMANDS maps each name to its module, imported
only when that command runs, so `platformctl --help` and `platformctl gate` load nothing else.
Errors a user can fix are one line on stderr, never a traceback (PLATFORMCTL_DEBUG=1 shows one).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import NamedTuple, Optional, Sequence


class CommandInfo(NamedTuple):
    module: str
    summary: str


COMMANDS: dict[str, CommandInfo] = {
    "preview": CommandInfo("platformctl.commands.preview", "run the program offline and the policy pack over it"),
    "render": CommandInfo("platformctl.commands.render",
                          "write every Kubernetes object and artefact the program declares"),
    "audit": CommandInfo("platformctl.commands.audit",
                         "run the governance pack over exported state and check change evidence"),
    "gate": CommandInfo("platformctl.commands.gate",
                        "change-request, window and error-budget checks before `pulumi up`"),
    "cost": CommandInfo("platformctl.commands.cost", "monthly cost estimate by component and resource"),
    "change": CommandInfo("platformctl.commands.change", "new, digest, approve and verify signed change requests"),
    "dr": CommandInfo("platformctl.commands.dr", "recovery readiness, the failback's healthy minutes, the drill"),
    "first-deploy": CommandInfo("platformctl.commands.first_deploy",
                                "the --target list of a fresh account's AWS-only update, from the dependency graph"),
    "weekly": CommandInfo("platformctl.commands.weekly",
                          "the runbook's weekly checklist as one report: backups, certificates, versions, SLOs, ..."),
}


def build_parser(command: Optional[str] = None) -> argparse.ArgumentParser:
    """Every command is listed; only `command`'s module is imported and its arguments added."""
    parser = argparse.ArgumentParser(
        prog="platformctl", description="Preview, render, audit and gate the leadgen platform offline.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, info in COMMANDS.items():
        command_parser = sub.add_parser(name, help=info.summary, description=info.summary)
        if name == command:
            module = importlib.import_module(info.module)
            module.add_arguments(command_parser)
            command_parser.set_defaults(func=module.main)
    return parser


def _command_in(argv: Sequence[str]) -> Optional[str]:
    # The first word that is not an option names the command (no top-level option takes a value).
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: Optional[list[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(_command_in(argv))
    args = parser.parse_args(argv)
    from platformctl.errors import TerminalStream

    # Error lines quote URNs, stack names, keys and paths that may hold control characters.
    stderr, sys.stderr = sys.stderr, TerminalStream(sys.stderr)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # the last line of defence: one line, no traceback
        if os.environ.get("PLATFORMCTL_DEBUG"):
            raise
        print(f"platformctl {args.command}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    finally:
        sys.stderr = stderr
