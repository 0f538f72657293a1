"""Reports for preview, audit and cost: one `Report`, seven formats.

`write(report, fmt, out=None)` returns the rendered text and, when `out` is given, writes it
there atomically (parents created). `table` is coloured only when it goes to a terminal. Every
format escapes what it prints for where it lands and redacts secrets (`reports.escape`).
"""
from __future__ import annotations

import os
import pathlib
import sys
import tempfile
from typing import Optional

from platformctl.reports.model import (EXIT_NOT_ASSESSED, NOT_ASSESSED_POLICY,  # noqa: F401
                                       ChangeEvidence, CostItem, CostView, Report, severity_of,
                                       sorted_violations)

FORMATS = ("table", "json", "markdown", "html", "csv", "sarif", "junit")


def render(report: Report, fmt: str, color: bool = False) -> str:
    if fmt == "table":
        from platformctl.reports.text import table
        return table(report, color=color)
    if fmt == "markdown":
        from platformctl.reports.text import markdown
        return markdown(report)
    if fmt == "html":
        from platformctl.reports.html import html
        return html(report)
    from platformctl.reports import machine
    renderers = {"json": machine.to_json, "csv": machine.to_csv, "sarif": machine.sarif,
                 "junit": machine.junit}
    if fmt not in renderers:
        raise ValueError(f"unknown report format {fmt!r} (expected one of {', '.join(FORMATS)})")
    return renderers[fmt](report)


def write(report: Report, fmt: str, out: Optional[str | pathlib.Path] = None) -> str:
    color = out is None and fmt == "table" and sys.stdout.isatty()
    text = render(report, fmt, color=color)
    if out is not None:
        write_atomically(pathlib.Path(out), text)
    return text


def write_atomically(path: pathlib.Path, text: str) -> None:
    """Write to a unique temporary file beside `path`, flush it to disk, then rename it over
    `path`: a reader sees the old report or the new one, never half of one, and two runs writing
    the same report cannot interleave."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", newline="", dir=path.parent,
                                         prefix=f".{path.name}.", suffix=".tmp", delete=False)
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, 0o644)  # a report is for reading; mkstemp's 0600 would hide it from CI
        os.replace(handle.name, path)
    except BaseException:
        pathlib.Path(handle.name).unlink(missing_ok=True)
        raise
