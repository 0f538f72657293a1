"""Reports for preview, audit and cost: one `Report`, seven formats.

`write(report, fmt, out=None)` returns the rendered text and, when `out` is given, writes it
there atomically (parents created). `table` is coloured only when it goes to a terminal. Every
format escapes what it prints for where it lands and redacts secrets (`reports.escape`).
"""
from __future__ import annotations

import pathlib
import sys
from typing import Optional

from platformctl.files import write_atomically  # noqa: F401 (reports and commands write through it)
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
