"""Nodes and logs: the week's node disk-pressure and filesystem alerts, and the top error-log patterns.

- **Node alerts**: Prometheus `query_range` over the week of `ALERTS`, the series Prometheus keeps
  for every firing alert and remote-writes to the store for the alerts of
  `catalog.LONG_TERM_ALERTS`, those that watch node disks: kube-prometheus-stack's
  `KubeNodePressure` (its `DiskPressure` condition) and `NodeFilesystem*`, and the platform's own
  `PersistentVolumeFilling` (leadgen/observability/platform_alerts.py, in the rendered rules).
  The chart's always-firing `Watchdog` is asked for too: a store without it over the week does not
  hold the cluster's alerts, and silence there would be a false pass ("not assessed"). An alert
  still firing is "action needed", one that fired and resolved "attention".
- **Error logs**: Loki `query_range` for the production namespace's lines matching `error`: the
  week's count per app (a metric query) and the newest lines (a log query), normalised into
  patterns (numbers, ids, addresses, times and credentials replaced by placeholders) and ranked by
  count. Error lines are "attention": someone reads the top patterns; none is "ok".
"""
from __future__ import annotations

import collections
import datetime as dt
import json
import re
from typing import Any, Iterable, Mapping

from leadgen.observability.catalog import HEARTBEAT_ALERT, LONG_TERM_ALERTS, PLATFORM_RULES
from platformctl.weekly.model import ACTION_NEEDED, ATTENTION, OK, Context, Finding, Section
from platformctl.weekly.sections import _readers as r

KEY = "nodes_logs"
TITLE = "Nodes and logs"

# The alerts asked for are the ones the long-term store keeps a history of (their `ALERTS` series
# remote-written): one list, leadgen/observability/catalog.py, so the report never asks the store
# for an alert the cluster does not send it. By where each comes from: the chart's rule groups,
# the platform's own rule file, and the always-firing heartbeat.
CHART_ALERTS = {name: group for name, group in LONG_TERM_ALERTS.items()
                if group != PLATFORM_RULES and name != HEARTBEAT_ALERT}
PRESSURE_ALERT, PRESSURE_CONDITION = "KubeNodePressure", "DiskPressure"
PLATFORM_ALERTS = tuple(name for name, group in LONG_TERM_ALERTS.items() if group == PLATFORM_RULES)
# Always firing (the chart's `general` group): proves the store holds the cluster's alerts.
HEARTBEAT = HEARTBEAT_ALERT
HEARTBEAT_GROUP = LONG_TERM_ALERTS[HEARTBEAT]
STEP_SECONDS = 300
# Less of the week than this with a heartbeat leaves alerts unseen: "attention".
MIN_HEARTBEAT_COVERAGE = 0.9
TOP_PATTERNS = 10
LOG_LIMIT = 5000  # Loki's default max_entries_limit_per_query: the newest lines of the week
PATTERN_CHARS = 200


def alerts_query() -> str:
    names = "|".join((HEARTBEAT, *CHART_ALERTS, *PLATFORM_ALERTS))
    return f'ALERTS{{alertstate="firing",alertname=~"{names}"}}'


def _selector() -> str:
    from leadgen.workloads import NAMESPACE

    # Loki's index label for the namespace, as the log shipper sends it (components/log_shipper.py).
    return f'{{k8s_namespace_name="{NAMESPACE}"}} |~ "(?i)error"'


def log_query() -> str:
    return _selector()


def count_query(window_seconds: int) -> str:
    return f"sum by (app) (count_over_time({_selector()} [{window_seconds}s]))"


def assess(ctx: Context) -> Section:
    parts = [
        r.judge("node alerts", "Prometheus (query_range ALERTS)", lambda: node_alerts(ctx)),
        r.judge("error logs", "Loki (query_range)", lambda: error_logs(ctx)),
    ]
    return r.section(key=KEY, title=TITLE, parts=parts,
                     action="kubectl describe node <node> (docs/runbooks/node-not-ready.md); "
                            "docs/runbooks/persistent-volume-filling.md; Grafana Explore on Loki: "
                            + log_query())


def _rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- node alerts ------------------------------------------------------------------------------------

