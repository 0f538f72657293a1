"""`platformctl render`: write every Kubernetes object and artefact the program declares.

Every Kubernetes object becomes `manifests/<kind>-<namespace>-<name>.yaml`; Helm releases become
`helm/<release>.yaml` (chart, pinned version, values); domain extensions add their own artefacts
(rule files, Alertmanager config, validated traffic objects for both routers).
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from platformctl.errors import ProgramError
from platformctl.program.engine import run_stack
from platformctl.render import render_all


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--stack", required=True)
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (replaced)")


def main(args: argparse.Namespace) -> int:
    try:
        run = run_stack(args.stack)
    except ProgramError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    out = Path(args.out)
    # Render into a sibling folder and swap, so a failure never leaves half a render behind.
    staging = out.with_name(out.name + ".rendering")
    shutil.rmtree(staging, ignore_errors=True)
    written = render_all(run, staging)
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    kinds = {}
    for p in written:
        kinds[p.parent.name] = kinds.get(p.parent.name, 0) + 1
    print(f"rendered {len(written)} files for stack {run.stack} into {out}: "
          + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
    return 0
