"""Prometheus durations (`5m`, `28d`, `1h30m`) as seconds and back."""
from __future__ import annotations

import re

# Prometheus' own grammar (model.ParseDuration): units in descending order, each at most once.
_DURATION = re.compile(
    r"^((?P<y>\d+)y)?((?P<w>\d+)w)?((?P<d>\d+)d)?((?P<h>\d+)h)?((?P<m>\d+)m)?((?P<s>\d+)s)?((?P<ms>\d+)ms)?$"
)
_UNITS = (("y", 365 * 86400), ("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def parse_duration(text: object) -> int:
    """Seconds in a Prometheus duration; ValueError for anything else (including `0s`)."""
    if not isinstance(text, str) or not text:
        raise ValueError("is not a duration")
    match = _DURATION.match(text)
    if not match:
        raise ValueError("is not a duration")
    parts = match.groupdict()
    if parts["ms"]:
        raise ValueError("is not a whole number of seconds")
    seconds = sum(int(parts[u]) * n for u, n in _UNITS if parts[u])
    if seconds <= 0:
        raise ValueError("must be longer than zero")
    return seconds


def format_duration(seconds: int) -> str:
    """Shortest Prometheus spelling: 86400 -> `1d`, 5400 -> `1h30m`. Weeks and years are avoided
    so a 28-day window reads `28d`, as SLO documents write it."""
    if seconds <= 0:
        raise ValueError("duration must be positive")
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(out)
