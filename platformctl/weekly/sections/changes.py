"""Changes: the week's updates of the stack (`pulumi stack history --json`) and their compliance,
judged by the history audit (`platformctl/history.py`, the gate's own rules: change request,
independent signed approval, rollback plan, window). Any non-compliant update needs action; a week
without updates is ok and says so.
"""
from __future__ import annotations

import json
import pathlib
import tempfile

from platformctl.weekly.model import ACTION_NEEDED, OK, Context, Finding, Section, Unreachable

KEY = "changes"
TITLE = "Changes"
ACTION = ("pulumi stack history --json --stack {stack} > history.json && "
          "python -m platformctl audit --history history.json --since {since} --repo .")


def assess(ctx: Context) -> Section:
    from platformctl import history

    entries = ctx.fetch("pulumi", "stack-history", {})
    if not isinstance(entries, list):
        raise Unreachable("pulumi stack history: the answer is not the JSON list it prints")
    with tempfile.TemporaryDirectory(prefix="weekly-history-") as folder:
        path = pathlib.Path(folder) / "history.json"
        path.write_text(json.dumps(entries), encoding="utf-8")
        try:
            judged = history.judge(path, ctx.stack, ctx.since.date(), ctx.now.date(),
                                   project_root=ctx.project_root or history.ROOT)
        except history.HistoryError as err:
            raise Unreachable(f"pulumi stack history: {str(err).replace(str(path), 'the answer')}") from None
    # The audit takes whole days; the report's week starts at `since` to the minute.
    judged = [j for j in judged if j.evidence.start >= ctx.since]
    action = ACTION.format(stack=ctx.stack, since=ctx.since.date().isoformat())
    rows = []
    for j in judged:
        c = j.evidence
        name = f"{c.kind} v{c.version}" if c.version is not None else c.kind
        what = f"{c.start.strftime('%Y-%m-%d %H:%M')} UTC, {c.change_request or 'no change request'}, {c.result}"
        figure = f"{what}: {j.verdict}" + (f" ({'; '.join(c.problems)})" if c.problems else "")
        rows.append(Finding(name=name, figure=figure, status=OK if c.compliant else ACTION_NEEDED))
    bad = sum(1 for j in judged if not j.evidence.compliant)
    if not judged:
        return Section(key=KEY, title=TITLE, status=OK, figure="no update of the stack this week", action=action)
    return Section(key=KEY, title=TITLE, status=ACTION_NEEDED if bad else OK, action=action, rows=tuple(rows),
                   figure=f"{len(judged)} update{'s' if len(judged) != 1 else ''}, {bad} non-compliant")
