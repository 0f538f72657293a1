"""The human formats: a terminal table and a Markdown pull-request comment."""
from __future__ import annotations

from platformctl.reports.escape import for_report, marker_id
from platformctl.reports.model import Report, severity_of, sorted_violations

# GitHub rejects issue and pull-request comments over 65,536 characters; stay well inside it.
GITHUB_COMMENT_LIMIT = 65536
MARKDOWN_BUDGET = 60000
COMMENT_MARKER = "<!-- platformctl-report:{stack} -->"

_RESET = "\033[0m"
_COLOURS = {"mandatory": "\033[31;1m", "advisory": "\033[33m", "ok": "\033[32m", "dim": "\033[2m"}


def money(value: float) -> str:
    return f"${value:,.2f}"


def signed_money(value: float) -> str:
    return ("+" if value >= 0 else "-") + money(abs(value))


def percent(value) -> str:
    if value is None:
        return "n/a"
    if value == float("inf"):
        return "new"
    return f"{value:+.1f}%"


def verdict(report: Report) -> str:
    if report.kind == "cost":
        return "cost estimate"
    if report.mandatory:
        return f"FAIL: {report.mandatory} mandatory violation(s)"
    if report.advisory:
        return f"PASS with {report.advisory} advisory finding(s)"
    return "PASS: no violations"


