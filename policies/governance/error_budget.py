"""The runbook's error-budget decision matrix, fed by Prometheus.

`slo_error_budget_remaining` is a percentage per SLO, as the runbook's forecasting commands print
it. The gate applies the matrix to the budget of the service the change request names (a series
whose `service`, `slo_name` or `slo` label is that service; the lowest of them), or, when no
series names it, to the lowest SLO of all, and says so:

| remaining | action          | approval needed      |
| > 50 %    | monitor         | none                 |
| 30-50 %   | optimize        | team-lead            |
| 10-30 %   | mitigate        | engineering-manager  |
| < 10 %    | feature freeze  | cto, emergency only  |
| <= 0 %    | budget exhausted (overspent): the freeze, worded as such |

A more senior approval satisfies a band that asks for a junior one (a CTO may approve what a team
lead may). The whole exchange with Prometheus (connect, request, headers, body) has one wall-clock
deadline of `TIMEOUT_SECONDS`: a server that answers one byte a second cannot hold the gate. An
answer is read strictly (a sample value must be the decimal text Prometheus writes; `true`, NaN,
duplicate keys are refused). Anything the gate cannot establish fails closed.
"""
from __future__ import annotations

import http.client
import io
import json
import math
import re
import socket
import time
import urllib.parse
from dataclasses import dataclass
from typing import Optional, Sequence

METRIC = "slo_error_budget_remaining"
TIMEOUT_SECONDS = 3.0
MAX_BODY = 4 * 1024 * 1024
SENIORITY = ("team-lead", "engineering-manager", "cto")
SERVICE_LABELS = ("service", "slo_name", "slo")
# What Prometheus writes for a sample value: decimal text (it also writes NaN and +Inf, refused).
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?$")
# An overspent budget goes below zero; a value beyond this is a broken exporter, not a budget.
_LOWEST = -1000.0


@dataclass(frozen=True)
class Budget:
    """The budget the gate judges and the SLO it belongs to."""
    remaining: float
    slo: str
    series: int
    service: str = ""  # the service it was chosen for ("" when none was asked for)
    fallback: bool = False  # True when no series named the service: the lowest of all is used

    def describe(self) -> str:
        if self.service and not self.fallback:
            return f"{METRIC}{{{self.slo}}} of {self.service}"
        text = f"lowest {METRIC}{{{self.slo}}}"
        if self.fallback:
            text += f" (no series names service {self.service}, so the lowest of all)"
        return text


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
    if remaining <= 0:
        return Band("error budget exhausted (overspent), feature freeze", "cto", freeze=True)
    return Band("feature freeze", "cto", freeze=True)


def satisfies(approved_roles: frozenset[str], needed: str) -> bool:
    """True when some approver's role is at least as senior as the one needed."""
    if needed not in SENIORITY:
        return needed in approved_roles
    rank = SENIORITY.index(needed)
    return any(r in SENIORITY and SENIORITY.index(r) >= rank for r in approved_roles)


class _DeadlineReader(io.RawIOBase):
    """A socket's reads, each given only the time left before the exchange's deadline."""

    def __init__(self, sock: socket.socket, deadline: float):
        # The socket's own raw file, so closing the connection while a response is read keeps
        # the descriptor open until the response is done (as http.client expects).
        self._sock, self._raw, self._deadline = sock, sock.makefile("rb", buffering=0), deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline")
        self._sock.settimeout(left)
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _DeadlineSocket:
    def __init__(self, sock: socket.socket, deadline: float):
        self._sock, self._deadline = sock, deadline

    def makefile(self, mode="rb", *args, **kwargs):
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))

    def sendall(self, data) -> None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline")
        self._sock.settimeout(left)
        self._sock.sendall(data)

    def __getattr__(self, name):
        return getattr(self._sock, name)


def _connection(parsed: urllib.parse.ParseResult, deadline: float) -> http.client.HTTPConnection:
    base = http.client.HTTPSConnection if parsed.scheme == "https" else http.client.HTTPConnection

    class Bounded(base):  # type: ignore[misc, valid-type]
        def connect(self):
            self.timeout = max(0.001, deadline - time.monotonic())
            super().connect()
            self.sock = _DeadlineSocket(self.sock, deadline)
    return Bounded(parsed.hostname, parsed.port, timeout=max(0.001, deadline - time.monotonic()))


