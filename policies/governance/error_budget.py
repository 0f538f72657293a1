"""The runbook's error-budget decision matrix, fed by Prometheus.

`slo_error_budget_remaining` is a percentage per SLO, as the runbook's forecasting commands print
it. The gate applies the matrix to the lowest budget of every service the change touches: the
service its request names and every service the stack's workloads run (a series whose `service`,
`slo_name` or `slo` label is one of them), not to one name the requester picks (naming a healthy
service once passed while `api` was frozen at 4 %). A service's SLOs include the edge twin the
long-term store records from Envoy's counters (`<slo>-edge`, labelled with the same `service`), so
an outage in front of the pods, which the pods' own SLI never sees, freezes the service too. When no series names any of them, the lowest
SLO of all is used, and said so. A series whose value is NaN is an SLO with no traffic in its
window (0/0): it is reported as "no traffic", its own state, and never fails the gate for the
services that do have a budget; when every series judged has no traffic, no budget has been spent:

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

The SLO store CI reaches is an Amazon Managed Service for Prometheus workspace, which answers only
SigV4-signed requests. A URL whose host is exactly `aps-workspaces.<region>.amazonaws.com` is
queried over https and signed (service `aps`, the region from the host) with the standard AWS
credential chain (environment, profile, container or instance role); any other URL is queried
unsigned, as a self-hosted Prometheus expects, over https (plain http only on this machine) and
never with credentials or a query in the URL (`signed_http.store_refusal`). Signing happens
inside the deadline, before the connection opens. `instant` and `vector` are the store's one reader: `platformctl dr
step-check` reads the same store through them.
"""
from __future__ import annotations

import json
import math
import re
import urllib.parse
from dataclasses import dataclass
from typing import Optional, Sequence

from . import signed_http
from .config import STACK_AMP_WORKSPACE
from .signed_http import Transport, connection as _connection  # noqa: F401 (tests reach it here)
from .values import is_unknown

METRIC = "slo_error_budget_remaining"
SETTING = "leadgen:governance.prometheusUrl"
TIMEOUT_SECONDS = 3.0
MAX_BODY = 4 * 1024 * 1024
SENIORITY = ("team-lead", "engineering-manager", "cto")
SERVICE_LABELS = ("service", "slo_name", "slo")
# What Prometheus writes for a sample value: decimal text (it also writes NaN and +Inf, refused).
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?$")
# An overspent budget goes below zero; a value beyond this is a broken exporter, not a budget.
_LOWEST = -1000.0
# Amazon Managed Service for Prometheus: the query host of a region, matched whole (a host that only
# starts or ends like it is someone else's server, and gets no signed request).
AMP_SERVICE = "aps"
AMP_WORKSPACE = "aws:amp/workspace:Workspace"
_AMP_HOST = re.compile(r"aps-workspaces\.([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com")


@dataclass(frozen=True)
class Budget:
    """The budget the gate judges and the SLO it belongs to."""
    remaining: Optional[float]  # None: every SLO judged had no traffic in its window
    slo: str
    series: int
    service: str = ""  # the services it was chosen for ("" when none was asked for)
    fallback: bool = False  # True when no series named the services: the lowest of all is used
    no_traffic: tuple[str, ...] = ()  # the SLOs judged whose value was NaN (no requests in the window)

    def describe(self) -> str:
        if self.remaining is None:
            return f"{METRIC} has no traffic for {', '.join(self.no_traffic)}"
        if self.service and not self.fallback:
            text = f"{METRIC}{{{self.slo}}} of {self.service}"
        else:
            text = f"lowest {METRIC}{{{self.slo}}}"
            if self.fallback:
                text += f" (no series names service {self.service}, so the lowest of all)"
        if self.no_traffic:
            text += f" (no traffic: {', '.join(self.no_traffic)})"
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


def amp_region(base_url: str) -> Optional[str]:
    """The region of an Amazon Managed Prometheus query URL, or None for any other URL."""
    try:
        host = urllib.parse.urlparse(base_url).hostname or ""
    except ValueError:
        return None
    found = _AMP_HOST.fullmatch(host)
    return found.group(1) if found else None


