"""The weekly report: every registered section assessed against one clock, never a silent pass.

A section that raises `Unreachable` is "not assessed" with the reason; one that fails in a way
nobody foresaw is "not assessed" too, with the error named, so a bug in one reader never
hides the other sections nor turns into an "ok". The exit status says the worst: EXIT_ACTION (2)
when any section needs action, else EXIT_NOT_ASSESSED (3) when any could not be assessed, else 0
("ok" and "attention" alone). Bad input is 1, before anything is assessed.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

from platformctl.weekly import sections as registry
from platformctl.weekly.model import ACTION_NEEDED, ATTENTION, NOT_ASSESSED, OK, Context, Section, Unreachable, not_assessed

EXIT_OK, EXIT_BAD_INPUT, EXIT_ACTION, EXIT_NOT_ASSESSED = 0, 1, 2, 3
_RANK = {OK: 0, ATTENTION: 1, NOT_ASSESSED: 2, ACTION_NEEDED: 3}


@dataclasses.dataclass(frozen=True, kw_only=True)
class WeeklyReport:
    stack: str
    generated_at: dt.datetime  # the report's clock (the recording's time when replaying fixtures)
    since: dt.datetime
    sections: tuple[Section, ...]
    source: str  # where the answers came from: "live" or "fixtures <dir> recorded at ..."
    secrets: tuple[str, ...] = ()  # values every renderer redacts

    @property
    def status(self) -> str:
        """The worst status of any section: action needed, not assessed, attention, ok."""
        return max((s.status for s in self.sections), key=_RANK.__getitem__, default=NOT_ASSESSED)

    def exit_code(self) -> int:
        found = {s.status for s in self.sections}
        if ACTION_NEEDED in found:
            return EXIT_ACTION
        if NOT_ASSESSED in found or not self.sections:
            return EXIT_NOT_ASSESSED
        return EXIT_OK

    def counts(self) -> dict[str, int]:
        from platformctl.weekly.model import STATUSES
        return {status: sum(1 for s in self.sections if s.status == status) for status in STATUSES}

    def checklist(self) -> list[tuple[str, Section]]:
        """The runbook's eleven items, each with the section that answers it."""
        by_key = {s.key: s for s in self.sections}
        return [(item, by_key[key]) for item, key in registry.CHECKLIST if key in by_key]


def assess_one(key: str, ctx: Context) -> Section:
    """One section, whatever happens in it: its own verdict, or "not assessed" with the reason."""
    module = registry.module(key)  # every registered section is installed: a missing one is a broken install
    title = getattr(module, "TITLE", key)
    try:
        section = module.assess(ctx)
    except Unreachable as err:
        return not_assessed(key=key, title=title, reason=str(err) or "a source could not be reached", action="")
    except Exception as err:  # noqa: BLE001 one reader's bug is that section's "not assessed", not the report's end
        return not_assessed(key=key, title=title, reason=f"the section failed: {type(err).__name__}: {err}",
                            action="")
    if not isinstance(section, Section) or section.key != key:
        return not_assessed(key=key, title=title, reason="the section returned no Section of its own key", action="")
    return section


def run(ctx: Context, *, source: str, secrets: tuple[str, ...] = (), keys: tuple[str, ...] = registry.SECTIONS
        ) -> WeeklyReport:
    return WeeklyReport(stack=ctx.stack, generated_at=ctx.now, since=ctx.since,
                        sections=tuple(assess_one(k, ctx) for k in keys), source=source, secrets=secrets)