def query(base_url: str, timeout: float = TIMEOUT_SECONDS, services: Sequence[str] = ()) -> Budget:
    """The budget of `services` (or the lowest of all) from `slo_error_budget_remaining`, within
    one deadline of `timeout` seconds for the whole exchange."""
    if not base_url:
        raise BudgetUnavailable("Prometheus is not configured (leadgen:governance.prometheusUrl is empty)")
    parsed = urllib.parse.urlparse(base_url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise BudgetUnavailable(f"leadgen:governance.prometheusUrl {base_url!r} is not an http(s) URL")
    path = (parsed.path.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": METRIC}))
    deadline = time.monotonic() + timeout
    conn = _connection(parsed, deadline)
    try:
        conn.request("GET", path, headers={"Accept": "application/json"})
        response = conn.getresponse()
        body = response.read(MAX_BODY + 1)
        status = response.status
    except (TimeoutError, socket.timeout):
        raise BudgetUnavailable(f"Prometheus at {base_url} did not answer within {timeout:g} s") from None
    except (OSError, http.client.HTTPException) as err:
        raise BudgetUnavailable(f"Prometheus at {base_url} is unreachable ({str(err) or err.__class__.__name__})") from None
    finally:
        conn.close()
    if len(body) > MAX_BODY:
        raise BudgetUnavailable(f"Prometheus at {base_url} answered more than {MAX_BODY // (1024 * 1024)} MiB")
    if status != 200:
        raise BudgetUnavailable(f"Prometheus at {base_url} answered HTTP {status}{_error_text(body)}")
    return parse(body, base_url, services)


def _error_text(body: bytes) -> str:
    try:
        error = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return ""
    return f": {error[:200]}" if isinstance(error, str) else ""


def _strict_pairs(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key")
    return dict(pairs)


def _no_constant(name):
    raise ValueError(name)


def parse(body: bytes, base_url: str = "Prometheus", services: Sequence[str] = ()) -> Budget:
    """Check a /api/v1/query answer and pick the budget; any oddity raises BudgetUnavailable."""
    where = f"Prometheus at {base_url}"
    try:
        doc = json.loads(body, object_pairs_hook=_strict_pairs, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BudgetUnavailable(f"{where} returned a body that is not strict JSON") from None
    if not isinstance(doc, dict) or doc.get("status") != "success":
        raise BudgetUnavailable(f"{where} did not report success for {METRIC}")
    data = doc.get("data")
    if not isinstance(data, dict) or data.get("resultType") != "vector" or not isinstance(data.get("result"), list):
        raise BudgetUnavailable(f"{where} returned no instant vector for {METRIC}")
    result = data["result"]
    if not result:
        raise BudgetUnavailable(f"{where} has no {METRIC} series: no SLO reports its error budget")
    samples = []
    for sample in result:
        metric = sample.get("metric") if isinstance(sample, dict) else None
        pair = sample.get("value") if isinstance(sample, dict) else None
        if not isinstance(metric, dict) or not isinstance(pair, list) or len(pair) != 2:
            raise BudgetUnavailable(f"{where} returned a malformed {METRIC} sample")
        raw = pair[1]
        name = _slo_name(metric)
        # Prometheus writes values as text; a JSON true, a number or "NaN" is not its answer.
        if not isinstance(raw, str) or not _NUMBER.match(raw):
            raise BudgetUnavailable(f"{where} returned {METRIC}{{{name}}} = {json.dumps(raw)[:40]}, not a number")
        value = float(raw)
        if not math.isfinite(value) or not _LOWEST <= value <= 100:
            raise BudgetUnavailable(f"{where} returned {METRIC}{{{name}}} = {raw}, outside {_LOWEST:g}-100 %")
        samples.append((value, name, metric))
    wanted = {s for s in services if s}
    chosen = [x for x in samples if wanted & {x[2].get(label) for label in SERVICE_LABELS}] if wanted else []
    pool = chosen or samples
    value, name, _ = min(pool, key=lambda x: x[0])
    service = ", ".join(sorted(wanted))
    return Budget(value, name, len(result), service, fallback=bool(wanted) and not chosen)


def _slo_name(metric: object) -> str:
    if isinstance(metric, dict):
        for label in SERVICE_LABELS[1:] + SERVICE_LABELS[:1]:
            if isinstance(metric.get(label), str):
                return f'{label}="{metric[label][:80]}"'
    return ""