def store_url(resources: Sequence, url: str, setting: str = SETTING) -> str:
    """The Prometheus the gate queries for a stack of `resources` (AnalyzeStack's): the configured
    `url` (`setting` names where it was configured), or, when it is `amp:stack`, the query base of the
    one Amazon Managed Prometheus workspace this stack declares (its `prometheusEndpoint`, which
    AWS fixes when it creates the workspace).

    The stack is the thing being governed, so it must never hold the switch: what it declares
    can only take the budget away, never hand the gate a better one. A change that deletes the
    workspace leaves none to read; one that replaces it leaves an endpoint unknown at preview and,
    at the update, a new workspace with no `slo_error_budget_remaining` series; two workspaces
    leave the gate no way to choose. Each fails closed like an unreachable Prometheus."""
    if url != STACK_AMP_WORKSPACE:
        return url
    key = f"{setting} is {STACK_AMP_WORKSPACE}"
    workspaces = [r for r in resources if r.type == AMP_WORKSPACE]
    if not workspaces:
        raise BudgetUnavailable(f"the SLO store does not exist: {key}, and the stack declares no "
                                f"{AMP_WORKSPACE}")
    if len(workspaces) > 1:
        names = ", ".join(sorted(f"'{w.name}'" for w in workspaces))
        raise BudgetUnavailable(f"{key}, but the stack declares {len(workspaces)} {AMP_WORKSPACE} "
                                f"({names}); it must declare exactly one")
    workspace = workspaces[0]
    endpoint = workspace.props.get("prometheusEndpoint") if isinstance(workspace.props, dict) else None
    if not isinstance(endpoint, str) or not endpoint or is_unknown(endpoint):
        raise BudgetUnavailable(f"the SLO store does not exist yet: {key}, and the {AMP_WORKSPACE} "
                                f"'{workspace.name}' has no prometheusEndpoint until it is created")
    base = endpoint.strip().rstrip("/")
    if amp_region(base) is None:
        # Only an AMP endpoint, which is queried signed, is taken from the stack's own resources.
        raise BudgetUnavailable(f"{key}, but the {AMP_WORKSPACE} '{workspace.name}' has "
                                f"prometheusEndpoint {endpoint[:120]!r}, not an Amazon Managed "
                                f"Prometheus query URL")
    return base


def query(base_url: str, timeout: float = TIMEOUT_SECONDS, services: Sequence[str] = (), *,
          transport: Transport = _connection) -> Budget:
    """The budget of `services` (or the lowest of all) from `slo_error_budget_remaining`, within
    one deadline of `timeout` seconds for the whole exchange (signing included). `transport` opens
    the connection (a test gives one to a loopback server; the URL, its host and the signature
    stay the real ones)."""
    if not base_url:
        raise BudgetUnavailable("Prometheus is not configured (leadgen:governance.prometheusUrl is empty)")
    body = instant(base_url, METRIC, setting=SETTING, timeout=timeout, transport=transport)
    return parse(body, signed_http.shown(base_url), services)


def instant(base_url: str, promql: str, *, setting: str, timeout: float = TIMEOUT_SECONDS,
            transport: Transport = _connection) -> bytes:
    """The body of the SLO store's HTTP 200 answer to the instant query `promql`: the one reader
    of the store every gate and check shares (`platformctl dr step-check` too), so they refuse the
    same URLs and answers with the same lines. `setting` names where the URL came from, for the
    line that refuses it. Raises BudgetUnavailable."""
    where = source(base_url)
    reason = signed_http.store_refusal(base_url)
    if reason is not None:
        raise BudgetUnavailable(f"{setting} {signed_http.shown(base_url)!r} {reason}")
    # An AMP host is never this machine, so `refusal` has already kept it to https.
    parsed = urllib.parse.urlparse(base_url)
    region = amp_region(base_url)
    host = parsed.hostname + (f":{parsed.port}" if parsed.port else "")
    path = parsed.path.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    try:
        status, body = signed_http.exchange(
            "GET", f"{parsed.scheme}://{host}{path}", headers={"Accept": "application/json"}, timeout=timeout,
            transport=transport, sign=(AMP_SERVICE, region) if region is not None else None, max_body=MAX_BODY)
    except signed_http.SigningError as err:
        raise BudgetUnavailable(f"{where} needs {err}") from None
    except signed_http.Unanswered as err:
        raise BudgetUnavailable(f"{where} {err}") from None
    if status != 200:
        raise BudgetUnavailable(f"{where} answered HTTP {status}{_error_text(body)}")
    return body


def source(base_url: str) -> str:
    """The store as every line about it names it (credentials in its URL never shown)."""
    return f"Prometheus at {signed_http.shown(base_url)}"


