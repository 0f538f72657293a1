"""Observability: SLOs, alert routing, retention here and in the long-term store,
replicas and cache sizes that fit the stack's nodes, runbook links."""
from __future__ import annotations

from dataclasses import dataclass

from leadgen.config.base import Key, Values
from leadgen.observability import SpecError
from leadgen.config.validate import prometheus_duration_ms
from leadgen.observability.alertmanager import MONTHS, WEEKDAYS, AlertingSettings, MaintenanceWindow, parse_windows
from leadgen.observability.durations import parse_duration
from leadgen.observability.runbooks import DEFAULT_BASE_URL
from leadgen.observability.slo import SLO, parse_slos

DEFAULT_SLOS = [
    {"name": "api-availability", "service": "api", "objective": 99.9, "window": "28d", "sli": "availability"},
    {"name": "api-latency", "service": "api", "objective": 99, "window": "28d", "sli": "latency", "threshold": 0.5},
]

KEYS = [
    Key("observability.slos", "objects", DEFAULT_SLOS, "SLOs: list of {name, service, objective "
        "(percent, below 100), window (e.g. 28d), sli (availability|latency), threshold (seconds, "
        "latency only)}; each gets recording rules and SLOViolation* burn-rate alerts."),
    Key("observability.runbookBaseUrl", "string", DEFAULT_BASE_URL, "Base URL of docs/runbooks/ "
        "in this repository; every alert's runbook_url is <base>/<file>.md."),
    Key("observability.prometheusRetention", "string", "15d", "How long Prometheus keeps samples."),
    Key("observability.prometheusStorageGb", "integer", 100, "Prometheus volume size, GiB."),
    Key("observability.lokiRetention", "string", "720h", "How long Loki keeps logs (S3, KMS)."),
    Key("observability.traceRetention", "string", "336h", "How long Tempo keeps traces (S3, KMS)."),
    Key("observability.slackChannel", "string", "#alerts", "Slack channel for ticket alerts."),
    Key("observability.alertEmails", "array", ["sre-team@insurance-lead-gen.com"],
        "Addresses that receive ticket alerts by e-mail.", items="string"),
    Key("observability.alertEmailFrom", "string", "alertmanager@insurance-lead-gen.com",
        "Sender of alert e-mails."),
    Key("observability.smtpSmarthost", "string", "email-smtp.us-east-1.amazonaws.com:587",
        "SMTP relay host:port (SES); its password comes from Secrets Manager."),
    Key("observability.longTermRetentionDays", "integer", 400, "Days Amazon Managed Service for "
        "Prometheus keeps the remote-written series (at least a year; the store allows up to 1095)."),
    Key("observability.replicas", "integer", 2, "Replicas of Prometheus, Alertmanager (clustered), "
        "Grafana and the OpenTelemetry Collector; 2 survives a node loss, 1 fits a small dev cluster."),
    Key("observability.lokiChunksCacheMb", "integer", 2048, "Memory of Loki's chunks cache "
        "(memcached), MiB; the chart's default of 8192 fits no m6i.large node."),
    Key("observability.lokiResultsCacheMb", "integer", 512, "Memory of Loki's results cache "
        "(memcached), MiB."),
    Key("observability.maintenanceWindows", "objects", [], "Declared maintenance windows that mute "
        "alerts: list of {name, weekdays, start, end (HH:MM), daysOfMonth, months, years, location, "
        "severities (page|ticket, default ticket only: a change window is when outages happen)}."),
]


@dataclass(frozen=True)
class ObservabilityConfig:
    slos: tuple[SLO, ...]
    runbook_base_url: str
    prometheus_retention: str
    prometheus_storage_gb: int
    loki_retention: str
    trace_retention: str
    alerting: AlertingSettings
    maintenance_windows: tuple[MaintenanceWindow, ...]
    long_term_retention_days: int = 400
    replicas: int = 2
    loki_chunks_cache_mb: int = 2048
    loki_results_cache_mb: int = 512

    # Secrets Manager names, beside the runbook's `insurance-lead-gen/<stack>/database`.
    def grafana_secret(self, stack: str) -> str:
        return f"insurance-lead-gen/{stack}/grafana-admin"

    def alertmanager_secret(self, stack: str) -> str:
        return f"insurance-lead-gen/{stack}/alertmanager-receivers"

    def grafana_database_secret(self, stack: str) -> str:
        return f"insurance-lead-gen/{stack}/grafana-database"

    def postgres_monitoring_secret(self, stack: str) -> str:
        return f"insurance-lead-gen/{stack}/postgres-monitoring"


# The longest SLO window: the long-term store's rule engine evaluates a range this long every
# minute; a quarter is the longest window SLO practice uses.
MAX_SLO_WINDOW_MS = 90 * 86400 * 1000
# EBS gp3 volumes stop at 16 TiB.
MAX_VOLUME_GB = 16384


def _check_slo_windows(values: Values, items: list) -> None:
    """Each window as promtool parses it, and bounded, before the rules are generated from it."""
    for i, item in enumerate(items):
        window = item.get("window") if isinstance(item, dict) else None
        if window is None:
            continue
        where = f"observability.slos[{i}].window"
        ms = prometheus_duration_ms(window) if isinstance(window, str) else None
        if ms is None:
            raise values.error(where, f"({_brief(window)}) is not a duration, e.g. 28d")
        if ms > MAX_SLO_WINDOW_MS:
            raise values.error(where, f"({_brief(window)}) must be at most 90d")


