"""Reading Prometheus query answers (the shape of `/api/v1/query`), strictly: a sample value is
the decimal text Prometheus writes, or NaN (no traffic), and anything else is an answer in a shape
we cannot read, which makes the section "not assessed" rather than a made-up figure."""
from __future__ import annotations

import math
import re
from typing import Any, Optional

from platformctl.weekly.model import Unreachable

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?$")


def vector(answer: Any, query: str) -> list[tuple[dict[str, str], Optional[float]]]:
    """(labels, value) of each series of an instant-vector answer; value None for NaN."""
    data = answer.get("data") if isinstance(answer, dict) and answer.get("status") == "success" else None
    if not isinstance(data, dict) or data.get("resultType") != "vector" or not isinstance(data.get("result"), list):
        raise Unreachable(f"the SLO store gave no instant vector for {query}")
    out = []
    for sample in data["result"]:
        metric = sample.get("metric") if isinstance(sample, dict) else None
        pair = sample.get("value") if isinstance(sample, dict) else None
        if not isinstance(metric, dict) or not isinstance(pair, list) or len(pair) != 2:
            raise Unreachable(f"the SLO store gave a malformed sample for {query}")
        raw = pair[1]
        if raw == "NaN":
            out.append(({str(k): str(v) for k, v in metric.items()}, None))
            continue
        if not isinstance(raw, str) or not _NUMBER.match(raw) or not math.isfinite(float(raw)):
            raise Unreachable(f"the SLO store gave {str(raw)[:40]!r} for {query}, not a number")
        out.append(({str(k): str(v) for k, v in metric.items()}, float(raw)))
    return out


def instant(fetch, query: str, at) -> list[tuple[dict[str, str], Optional[float]]]:
    """The instant vector of `query` at `at` (an aware datetime) from the SLO store."""
    return vector(fetch("prometheus", "query", {"query": query, "time": f"{at.timestamp():.0f}"}), query)
