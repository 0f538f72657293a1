"""One self-contained HTML file: summary, findings by policy and severity, cost, change evidence.

Charts are inline SVG drawn here, with no script or font from a CDN: the file is an audit
artefact and must open the same way offline, years later. A Content-Security-Policy forbids any
network fetch, so a report can never phone home when an auditor opens it.
"""
from __future__ import annotations

import base64
import hashlib

from platformctl.reports.escape import Escaper, for_report
from platformctl.reports.model import Report, severity_of, sorted_violations
from platformctl.reports.text import money, percent, signed_money, verdict

_LEVEL_COLOUR = {"mandatory": "#c62828", "advisory": "#ef8f00"}
_SEVERITY_COLOUR = {"critical": "#7f0000", "high": "#c62828", "medium": "#ef8f00", "low": "#1565c0"}

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1b1b1b}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
.figures{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.figure{border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:140px}
.figure b{display:block;font-size:24px}
.fail{color:#c62828} .pass{color:#2e7d32}
table{border-collapse:collapse;width:100%;font-size:13px} th,td{border-bottom:1px solid #eee;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#fafafa} td.num{text-align:right} code{font-size:12px;word-break:break-all}
.muted{color:#666}
"""

# Filters the findings table by level; also marks the page as ready so a headless check knows
# scripts ran before it reads the DOM.
_SCRIPT = """
(function(){
  var rows=document.querySelectorAll('#findings tbody tr');
  var select=document.getElementById('level-filter');
  function update(){
    var shown=0;
    rows.forEach(function(r){var ok=!select.value||r.dataset.level===select.value;r.style.display=ok?'':'none';if(ok)shown++;});
    document.getElementById('findings-shown').textContent=shown;
  }
  if(select){select.addEventListener('change',update);update();}
  document.body.setAttribute('data-ready','1');
})();
"""


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# No 'unsafe-inline': the one script and the one style block this module writes are allowed by
# their hashes, so anything else that reached the page (a finding's text slipping past the
# escaper, an edited file) does not run and is not styled.
CSP = (f"default-src 'none'; style-src {_csp_hash(_CSS)}; script-src {_csp_hash(_SCRIPT)}; img-src data:; "
       "base-uri 'none'; form-action 'none'")


def _bar_chart(esc: Escaper, chart_id: str, title: str, rows: list[tuple[str, float, str]],
               fmt=lambda v: str(int(v))) -> str:
    """Horizontal bars: rows of (label, value, colour)."""
    escape = esc.html
    if not rows:
        return f'<p class="muted" id="{chart_id}">No data.</p>'
    width, label_w, bar_h, gap = 720, 300, 18, 6
    top = max(v for _, v, _ in rows) or 1
    height = len(rows) * (bar_h + gap) + 8
    parts = [f'<svg id="{chart_id}" role="img" aria-label="{escape(title)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for index, (label, value, colour) in enumerate(rows):
        y = 4 + index * (bar_h + gap)
        bar = max(1.0, (width - label_w - 110) * value / top)
        label = esc.plain(label)  # shortened after escaping, so no escape is cut in half
        short = label if len(label) <= 44 else label[:41] + "..."
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" font-size="12">{escape(short)}</text>'
                     f'<rect x="{label_w}" y="{y}" width="{bar:.1f}" height="{bar_h}" fill="{colour}" '
                     f'data-label="{escape(label)}" data-value="{value}"/>'
                     f'<text x="{label_w + bar + 6:.1f}" y="{y + 13}" font-size="12">{escape(fmt(value))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def html(report: Report) -> str:
    """Every value is escaped for text and for double-quoted attributes alike (`Escaper.html`)."""
    esc = for_report(report)
    escape = esc.html
    status_class = "fail" if report.mandatory else "pass"
    figures = [
        ("resource-count", "Resources", str(report.resource_count)),
        ("mandatory-count", "Mandatory", str(report.mandatory)),
        ("advisory-count", "Advisory", str(report.advisory)),
        ("exempted-count", "Exempted", str(len(report.exempted))),
    ]
    if report.cost is not None:
        figures.append(("monthly-cost", "Monthly cost", money(report.cost.total_usd)))
        if report.cost.baseline_usd is not None:
            figures.append(("cost-delta", "Cost change",
                            f"{signed_money(report.cost.delta_usd)} ({percent(report.cost.delta_percent)})"))
    if report.changes:
        figures.append(("noncompliant-changes", "Non-compliant changes",
                        f"{report.noncompliant_changes} / {len(report.changes)}"))
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">",
           f"<title>{escape(report.kind)} report: {escape(report.project)}/{escape(report.stack)}</title>",
           f"<style>{_CSS}</style></head><body>",
           f"<h1>{escape(report.kind.capitalize())} report: {escape(report.project)}/{escape(report.stack)}</h1>",
           f'<p><span id="verdict" class="{status_class}">{escape(verdict(report))}</span> '
           f'<span class="muted">· generated {escape(report.generated_at.isoformat(timespec="seconds"))}'
           + (f" · source {escape(report.source)}" if report.source else "")
           + (f" · period {report.period[0].isoformat()} .. {report.period[1].isoformat()}" if report.period else "")
           + "</span></p>"]
    for note in report.notes:
        out.append(f'<p class="muted">{escape(note)}</p>')
    out.append('<div class="figures">' + "".join(
        f'<div class="figure"><span class="muted">{escape(label)}</span><b id="{fid}">{escape(value)}</b></div>'
        for fid, label, value in figures) + "</div>")

    out.append("<h2>Findings by policy</h2>")
    out.append(_bar_chart(esc, "chart-policies", "Findings by policy",
                          [(f"{p} ({level})", n, _LEVEL_COLOUR.get(level, "#777")) for p, level, _, n in report.by_policy()]))
    out.append("<h2>Findings by severity</h2>")
    out.append(_bar_chart(esc, "chart-severity", "Findings by severity",
                          [(s, n, _SEVERITY_COLOUR.get(s, "#777")) for s, n in report.by_severity()]))
    out.append('<h2>Findings</h2><p><label>Level <select id="level-filter"><option value="">all</option>'
               '<option>mandatory</option><option>advisory</option></select></label> '
               '<span class="muted"><span id="findings-shown">' + str(len(report.violations)) + "</span> shown</span></p>")
    out.append('<table id="findings"><thead><tr><th>Level</th><th>Severity</th><th>Policy</th><th>Resource</th>'
               "<th>Message</th></tr></thead><tbody>")
    for v in sorted_violations(report.violations):
        out.append(f'<tr data-level="{escape(v.level)}"><td class="{"fail" if v.level == "mandatory" else ""}">'
                   f"{escape(v.level)}</td><td>{escape(severity_of(v))}</td><td><code>{escape(v.policy)}</code></td>"
                   f"<td><code>{escape(v.urn or '(stack)')}</code></td><td>{escape(v.message)}</td></tr>")
    out.append("</tbody></table>")

    if report.exemptions or report.exempted:
        out.append("<h2>Exemptions in force</h2><table id=\"exemptions\"><thead><tr><th>Policy</th><th>URN pattern</th>"
                   "<th>Ticket</th><th>Expires</th><th>Reason</th></tr></thead><tbody>")
        for e in report.exemptions:
            out.append(f"<tr><td><code>{escape(e.policy)}</code></td><td><code>{escape(e.urn)}</code></td>"
                       f"<td>{escape(e.ticket)}</td><td>{e.expires.isoformat()}</td><td>{escape(e.reason)}</td></tr>")
        out.append("</tbody></table>")

    if report.cost is not None:
        cost = report.cost
        out.append("<h2>Cost by component</h2>")
        out.append(_bar_chart(esc, "chart-cost", "Monthly cost by component",
                              [(c, v, "#1565c0") for c, v in cost.by_component()], fmt=money))
        out.append('<table id="cost"><thead><tr><th>Component</th><th>Monthly (USD)</th></tr></thead><tbody>')
        out += [f'<tr><td>{escape(c)}</td><td class="num">{money(v)}</td></tr>' for c, v in cost.by_component()]
        out.append(f'<tr><th>Total</th><th class="num">{money(cost.total_usd)}</th></tr></tbody></table>')

    if report.changes:
        out.append("<h2>Change evidence</h2>")
        out.append('<table id="changes"><thead><tr><th>Version</th><th>Start</th><th>Change request</th>'
                   "<th>Approved by another</th><th>Rollback plan</th><th>In window</th><th>Problems</th></tr></thead><tbody>")
        yes = lambda flag: '<span class="pass">yes</span>' if flag else '<span class="fail">no</span>'
        for c in report.changes:
            out.append(f'<tr data-compliant="{str(c.compliant).lower()}"><td>{c.version or ""}</td>'
                       f"<td>{escape(c.start.isoformat())}</td><td>{escape(c.change_request or '-')}</td>"
                       f"<td>{yes(c.independently_approved)}</td><td>{yes(c.rollback_plan)}</td>"
                       f"<td>{yes(c.in_window)}</td><td>{escape('; '.join(c.problems) or 'ok')}</td></tr>")
        out.append("</tbody></table>")
    out.append(f"<script>{_SCRIPT}</script></body></html>")
    return "\n".join(out) + "\n"
