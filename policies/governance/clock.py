"""What "now" is for the change window.

No environment variable moves the clock of an update. `LEADGEN_GOVERNANCE_NOW` is honoured only
where moving time cannot open a door: a preview (PULUMI_DRY_RUN=true), whose gate findings are
forecasts, and platformctl's pre-flight checks. The pack passes `honour_override=False` for every
update, so the real clock judges it and the ignored variable is reported. Tests that need a fixed
update time build the policy `Context` with a `Clock` of their own (in-process), or write a change
request whose window contains the real now (over gRPC); `now` is a module function so an
in-process test may also replace it.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Mapping, Optional

NOW_ENV = "LEADGEN_GOVERNANCE_NOW"


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True)
class Clock:
    now: dt.datetime
    override: Optional[str] = None  # the raw env value when one was set
    problem: Optional[str] = None  # set when the override cannot be parsed
    ignored: bool = False  # an override was set and refused (an update reads the real clock)


def read(env: Mapping[str, str] = os.environ, *, honour_override: bool = True) -> Clock:
    raw = env.get(NOW_ENV)
    real = now()
    if raw is None or raw == "":
        return Clock(real)
    if not honour_override:
        return Clock(real, raw, ignored=True)
    try:
        fixed = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        return Clock(real, raw, f"{NOW_ENV}={raw!r} is not an ISO 8601 time; using the real clock")
    if fixed.tzinfo is None:
        return Clock(real, raw, f"{NOW_ENV}={raw!r} has no time zone; using the real clock")
    return Clock(fixed, raw)