def vector(body: bytes, where: str, what: str) -> list[tuple[dict, Optional[str]]]:
    """The (labels, value text) of an instant-query answer, read strictly: `None` for NaN (0/0, no
    traffic), else the decimal text Prometheus writes (`true`, a JSON number, +Inf, duplicate keys
    are refused). `where` names the store and `what` the query, in the line that refuses it."""
    try:
        doc = json.loads(body, object_pairs_hook=_strict_pairs, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BudgetUnavailable(f"{where} returned a body that is not strict JSON") from None
    if not isinstance(doc, dict) or doc.get("status") != "success":
        raise BudgetUnavailable(f"{where} did not report success for {what}")
    data = doc.get("data")
    if not isinstance(data, dict) or data.get("resultType") != "vector" or not isinstance(data.get("result"), list):
        raise BudgetUnavailable(f"{where} returned no instant vector for {what}")
    out = []
    for sample in data["result"]:
        metric = sample.get("metric") if isinstance(sample, dict) else None
        pair = sample.get("value") if isinstance(sample, dict) else None
        if not isinstance(metric, dict) or not isinstance(pair, list) or len(pair) != 2:
            raise BudgetUnavailable(f"{where} returned a malformed {what} sample")
        raw = pair[1]
        if raw == "NaN":
            out.append((metric, None))
            continue
        # Prometheus writes values as text; a JSON true or a number is not its answer.
        if not isinstance(raw, str) or not _NUMBER.match(raw):
            raise BudgetUnavailable(f"{where} returned {what}{{{_slo_name(metric)}}} = {json.dumps(raw)[:40]}, "
                                    f"not a number")
        out.append((metric, raw))
    return out


def _error_text(body: bytes) -> str:
    # Prometheus words its errors under `error`; AMP under `message` (e.g. "User: ... is not
    # authorized to perform: aps:QueryMetrics"): a 403 is an answer, shown as one.
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return ""
    error = next((doc[k] for k in ("error", "message") if isinstance(doc, dict) and isinstance(doc.get(k), str)), None)
    return f": {' '.join(error.split())[:200]}" if error else ""


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
    result = vector(body, where, METRIC)
    if not result:
        raise BudgetUnavailable(f"{where} has no {METRIC} series: no SLO reports its error budget")
    samples = []
    for metric, raw in result:
        name = _slo_name(metric)
        if raw is None:
            samples.append((None, name, metric))  # 0/0: no requests in the SLO's window
            continue
        value = float(raw)
        if not math.isfinite(value) or not _LOWEST <= value <= 100:
            raise BudgetUnavailable(f"{where} returned {METRIC}{{{name}}} = {raw}, outside {_LOWEST:g}-100 %")
        samples.append((value, name, metric))
    wanted = {s for s in services if s}
    chosen = [x for x in samples if wanted & {x[2].get(label) for label in SERVICE_LABELS}] if wanted else []
    pool = chosen or samples
    service = ", ".join(sorted(wanted))
    quiet = tuple(sorted(name for value, name, _ in pool if value is None))
    measured = [x for x in pool if x[0] is not None]
    if not measured:
        return Budget(None, "", len(result), service, fallback=bool(wanted) and not chosen, no_traffic=quiet)
    value, name, _ = min(measured, key=lambda x: x[0])
    return Budget(value, name, len(result), service, fallback=bool(wanted) and not chosen, no_traffic=quiet)


# Workload kinds whose services an update of the stack runs (their `app` label, else their name).
WORKLOAD_TYPES = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet")


def services_of(resources: Sequence) -> tuple[str, ...]:
    """The services the stack's workloads run: what its update touches, for the budget's sake."""
    found = set()
    for r in resources:
        if getattr(r, "type", None) not in WORKLOAD_TYPES or not isinstance(r.props, dict):
            continue
        metadata = r.props.get("metadata") if isinstance(r.props.get("metadata"), dict) else {}
        labels = metadata.get("labels") if isinstance(metadata.get("labels"), dict) else {}
        name = labels.get("app.kubernetes.io/name") or labels.get("app") or metadata.get("name")
        if isinstance(name, str) and name and not is_unknown(name):
            found.add(name)
    return tuple(sorted(found))


def _slo_name(metric: object) -> str:
    if isinstance(metric, dict):
        for label in SERVICE_LABELS[1:] + SERVICE_LABELS[:1]:
            if isinstance(metric.get(label), str):
                return f'{label}="{metric[label][:80]}"'
    return ""
