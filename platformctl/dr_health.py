"""Ten healthy minutes, read from the SLO store: the check between two failback updates.

Every failback update waits until the site that serves the traffic has been healthy for
`MINUTES` minutes. Healthy means, for every SLO the store holds: the error budget's burn rate
over each 5-minute window of the last `MINUTES` minutes stayed at or below `MAX_BURN` (spending
no faster than the SLO allows), measured all along (a recording at least once a minute: a
window with missing data is not a healthy one), and with traffic (an SLO with no requests has
shown nothing). It reads `slo_error_budget_burn_rate{window="5m"}`, which every cluster records
and remote-writes to its stack's store (leadgen/observability/slo.py).

The exchange is the error-budget gate's own (policies/governance/error_budget.py): one
wall-clock deadline for connect, request and body, SigV4 for an Amazon Managed Prometheus
workspace, a strictly read answer. Anything it cannot establish is "not healthy", never a pass.
"""
from __future__ import annotations

import http.client
import json
import math
import re
import socket
import time
import urllib.parse
from dataclasses import dataclass
from typing import Optional

from platformctl.pack import error_budget as eb

MINUTES = 10
MAX_BURN = 1.0
SERIES = 'slo_error_budget_burn_rate{window="5m"}'
# The recording rules run at least once a minute, so ten minutes hold at least ten samples.
MIN_SAMPLES = MINUTES
BURN = f"max_over_time({SERIES}[{MINUTES}m])"
SAMPLES = f"count_over_time({SERIES}[{MINUTES}m])"
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?$")


class Unhealthy(Exception):
    """The store gave no usable answer: one line saying why."""


@dataclass(frozen=True)
class Slo:
    name: str
    burn: Optional[float]  # None: no traffic in the window (0/0)
    samples: int

    @property
    def ok(self) -> bool:
        return self.burn is not None and self.burn <= MAX_BURN and self.samples >= MIN_SAMPLES

    def line(self) -> str:
        if self.samples < MIN_SAMPLES:
            why = f"{self.samples} recordings in {MINUTES} min, want at least {MIN_SAMPLES}: not measured all along"
        elif self.burn is None:
            why = f"no traffic in the last {MINUTES} min"
        else:
            why = f"highest 5-minute burn rate {self.burn:g}" + (
                f" > {MAX_BURN:g}: spending the budget too fast" if self.burn > MAX_BURN else f" <= {MAX_BURN:g}")
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {why}"


def instant(base_url: str, promql: str, timeout: float = eb.TIMEOUT_SECONDS, *,
            transport=None) -> list[tuple[dict, str]]:
    """The (labels, value text) of an instant query, through the error-budget gate's bounded exchange."""
    if not base_url:
        raise Unhealthy("no SLO store given (--prometheus)")
    try:
        parsed = urllib.parse.urlparse(base_url)
        parsed.port  # noqa: B018 (raises on a port that is not a number, before anything is sent)
    except ValueError:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise Unhealthy(f"--prometheus {base_url!r} is not an http(s) URL")
    path = parsed.path.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    deadline = time.monotonic() + timeout
    headers = {"Accept": "application/json"}
    region = eb.amp_region(base_url)
    try:
        if region is not None:
            if parsed.scheme != "https":
                raise Unhealthy(f"Prometheus at {base_url}: Amazon Managed Prometheus is queried over https only")
            host = parsed.hostname + (f":{parsed.port}" if parsed.port else "")
            headers = eb._signed_headers(f"https://{host}{path}", {**headers, "Host": host}, region, base_url)
        conn = (transport or eb._connection)(parsed, deadline)
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read(eb.MAX_BODY + 1)
            status = response.status
        finally:
            conn.close()
    except eb.BudgetUnavailable as err:
        raise Unhealthy(str(err)) from None
    except (TimeoutError, socket.timeout):
        raise Unhealthy(f"Prometheus at {base_url} did not answer within {timeout:g} s") from None
    except (OSError, http.client.HTTPException) as err:
        raise Unhealthy(f"Prometheus at {base_url} is unreachable ({str(err) or err.__class__.__name__})") from None
    if len(body) > eb.MAX_BODY:
        raise Unhealthy(f"Prometheus at {base_url} answered more than {eb.MAX_BODY // (1024 * 1024)} MiB")
    if status != 200:
        raise Unhealthy(f"Prometheus at {base_url} answered HTTP {status}{eb._error_text(body)}")
    return _vector(body, base_url, promql)


def _vector(body: bytes, base_url: str, promql: str) -> list[tuple[dict, str]]:
    where = f"Prometheus at {base_url} ({promql})"
    try:
        doc = json.loads(body, object_pairs_hook=eb._strict_pairs, parse_constant=eb._no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Unhealthy(f"{where} returned a body that is not strict JSON") from None
    data = doc.get("data") if isinstance(doc, dict) and doc.get("status") == "success" else None
    if not isinstance(data, dict) or data.get("resultType") != "vector" or not isinstance(data.get("result"), list):
        raise Unhealthy(f"{where} returned no instant vector")
    out = []
    for sample in data["result"]:
        metric = sample.get("metric") if isinstance(sample, dict) else None
        pair = sample.get("value") if isinstance(sample, dict) else None
        if not isinstance(metric, dict) or not isinstance(pair, list) or len(pair) != 2 or not isinstance(pair[1], str):
            raise Unhealthy(f"{where} returned a malformed sample")
        if pair[1] != "NaN" and not _NUMBER.match(pair[1]):
            raise Unhealthy(f"{where} returned {json.dumps(pair[1])[:40]}, not a number")
        out.append((metric, pair[1]))
    return out


def _slo(metric: dict) -> str:
    name = metric.get("slo_name") or metric.get("slo") or "?"
    service = metric.get("service")
    return f"{name} ({service})" if service and service != name else str(name)


def judge(burn: list[tuple[dict, str]], samples: list[tuple[dict, str]]) -> list[Slo]:
    """One line per SLO from the two answers; an SLO missing from either is unmeasured."""
    counts = {_slo(m): v for m, v in samples}
    rates = {_slo(m): v for m, v in burn}
    out = []
    for name in sorted(set(counts) | set(rates)):
        raw = rates.get(name)
        value = None if raw in (None, "NaN") else float(raw)
        if value is not None and not math.isfinite(value):
            value = math.inf
        n = counts.get(name)
        out.append(Slo(name, value, int(float(n)) if n not in (None, "NaN") else 0))
    return out


def check(base_url: str, timeout: float = eb.TIMEOUT_SECONDS, *, transport=None) -> list[Slo]:
    """The store's SLOs over the last ten minutes; raises Unhealthy when there is nothing to judge."""
    burn = instant(base_url, BURN, timeout, transport=transport)
    samples = instant(base_url, SAMPLES, timeout, transport=transport)
    slos = judge(burn, samples)
    if not slos:
        raise Unhealthy(f"Prometheus at {base_url} has no {SERIES} series: no SLO is recorded")
    return slos