def _check_intervals(values: Values, items: list) -> None:
    """What amtool refuses in a time interval and the window parser lets through: day 0, and
    ranges that end before they start (`31:1`, `friday:monday`, `2027:2026`)."""
    order = {**{d: i for i, d in enumerate(WEEKDAYS)}, **{m: i for i, m in enumerate(MONTHS)}}
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        for field_ in ("daysOfMonth", "years", "weekdays", "months"):
            if field_ not in item:
                continue
            where = f"observability.maintenanceWindows[{i}].{field_}"
            entries = item[field_] if isinstance(item[field_], list) else [item[field_]]
            for entry in entries:
                text = str(entry).strip().lower()
                parts = text.split(":")
                if len(parts) > 2 or any(len(p) > 12 for p in parts):
                    raise values.error(where, f"({_brief(entry)}) must be a value or a range a:b")
                if field_ in ("weekdays", "months"):
                    if all(p in order for p in parts) and order[parts[0]] > order[parts[-1]]:
                        raise values.error(where, f"({_brief(entry)}) ends before it starts")
                    continue
                try:
                    numbers = [int(p) for p in parts]
                except ValueError:
                    continue  # the window parser names what is wrong with it
                if field_ == "daysOfMonth":
                    if 0 in numbers:
                        raise values.error(where, f"({_brief(entry)}) holds day 0: days run 1 to 31, or -1 (the last) to -31")
                    # amtool counts a negative day from the month's end (-1 is the 31st at most).
                    begin, end = (n if n > 0 else 32 + n for n in (numbers[0], numbers[-1]))
                else:
                    begin, end = numbers[0], numbers[-1]
                if begin > end:
                    raise values.error(where, f"({_brief(entry)}) ends before it starts")


def _brief(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:24]}...{text[-8:]} ({len(text)} characters)"


def build(values: Values) -> ObservabilityConfig:
    _check_slo_windows(values, values.get("observability.slos"))
    _check_intervals(values, values.get("observability.maintenanceWindows"))
    try:
        slos = parse_slos(values.get("observability.slos"), "observability.slos")
        windows = parse_windows(values.get("observability.maintenanceWindows"),
                                "observability.maintenanceWindows")
    except SpecError as exc:
        raise values.error(exc.path, exc.message) from None
    for key in ("observability.prometheusRetention", "observability.lokiRetention",
                "observability.traceRetention"):
        text = values.get(key)
        if prometheus_duration_ms(text) is None:
            raise values.error(key, f"({_brief(text)}) is not a duration, e.g. 15d")
        try:
            parse_duration(text)
        except ValueError as exc:
            raise values.error(key, f"({text!r}) {exc}, e.g. 15d") from None
    url = values.get("observability.runbookBaseUrl")
    if not url.startswith("https://") or "/blob/" not in url or not url.rstrip("/").endswith("docs/runbooks"):
        raise values.error("observability.runbookBaseUrl",
                           f"({url!r}) must be an https repository URL ending in /blob/<ref>/docs/runbooks")
    size = values.get("observability.prometheusStorageGb")
    if not 10 <= size <= MAX_VOLUME_GB:
        raise values.error("observability.prometheusStorageGb",
                           f"({size}) must be between 10 and {MAX_VOLUME_GB} (the largest gp3 volume)")
    emails = values.get("observability.alertEmails")
    if not emails or any("@" not in e for e in emails):
        raise values.error("observability.alertEmails", f"({emails!r}) must list at least one e-mail address")
    channel = values.get("observability.slackChannel")
    if not channel.startswith("#"):
        raise values.error("observability.slackChannel", f"({channel!r}) must start with #")
    smarthost = values.get("observability.smtpSmarthost")
    host, _, port = smarthost.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise values.error("observability.smtpSmarthost", f"({smarthost!r}) must be host:port, e.g. email-smtp.us-east-1.amazonaws.com:587")
    days = values.get("observability.longTermRetentionDays")
    if not 365 <= days <= 1095:
        raise values.error("observability.longTermRetentionDays",
                           f"({days}) must be between 365 (a year of history) and 1095 (the store's maximum)")
    replicas = values.get("observability.replicas")
    if not 1 <= replicas <= 5:
        raise values.error("observability.replicas", f"({replicas}) must be between 1 and 5")
    caches = {}
    for key in ("observability.lokiChunksCacheMb", "observability.lokiResultsCacheMb"):
        mb = values.get(key)
        # The memcached pod asks for the cache plus 20 %; a node of the smallest group has 8 GiB.
        if not 64 <= mb <= 4096:
            raise values.error(key, f"({mb}) must be between 64 and 4096 MiB (it must fit one node with room to spare)")
        caches[key] = mb
    alerting = AlertingSettings(slack_channel=channel, email_to=tuple(emails),
                                email_from=values.get("observability.alertEmailFrom"),
                                smtp_smarthost=smarthost, maintenance_windows=windows)
    return ObservabilityConfig(slos, url.rstrip("/"), values.get("observability.prometheusRetention"),
                               size, values.get("observability.lokiRetention"),
                               values.get("observability.traceRetention"), alerting, windows,
                               long_term_retention_days=days, replicas=replicas,
                               loki_chunks_cache_mb=caches["observability.lokiChunksCacheMb"],
                               loki_results_cache_mb=caches["observability.lokiResultsCacheMb"])
