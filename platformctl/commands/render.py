"""`platformctl render`: write every Kubernetes object and artefact the program declares.

Every Kubernetes object becomes `manifests/<kind>-<namespace>-<name>.yaml`; Helm releases become
`helm/<release>.yaml` (chart, pinned version, values); domain extensions add their own artefacts
(rule files, Alertmanager config, validated traffic objects for both routers).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from platformctl.errors import InputError, ProgramError
from platformctl.program.engine import run_stack
from platformctl.render import render_all
from platformctl.reports.escape import Escaper

# The file that says "platformctl render made this folder": only such a folder (or an empty one)
# is ever replaced. Anything else at --out is someone's data and is left alone.
MARKER = ".platformctl-render"
MARKER_TEXT = "Written by `platformctl render`; the next render replaces this whole folder.\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--stack", required=True)
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="output folder: a new or empty one, or one an earlier render made (replaced)")


def check_target(out: Path) -> bool:
    """Whether `out` holds an earlier render (True), is free (False), or may not be written (InputError)."""
    if out.is_symlink():
        raise InputError(f"--out {out}: is a symbolic link; give the folder itself")
    if not out.exists():
        ancestor = out.parent
        while not ancestor.exists() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise InputError(f"--out {out}: {ancestor} is not a folder")
        return False
    if not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a folder")
    marker = out / MARKER
    if marker.is_file() and not marker.is_symlink():
        return True
    if any(out.iterdir()):
        raise InputError(f"--out {out}: exists, is not empty and was not made by platformctl render "
                         f"(no {MARKER}); choose a new folder")
    return False


def write_render(run, out: Path) -> list[Path]:
    """Render into a fresh sibling folder, then swap it in, so a failure leaves no half render and
    only a folder an earlier render marked is ever removed."""
    previous = check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.rendering-", dir=out.parent))
    try:
        written = render_all(run, staging)
        (staging / MARKER).write_text(MARKER_TEXT)
        os.chmod(staging, 0o755)
        # Checked again right before the swap: the folder may have changed during the render.
        if check_target(out) != previous:
            raise InputError(f"--out {out}: changed while rendering; nothing was replaced")
        if previous:
            retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.previous-", dir=out.parent))
            os.rename(out, retired / out.name)
            os.rename(staging, out)
            shutil.rmtree(retired)
        elif out.exists():
            os.rmdir(out)  # empty: checked above
            os.rename(staging, out)
        else:
            os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [out / p.relative_to(staging) for p in written]


def main(args: argparse.Namespace) -> int:
    term = Escaper().terminal
    # Absolute and normalised without following links: `..` and `.` are judged as the folders they are.
    out = Path(os.path.abspath(args.out))
    try:
        check_target(out)  # before the run: refuse at once, not after a minute of work
        run = run_stack(args.stack)
        written = write_render(run, out)
    except (ProgramError, InputError) as e:
        print(f"error: {term(str(e))}", file=sys.stderr)
        return 1
    except OSError as e:  # the folder cannot be made or swapped: nothing was replaced
        print(f"error: --out {term(str(out))}: {term(e.strerror or type(e).__name__)}", file=sys.stderr)
        return 1
    kinds: dict[str, int] = {}
    for p in written:
        kinds[p.parent.name] = kinds.get(p.parent.name, 0) + 1
    print(term(f"rendered {len(written)} files for stack {run.stack} into {out}: "
               + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))))
    return 0