def node_alerts(ctx: Context) -> r.Part:
    answer = r.fetch(ctx, "prometheus", "query_range",
                     {"query": alerts_query(), "start": _rfc3339(ctx.since), "end": _rfc3339(ctx.now),
                      "step": str(STEP_SECONDS)})
    series = _matrix(answer, "Prometheus query_range")
    window = max((ctx.now - ctx.since).total_seconds(), STEP_SECONDS)
    heartbeat = [s for s in series if s[0].get("alertname") == HEARTBEAT]
    if not heartbeat:
        return r.unassessed("node alerts", f"the store holds no {HEARTBEAT} alert for the week, so it does not hold "
                                           "the cluster's alerts: its remote write has stopped or drops ALERTS "
                                           "(docs/runbooks/monitoring-data-missing.md)")
    beats = {round(ts) for _, values in heartbeat for ts, _ in values}
    coverage = min(1.0, len(beats) * STEP_SECONDS / window)
    rows, statuses = [], []
    end = ctx.now.timestamp()
    for labels, values in series:
        name = labels.get("alertname", "")
        if name == HEARTBEAT or not values:
            continue
        if name == PRESSURE_ALERT and labels.get("condition") != PRESSURE_CONDITION:
            continue
        first, last = values[0][0], values[-1][0]
        firing = last >= end - 2 * STEP_SECONDS
        status = ACTION_NEEDED if firing else ATTENTION
        hours = len(values) * STEP_SECONDS / 3600
        when = (f"from {dt.datetime.fromtimestamp(first, dt.timezone.utc):%a %d %H:%M} to "
                f"{dt.datetime.fromtimestamp(last, dt.timezone.utc):%a %d %H:%M} UTC")
        figure = (f"{_target(labels)}, severity {labels.get('severity', '?')}: firing about {hours:.1f} h {when}"
                  + (", still firing" if firing else ", resolved"))
        rows.append(Finding(name=name, figure=figure, status=status))
        statuses.append(status)
    still = sum(1 for row in rows if row.status == ACTION_NEEDED)
    figure = (f"{len(rows)} disk or filesystem alert(s) this week, {still} still firing" if rows
              else "no disk-pressure or filesystem alert this week")
    figure += f" (alert history covers {100 * coverage:.0f} % of the week)"
    status = r.worst(statuses or [OK])
    if coverage < MIN_HEARTBEAT_COVERAGE:
        status = r.worst([status, ATTENTION])
        rows.append(Finding(name=HEARTBEAT, status=ATTENTION,
                            figure=f"the store has the cluster's alerts for only {100 * coverage:.0f} % of the week: "
                                   "alerts in the gaps are not seen"))
    if not rows:
        rows = [Finding(name="node alerts", figure=figure, status=OK)]
    rows.sort(key=lambda row: (row.status != ACTION_NEEDED, row.name, row.figure))
    return r.Part(name="node alerts", status=status, figure=figure, rows=tuple(rows))


def _target(labels: Mapping[str, str]) -> str:
    where = labels.get("node") or labels.get("instance") or ""
    if labels.get("persistentvolumeclaim"):
        where = f"{labels.get('namespace', '?')}/{labels['persistentvolumeclaim']}"
    detail = [labels[k] for k in ("condition", "mountpoint", "device") if labels.get(k)]
    return where + (f" ({', '.join(detail)})" if detail else "") if where else "(no node label)"


def _matrix(answer: Any, where: str) -> list[tuple[dict, list[tuple[float, str]]]]:
    """A query API answer of resultType `matrix`: (labels, [(time, value)]) per series."""
    if r.field(answer, "status", str, where) != "success":
        raise r.Malformed(f"{where}.status is {answer.get('status')!r}, not 'success'")
    data = r.field(answer, "data", dict, where)
    kind = r.field(data, "resultType", str, f"{where}.data")
    if kind != "matrix":
        raise r.Malformed(f"{where}.data.resultType is {kind!r}, expected 'matrix'")
    out = []
    for i, item in enumerate(r.field(data, "result", list, f"{where}.data")):
        at = f"{where}.data.result[{i}]"
        labels = r.field(item, "metric", dict, at)
        values = []
        for j, pair in enumerate(r.field(item, "values", list, at)):
            if (not isinstance(pair, list) or len(pair) != 2 or isinstance(pair[0], bool)
                    or not isinstance(pair[0], (int, float)) or not isinstance(pair[1], str)):
                raise r.Malformed(f"{at}.values[{j}] is not a [time, \"value\"] pair")
            values.append((float(pair[0]), pair[1]))
        out.append(({str(k): str(v) for k, v in labels.items()}, sorted(values)))
    return out


# --- error logs -------------------------------------------------------------------------------------

