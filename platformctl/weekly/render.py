"""The weekly report as Markdown (safe to post in a GitHub issue or a run summary), HTML (one
self-contained page, no script, a CSP that fetches nothing) and JSON.

Every string that reached the report from outside (a label, an image name, a log line, a reason)
passes through the report's `Escaper`: credentials in URLs and the stack's secrets are redacted,
control characters shown, and Markdown, raw HTML and `@mentions` neutralised, so an error-log
pattern or a secret's name cannot inject markup into the issue the team reads.
"""
from __future__ import annotations

import base64
import hashlib
import json

from platformctl.reports.escape import Escaper, marker_id
from platformctl.weekly.model import ACTION_NEEDED, ATTENTION, NOT_ASSESSED, OK, Section
from platformctl.weekly.report import WeeklyReport

FORMATS = ("markdown", "html", "json")
# A hidden line a workflow finds the report by (the issue it updates), one per stack.
MARKER = "<!-- leadgen-weekly:{} -->"
_BADGE = {OK: "🟢 ok", ATTENTION: "🟡 attention", ACTION_NEEDED: "🔴 action needed", NOT_ASSESSED: "⚪ not assessed"}


def render(report: WeeklyReport, fmt: str) -> str:
    if fmt == "markdown":
        return markdown(report)
    if fmt == "html":
        return html(report)
    if fmt == "json":
        return json_text(report)
    raise ValueError(f"unknown weekly report format {fmt!r}; one of {', '.join(FORMATS)}")


def _esc(report: WeeklyReport) -> Escaper:
    return Escaper(report.secrets)


def _period(report: WeeklyReport) -> str:
    return (f"{report.since.strftime('%Y-%m-%d %H:%M')} - {report.generated_at.strftime('%Y-%m-%d %H:%M')} UTC")


def _summary(report: WeeklyReport) -> str:
    counts = report.counts()
    return ", ".join(f"{n} {status}" for status, n in counts.items() if n)


# -- Markdown ---------------------------------------------------------------------------------------
def markdown(report: WeeklyReport) -> str:
    esc = _esc(report)
    t = esc.md_text
    out = [MARKER.format(marker_id(report.stack)),
           f"# Weekly review: {t(report.stack)}",
           "",
           f"**{t(report.status)}** ({t(_summary(report))}) · {t(_period(report))} · {t(report.source)}",
           "",
           "| section | status | figure | act on it |",
           "|---|---|---|---|"]
    for s in report.sections:
        figure = s.figure if s.status != NOT_ASSESSED else s.reason
        out.append(f"| {t(s.title)} | {_BADGE[s.status]} | {t(figure)} | "
                   f"{esc.md_code(s.action) if s.action else ''} |")
    out += ["", "## The runbook's weekly checklist", ""]
    for item, s in report.checklist():
        # Ticked only when its section found nothing to look at: attention is still a look.
        out.append(f"- [{'x' if s.status == OK else ' '}] {t(item)}: {t(s.title)}, {_BADGE[s.status]}")
    for s in report.sections:
        out += ["", f"## {t(s.title)}: {_BADGE[s.status]}", ""]
        if s.status == NOT_ASSESSED:
            out.append(f"Not assessed: {t(s.reason)}")
        elif s.figure:
            out.append(t(s.figure))
        if s.action:
            out += ["", f"Act on it: {esc.md_code(s.action, table=False)}"]
        if s.rows:
            out += ["", "| item | figure | status |", "|---|---|---|"]
            out += [f"| {t(r.name)} | {t(r.figure)} | {_BADGE.get(r.status, t(r.status))} |" for r in s.rows]
    return "\n".join(out) + "\n"


