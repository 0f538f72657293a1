"""Reports for preview, audit and cost: one `Report`, seven formats (issue 7, item 3).

`write(report, fmt, out=None)` returns the rendered text and, when `out` is given, writes it
there (parents created). `table` is coloured only when it goes to a terminal.
"""
from __future__ import annotations

import pathlib
import sys
from typing import Optional

from platformctl.reports.model import (ChangeEvidence, CostItem, CostView, Report,  # noqa: F401
                                       severity_of, sorted_violations)

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
        path = pathlib.Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a failed run never leaves a half-written report behind.
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8", newline="")
        tmp.replace(path)
    return text