def error_logs(ctx: Context) -> r.Part:
    window = max(int((ctx.now - ctx.since).total_seconds()), 60)
    end = _rfc3339(ctx.now)
    counted = r.fetch(ctx, "loki", "query_range", {"query": count_query(window), "start": end, "end": end,
                                                   "step": "60"})
    per_app = collections.Counter()
    for labels, values in _matrix(counted, "Loki query_range (count)"):
        if values:
            try:
                per_app[labels.get("app") or "(no app label)"] += int(float(values[-1][1]))
            except ValueError:
                raise r.Malformed(f"Loki query_range (count): value {values[-1][1]!r} is not a number") from None
    total = sum(per_app.values())
    if total == 0:
        figure = "no error line in the week"
        return r.Part(name="error logs", status=OK, figure=figure,
                      rows=(Finding(name="error logs", figure=figure, status=OK),))
    lines = r.fetch(ctx, "loki", "query_range", {"query": log_query(), "start": _rfc3339(ctx.since), "end": end,
                                                 "limit": str(LOG_LIMIT), "direction": "backward"})
    patterns, read = top_patterns(_streams(lines, "Loki query_range (lines)"))
    apps = ", ".join(f"{app} {n:,}" for app, n in per_app.most_common())
    figure = f"{total:,} error line(s) ({apps}); {len(patterns)} top pattern(s) of the newest {read:,}"
    rows = [Finding(name=f"{app}: {count:,}x", figure=pattern, status=ATTENTION)
            for (app, pattern), count in patterns]
    return r.Part(name="error logs", status=ATTENTION, figure=figure,
                  rows=tuple(rows) or (Finding(name="error logs", figure=figure, status=ATTENTION),))


def _streams(answer: Any, where: str) -> Iterable[tuple[str, str]]:
    """(app, line) of a Loki answer of resultType `streams`."""
    if r.field(answer, "status", str, where) != "success":
        raise r.Malformed(f"{where}.status is {answer.get('status')!r}, not 'success'")
    data = r.field(answer, "data", dict, where)
    kind = r.field(data, "resultType", str, f"{where}.data")
    if kind != "streams":
        raise r.Malformed(f"{where}.data.resultType is {kind!r}, expected 'streams'")
    out = []
    for i, item in enumerate(r.field(data, "result", list, f"{where}.data")):
        at = f"{where}.data.result[{i}]"
        labels = r.field(item, "stream", dict, at)
        app = str(labels.get("app") or labels.get("k8s_container_name") or "(no app label)")
        for j, entry in enumerate(r.field(item, "values", list, at)):
            if not isinstance(entry, list) or len(entry) < 2 or not all(isinstance(x, str) for x in entry[:2]):
                raise r.Malformed(f"{at}.values[{j}] is not a [\"time\", \"line\"] pair")
            out.append((app, entry[1]))
    return out


def top_patterns(lines: Iterable[tuple[str, str]], n: int = TOP_PATTERNS):
    counts: collections.Counter = collections.Counter()
    read = 0
    for app, line in lines:
        read += 1
        counts[(app, pattern(line))] += 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ranked[:n], read


# Credentials first (they may hold digits the later rules would only half replace), then what
# varies from one occurrence of an error to the next.
_RULES = [
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 <redacted>"),
    (re.compile(r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|apikey|authorization|auth)"
                r"(\"?\s*[:=]\s*\"?)[^\s\"',;&)\]}]+"), r"\1\2<redacted>"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "<jwt>"),
    (re.compile(r"\b([a-z][a-z0-9+.-]*://)[^/\s@]*@"), r"\1<redacted>@"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"), "<time>"),
    (re.compile(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<uuid>"),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "<email>"),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"), "<ip>"),
    # A Deployment's pod: <name>-<replica set hash>-<5 characters>.
    (re.compile(r"\b([a-z][a-z0-9-]*?)-[a-z0-9]{6,10}-[a-z0-9]{5}\b"), r"\1-<pod>"),
    (re.compile(r"(?i)\b(?:0x)?(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b"), "<hex>"),
    (re.compile(r"(?<![<\w])[-+]?\d+(?:\.\d+)?(?:ms|s|m|h|%|[KMG]i?B)?\b"), "<n>"),
]
_MESSAGE_KEYS = ("msg", "message", "error", "err")


def pattern(line: str) -> str:
    """The line with what varies replaced, so one error repeated is one pattern; a JSON line is
    reduced to its message (and error) first."""
    text = line.strip()
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            parts = [str(doc[k]) for k in _MESSAGE_KEYS if isinstance(doc.get(k), (str, int, float)) and doc.get(k) != ""]
            if parts:
                text = ": ".join(dict.fromkeys(parts))
    for rule, replacement in _RULES:
        text = rule.sub(replacement, text)
    text = " ".join(text.split())
    return text if len(text) <= PATTERN_CHARS else text[:PATTERN_CHARS - 3] + "..."
