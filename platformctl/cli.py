"""`platformctl`: preview, render, audit, cost and gate, one sub-command module each.

Every command returns an exit code; errors a user can fix are one line on stderr, never a
traceback (set PLATFORMCTL_DEBUG=1 to see one).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

# Each module exposes register(subparsers), which adds its sub-command and sets `func`.
COMMANDS = ("preview", "render", "audit", "gate", "cost")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="platformctl", description="Preview, render, audit and gate the leadgen platform offline.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"platformctl.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
