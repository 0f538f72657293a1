"""The runbook's error-budget decision matrix, fed by Prometheus.

`slo_error_budget_remaining` is a percentage (0-100) per SLO, as the runbook's forecasting
commands print it. The gate applies the matrix to the lowest SLO:

| remaining | action          | approval needed      |
| > 50 %    | monitor         | none                 |
| 30-50 %   | optimize        | team-lead            |
| 10-30 %   | mitigate        | engineering-manager  |
| < 10 %    | feature freeze  | cto, emergency only  |

A more senior approval satisfies a band that asks for a junior one (a CTO may approve what a team
lead may). When Prometheus cannot answer within 3 s or answers nonsense the gate fails closed.
"""
from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Optional

METRIC = "slo_error_budget_remaining"
TIMEOUT_SECONDS = 3.0
SENIORITY = ("team-lead", "engineering-manager", "cto")


@dataclass(frozen=True)
class Budget:
    """The lowest remaining budget and the SLO it belongs to."""
    remaining: float
    slo: str
    series: int


class BudgetUnavailable(Exception):
    """Prometheus did not give a usable answer; the message says why, in one line."""


@dataclass(frozen=True)
class Band:
    action: str
    role: Optional[str]  # approval needed, None for "monitor"
    freeze: bool = False


def band(remaining: float) -> Band:
    """The matrix row for a remaining budget in percent."""
    # Boundaries follow the table read literally: "> 50" monitors, "30-50" includes both ends,
    # "10-30" excludes 30 (already taken) and includes 10, "< 10" freezes.
    if remaining > 50:
        return Band("monitor", None)
    if remaining >= 30:
        return Band("optimize", "team-lead")
    if remaining >= 10:
        return Band("mitigate", "engineering-manager")
    return Band("feature freeze", "cto", freeze=True)


def satisfies(approved_roles: frozenset[str], needed: str) -> bool:
    """True when some approver's role is at least as senior as the one needed."""
    if needed not in SENIORITY:
        return needed in approved_roles
    rank = SENIORITY.index(needed)
    return any(r in SENIORITY and SENIORITY.index(r) >= rank for r in approved_roles)


def query(base_url: str, timeout: float = TIMEOUT_SECONDS) -> Budget:
    """The lowest `slo_error_budget_remaining` across every SLO Prometheus knows."""
    if not base_url:
        raise BudgetUnavailable("Prometheus is not configured (leadgen:governance.prometheusUrl is empty)")
    parsed = urllib.parse.urlparse(base_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise BudgetUnavailable(f"leadgen:governance.prometheusUrl {base_url!r} is not an http(s) URL")
    url = f"{base_url}/api/v1/query?" + urllib.parse.urlencode({"query": METRIC})
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (scheme checked)
            body = response.read(4 * 1024 * 1024)
    except urllib.error.HTTPError as err:
        body = err.read(4 * 1024 * 1024) if err.fp else b""
        raise BudgetUnavailable(f"Prometheus at {base_url} answered HTTP {err.code}{_error_text(body)}") from None
    except (TimeoutError, OSError) as err:
        reason = getattr(err, "reason", err)
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            raise BudgetUnavailable(f"Prometheus at {base_url} did not answer within {timeout:g} s") from None
        raise BudgetUnavailable(f"Prometheus at {base_url} is unreachable ({reason})") from None
    return parse(body, base_url)


def _error_text(body: bytes) -> str:
    try:
        return f": {json.loads(body)['error']}"
    except (ValueError, KeyError, TypeError):
        return ""


def parse(body: bytes, base_url: str = "Prometheus") -> Budget:
    """Check a /api/v1/query answer and pick the lowest budget; any oddity raises BudgetUnavailable."""
    where = f"Prometheus at {base_url}"
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BudgetUnavailable(f"{where} returned a body that is not JSON") from None
    if not isinstance(doc, dict) or doc.get("status") != "success":
        raise BudgetUnavailable(f"{where} did not report success for {METRIC}")
    data = doc.get("data")
    if not isinstance(data, dict) or data.get("resultType") != "vector" or not isinstance(data.get("result"), list):
        raise BudgetUnavailable(f"{where} returned no instant vector for {METRIC}")
    result = data["result"]
    if not result:
        raise BudgetUnavailable(f"{where} has no {METRIC} series: no SLO reports its error budget")
    lowest: Optional[Budget] = None
    for sample in result:
        try:
            metric, (_, raw) = sample["metric"], sample["value"]
            value = float(raw)
        except (KeyError, TypeError, ValueError):
            raise BudgetUnavailable(f"{where} returned a malformed {METRIC} sample") from None
        name = _slo_name(metric)
        if not math.isfinite(value) or not 0 <= value <= 100:
            raise BudgetUnavailable(f"{where} returned {METRIC}{{{name}}} = {raw}, outside 0-100 %")
        if lowest is None or value < lowest.remaining:
            lowest = Budget(value, name, len(result))
    assert lowest is not None
    return Budget(lowest.remaining, lowest.slo, len(result))


def _slo_name(metric: object) -> str:
    if isinstance(metric, dict):
        for label in ("slo_name", "slo", "service"):
            if isinstance(metric.get(label), str):
                return f'{label}="{metric[label]}"'
    return ""
