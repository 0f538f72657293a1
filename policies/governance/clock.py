"""What "now" is for the change window.

Tests must be able to fix the clock, but nobody may move time silently in a real run: the pack
reports a violation of `governance-clock-override` whenever LEADGEN_GOVERNANCE_NOW is set, so the
override shows in every preview's output (and in --json).
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Mapping, Optional

NOW_ENV = "LEADGEN_GOVERNANCE_NOW"


@dataclass(frozen=True)
class Clock:
    now: dt.datetime
    override: Optional[str] = None  # the raw env value when the clock was fixed
    problem: Optional[str] = None  # set when the override cannot be parsed


def read(env: Mapping[str, str] = os.environ) -> Clock:
    raw = env.get(NOW_ENV)
    real = dt.datetime.now(dt.timezone.utc)
    if raw is None or raw == "":
        return Clock(real)
    try:
        fixed = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        return Clock(real, raw, f"{NOW_ENV}={raw!r} is not an ISO 8601 time; using the real clock")
    if fixed.tzinfo is None:
        return Clock(real, raw, f"{NOW_ENV}={raw!r} has no time zone; using the real clock")
    return Clock(fixed, raw)