# -- HTML -------------------------------------------------------------------------------------------
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1b1b1b;max-width:1100px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;font-size:13px} th,td{border-bottom:1px solid #eee;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#fafafa} code{font-size:12px;word-break:break-all} .muted{color:#666}
.status{display:inline-block;border-radius:10px;padding:0 8px;font-weight:600;white-space:nowrap}
.ok{background:#e8f5e9;color:#1b5e20} .attention{background:#fff8e1;color:#8a5300}
.action-needed{background:#ffebee;color:#b71c1c} .not-assessed{background:#eceff1;color:#37474f}
"""
_STYLE_HASH = "'sha256-" + base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode() + "'"
# No script at all, the one style block allowed by its hash, nothing fetched: a planted <script>
# or style does nothing, and opening the file never reaches the network.
CSP = (f"default-src 'none'; style-src {_STYLE_HASH}; script-src 'none'; img-src 'none'; base-uri 'none'; "
       "form-action 'none'")


def _css_class(status: str) -> str:
    return status.replace(" ", "-")


def html(report: WeeklyReport) -> str:
    esc = _esc(report)
    h = esc.html

    def badge(status: str, ident: str = "") -> str:
        attr = f' id="{h(ident)}"' if ident else ""
        return f'<span class="status {_css_class(status)}"{attr} data-status="{h(status)}">{h(status)}</span>'

    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
           f"<title>Weekly review: {h(report.stack)}</title>", f"<style>{_CSS}</style></head><body>",
           f"<h1>Weekly review: {h(report.stack)}</h1>",
           f'<p>{badge(report.status, "overall")} <span class="muted">{h(_summary(report))} · {h(_period(report))} · '
           f"{h(report.source)}</span></p>",
           '<table id="summary"><thead><tr><th>section</th><th>status</th><th>figure</th><th>act on it</th></tr>'
           "</thead><tbody>"]
    for s in report.sections:
        figure = s.figure if s.status != NOT_ASSESSED else s.reason
        out.append(f'<tr data-section="{h(s.key)}"><td><a href="#{h(s.key)}">{h(s.title)}</a></td>'
                   f"<td>{badge(s.status, f'status-{s.key}')}</td><td id=\"figure-{h(s.key)}\">{h(figure)}</td>"
                   f"<td><code>{h(s.action)}</code></td></tr>")
    out.append("</tbody></table><h2>The runbook's weekly checklist</h2><ul id=\"checklist\">")
    for item, s in report.checklist():
        out.append(f'<li>{h(item)}: <a href="#{h(s.key)}">{h(s.title)}</a> {badge(s.status)}</li>')
    out.append("</ul>")
    for s in report.sections:
        out.append(f'<h2 id="{h(s.key)}">{h(s.title)} {badge(s.status)}</h2>')
        if s.status == NOT_ASSESSED:
            out.append(f'<p class="reason">Not assessed: {h(s.reason)}</p>')
        elif s.figure:
            out.append(f"<p>{h(s.figure)}</p>")
        if s.action:
            out.append(f"<p>Act on it: <code>{h(s.action)}</code></p>")
        if s.rows:
            out.append("<table><thead><tr><th>item</th><th>figure</th><th>status</th></tr></thead><tbody>")
            out += [f"<tr><td>{h(r.name)}</td><td>{h(r.figure)}</td><td>{badge(r.status)}</td></tr>" for r in s.rows]
            out.append("</tbody></table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# -- JSON -------------------------------------------------------------------------------------------
def _section_json(esc: Escaper, s: Section) -> dict:
    p = esc.plain
    return {"key": s.key, "title": p(s.title), "status": s.status, "figure": p(s.figure), "action": p(s.action),
            "reason": p(s.reason), "rows": [{"name": p(r.name), "figure": p(r.figure), "status": p(r.status)}
                                            for r in s.rows]}


def json_text(report: WeeklyReport) -> str:
    esc = _esc(report)
    doc = {"stack": esc.plain(report.stack), "generated_at": report.generated_at.isoformat(timespec="seconds"),
           "since": report.since.isoformat(timespec="seconds"), "source": esc.plain(report.source),
           "status": report.status, "exit_code": report.exit_code(), "counts": report.counts(),
           "checklist": [{"item": item, "section": s.key, "status": s.status} for item, s in report.checklist()],
           "sections": [_section_json(esc, s) for s in report.sections]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