def _grid(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    return [line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows]


def table(report: Report, color: bool = False) -> str:
    """Every value is shown with its control characters visible: only our own colours are raw."""
    t = for_report(report).terminal
    paint = (lambda key, text: f"{_COLOURS[key]}{text}{_RESET}") if color else (lambda key, text: text)
    subject = f"{t(report.kind)} of {t(report.project)}/{t(report.stack)}"
    out = [subject + ("" if report.kind == "gate" else f": {report.resource_count} resources")
           + (f" ({t(report.source)})" if report.source else "")]
    if report.period:
        out.append(f"period {report.period[0].isoformat()} .. {report.period[1].isoformat()}")
    for note in report.notes:
        out.append(paint("dim", f"note: {t(note)}"))
    if report.kind != "cost":
        state = "mandatory" if report.mandatory else ("advisory" if report.advisory else "ok")
        out.append(paint(state, verdict(report)))
    if report.violations:
        out.append("")
        rows = [[t(v.level), t(severity_of(v)), t(v.policy), t(v.urn or "(stack)"), t(v.message)]
                for v in sorted_violations(report.violations)]
        for line in _grid(["LEVEL", "SEVERITY", "POLICY", "URN", "MESSAGE"], rows):
            key = "mandatory" if line.startswith("mandatory") else "advisory" if line.startswith("advisory") else None
            out.append(paint(key, line) if key else line)
    if report.exemptions:
        out.append("")
        out.append("Exemptions in force:")
        out += _grid(["POLICY", "URN PATTERN", "TICKET", "EXPIRES", "REASON"],
                     [[t(e.policy), t(e.urn), t(e.ticket), e.expires.isoformat(), t(e.reason)]
                      for e in report.exemptions])
    if report.changes:
        out.append("")
        out.append(f"Change evidence: {len(report.changes)} update(s), {report.noncompliant_changes} non-compliant")
        out += _grid(["VERSION", "START", "CHANGE", "APPROVED", "ROLLBACK", "WINDOW", "PROBLEMS"],
                     [[str(c.version or ""), c.start.isoformat(), t(c.change_request or "-"),
                       _yes(c.independently_approved), _yes(c.rollback_plan), _yes(c.in_window),
                       t("; ".join(c.problems) or "ok")] for c in report.changes])
    if report.cost is not None:
        out.append("")
        out += _cost_lines(report)
    return "\n".join(out) + "\n"


def _cost_lines(report: Report) -> list[str]:
    t = for_report(report).terminal
    cost = report.cost
    lines = [f"Monthly cost estimate: {money(cost.total_usd)}"]
    if cost.baseline_usd is not None:
        lines.append(f"Against {t(cost.baseline_source or 'baseline')}: {money(cost.baseline_usd)} -> "
                     f"{money(cost.total_usd)} ({signed_money(cost.delta_usd)}, {percent(cost.delta_percent)})")
    lines += _grid(["COMPONENT", "MONTHLY"], [[t(c), money(v)] for c, v in cost.by_component()])
    if report.kind == "cost" and cost.items:
        lines.append("")
        lines += _grid(["COMPONENT", "TYPE", "URN", "MONTHLY", "NOTE"],
                       [[t(i.component), t(i.type), t(i.urn), money(i.monthly_usd), t(i.note)]
                        for i in sorted(cost.items, key=lambda i: (i.component, -i.monthly_usd, i.urn))])
    return lines


def _yes(flag: bool) -> str:
    return "yes" if flag else "NO"


def markdown(report: Report) -> str:
    """A pull-request comment; the hidden marker lets the workflow update one comment in place.

    Text goes through `md_text` (no markup, HTML, mention or line break gets through) and
    identifiers through `md_code` (a span no backtick inside can close)."""
    esc = for_report(report)
    md, code = esc.md_text, esc.md_code
    head = [COMMENT_MARKER.format(stack=marker_id(report.stack)),
            f"### {code(report.kind)} {md(report.project)}/{md(report.stack)}: {verdict(report)}", "",
            f"{report.resource_count} resources, {report.mandatory} mandatory, {report.advisory} advisory"
            + (f", {len(report.exempted)} exempted" if report.exempted else "")
            + f" · generated {report.generated_at.isoformat(timespec='seconds')}"]
    if report.period:
        head.append(f"Period {report.period[0].isoformat()} .. {report.period[1].isoformat()}")
    for note in report.notes:
        head.append(f"> {md(note)}")
    tail: list[str] = []
    if report.exemptions:
        tail += ["", "<details><summary>Exemptions in force</summary>", "",
                 "| Policy | URN pattern | Ticket | Expires | Reason |", "|---|---|---|---|---|"]
        tail += [f"| {md(e.policy)} | {code(e.urn)} | {md(e.ticket)} | {e.expires.isoformat()} | "
                 f"{md(e.reason)} |" for e in report.exemptions]
        tail += ["", "</details>"]
    if report.changes:
        tail += ["", f"#### Change evidence ({report.noncompliant_changes} of {len(report.changes)} non-compliant)", "",
                 "| Version | Start | Change request | Approved | Rollback | Window | Problems |",
                 "|---|---|---|---|---|---|---|"]
        tail += [f"| {c.version or ''} | {c.start.isoformat()} | {md(c.change_request or '—')} | "
                 f"{_yes(c.independently_approved)} | {_yes(c.rollback_plan)} | {_yes(c.in_window)} | "
                 f"{md('; '.join(c.problems) or 'ok')} |" for c in report.changes]
    if report.cost is not None:
        cost = report.cost
        tail += ["", f"#### Monthly cost estimate: {money(cost.total_usd)}"]
        if cost.baseline_usd is not None:
            tail.append(f"{money(cost.baseline_usd)} → {money(cost.total_usd)} "
                        f"(**{signed_money(cost.delta_usd)}**, {percent(cost.delta_percent)})")
        tail += ["", "| Component | Monthly |", "|---|---:|"]
        tail += [f"| {md(c)} | {money(v)} |" for c, v in cost.by_component()]
        if report.kind == "cost" and cost.items:
            tail += ["", "<details><summary>By resource</summary>", "",
                     "| Component | Resource | Monthly | Basis |", "|---|---|---:|---|"]
            tail += [f"| {md(i.component)} | {code(i.urn.rsplit('::', 1)[-1])} ({md(i.type)}) | "
                     f"{money(i.monthly_usd)} | {md(i.note)} |"
                     for i in sorted(cost.items, key=lambda i: (i.component, -i.monthly_usd, i.urn))]
            tail += ["", "</details>"]
    body: list[str] = []
    if report.violations:
        body += ["", "| Level | Severity | Policy | Resource | Message |", "|---|---|---|---|---|"]
        rows = [f"| {md(v.level)} | {md(severity_of(v))} | {code(v.policy)} | {code(v.urn or '(stack)')} | "
                f"{md(v.message)} |" for v in sorted_violations(report.violations)]
        # Keep the whole comment under GitHub's limit: list the worst findings, count the rest.
        budget = MARKDOWN_BUDGET - len("\n".join(head + tail)) - 200
        used = 0
        for index, row in enumerate(rows):
            if used + len(row) + 1 > budget:
                body.append("")
                body.append(f"…and {len(rows) - index} more finding(s); see the SARIF upload or the HTML report.")
                break
            body.append(row)
            used += len(row) + 1
    return "\n".join(head + body + tail) + "\n"
