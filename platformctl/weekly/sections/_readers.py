"""What the cost, security and nodes-and-logs sections share: reading the parts of an answer,
and folding the parts of a section into its one status.

A section is made of parts (the estimate and the week's spend; guardrails, image scans and
secrets; node alerts and error logs). Each part is judged on its own, so one unreachable source
never hides what the others found; the section then says "not assessed" as soon as any part is
(a source that could not be read is never a pass, model.py), and otherwise the worst of the rest.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Callable, Iterable, Mapping, Sequence

from platformctl.weekly.model import (ACTION_NEEDED, ATTENTION, NOT_ASSESSED, OK, Context, Finding, Section,
                                      Unreachable)

_RANK = {OK: 0, ATTENTION: 1, ACTION_NEEDED: 2}


class Malformed(Exception):
    """An answer that arrived but is not in the shape the API documents; str() names the field."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Part:
    """One judged part of a section: its own status, a short figure and its rows."""
    name: str
    status: str
    figure: str
    rows: tuple[Finding, ...] = ()
    reason: str = ""  # set when the part is not assessed


def unassessed(name: str, reason: str) -> Part:
    return Part(name=name, status=NOT_ASSESSED, figure=f"not assessed: {reason}", reason=reason,
                rows=(Finding(name=name, figure=f"not assessed: {reason}", status=NOT_ASSESSED),))


def worst(statuses: Iterable[str]) -> str:
    statuses = list(statuses)
    if NOT_ASSESSED in statuses:
        return NOT_ASSESSED
    return max(statuses, key=_RANK.__getitem__, default=OK)


def judge(name: str, source: str, read: Callable[[], Part]) -> Part:
    """`read()`'s part, or the part "not assessed" naming the source when it cannot be read."""
    try:
        return read()
    except Unreachable as exc:
        return unassessed(name, f"{source} unreachable: {one_line(str(exc))}")
    except Malformed as exc:
        return unassessed(name, f"{source} answered in an unexpected shape: {one_line(str(exc))}")


def section(*, key: str, title: str, parts: Sequence[Part], action: str) -> Section:
    status = worst(p.status for p in parts)
    reason = "; ".join(f"{p.name}: {p.reason}" for p in parts if p.status == NOT_ASSESSED)
    figure = "; ".join(f"{p.name}: {p.figure}" for p in parts)
    rows = tuple(r for p in parts for r in p.rows)
    return Section(key=key, title=title, status=status, figure=figure, action=action, reason=reason, rows=rows)


def one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def fetch(ctx: Context, service: str, operation: str, params: Mapping[str, Any]) -> Any:
    """`ctx.fetch`, with anything it raises besides Unreachable treated as unreachable too: a
    source that breaks must make its part "not assessed", never the whole report fail."""
    try:
        return ctx.fetch(service, operation, params)
    except Unreachable:
        raise
    except Exception as exc:  # noqa: BLE001 - the client's own failure, reported as the source's
        raise Unreachable(f"{type(exc).__name__}: {exc}") from None


def field(doc: Any, key: str, kind: type | tuple[type, ...], where: str, *, optional: bool = False) -> Any:
    """doc[key] of the given JSON type, or Malformed naming `where.key`."""
    if not isinstance(doc, Mapping):
        raise Malformed(f"{where} is {json_kind(doc)}, expected an object")
    if key not in doc or doc[key] is None:
        if optional:
            return None
        raise Malformed(f"{where}.{key} is missing")
    value = doc[key]
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise Malformed(f"{where}.{key} is a boolean, expected {_names(kind)}")
    if not isinstance(value, kind):
        raise Malformed(f"{where}.{key} is {json_kind(value)}, expected {_names(kind)}")
    return value


def _names(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(json_kind(k()) if k is not type(None) else "null" for k in kinds)


def json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return {str: "a string", list: "an array", dict: "an object"}.get(type(value), type(value).__name__)


def timestamp(value: Any, where: str) -> dt.datetime:
    """An AWS JSON-protocol timestamp (epoch seconds, as the wire carries it) or an ISO 8601 string
    (as the CLI prints it), timezone-aware UTC."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return dt.datetime.fromtimestamp(float(value), dt.timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise Malformed(f"{where} ({value!r}) is not a time") from None
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise Malformed(f"{where} ({one_line(value, 40)!r}) is not a time") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
    raise Malformed(f"{where} is {json_kind(value)}, expected a time")


def money(amount: float) -> str:
    return f"{amount:,.2f} USD"


def judged_export(ctx: Context, root, part: str):
    """The stack's export as `platformctl audit --state` judges it, or the `part` not assessed with
    the reason: the export is the stack's (else Malformed), its exemptions and config readable."""
    from platformctl import state_audit
    from platformctl.errors import InputError
    from platformctl.exemptions import ExemptionError
    from platformctl.statefile import StateError

    document = fetch(ctx, "pulumi", "stack-export", {"stack": ctx.stack})
    try:
        judged = state_audit.judge_export(document, ctx.now.date(), name=f"the export of {ctx.stack}",
                                          project_root=root)
    except StateError as exc:
        raise Malformed(str(exc)) from None
    except ExemptionError as exc:
        return unassessed(part, f"the exemptions cannot be read: {one_line(str(exc))}")
    except InputError as exc:  # the stack's own config, which the pack reads beside the state
        return unassessed(part, f"the stack's config cannot be read: {one_line(str(exc))}")
    if judged.report.stack != ctx.stack:
        raise Malformed(f"the export is of stack {judged.report.stack!r}, not {ctx.stack!r}")
    return judged
