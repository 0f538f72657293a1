"""Reading Prometheus query answers (the shape of `/api/v1/query`) as the error-budget gate reads
them (`error_budget.vector`, the one strict reader of the SLO store's instant vectors): a sample
value is the decimal text Prometheus writes, or NaN (no traffic), and anything else is an answer
in a shape we cannot read, which makes the section "not assessed" rather than a made-up figure."""
from __future__ import annotations

import json
import math
from typing import Any, Optional

from platformctl.weekly.model import Unreachable

WHERE = "the SLO store"


def vector(answer: Any, query: str) -> list[tuple[dict[str, str], Optional[float]]]:
    """(labels, value) of each series of an instant-vector answer; value None for NaN."""
    from platformctl.pack import error_budget

    try:
        samples = error_budget.vector(json.dumps(answer).encode(), WHERE, query)
    except error_budget.BudgetUnavailable as err:
        raise Unreachable(str(err)) from None
    out = []
    for metric, raw in samples:
        # Decimal text can still overflow a float (1e999): a figure no section can use.
        if raw is not None and not math.isfinite(float(raw)):
            raise Unreachable(f"{WHERE} returned {query} = {raw[:40]}, not a finite number")
        out.append(({str(k): str(v) for k, v in metric.items()}, None if raw is None else float(raw)))
    return out


def instant(fetch, query: str, at) -> list[tuple[dict[str, str], Optional[float]]]:
    """The instant vector of `query` at `at` (an aware datetime) from the SLO store."""
    return vector(fetch("prometheus", "query", {"query": query, "time": f"{at.timestamp():.0f}"}), query)
