"""Observability (issue 5): SLOs, alert routing, retention, runbook links."""
from __future__ import annotations

from dataclasses import dataclass

from leadgen.config.base import Key, Values
from leadgen.observability import SpecError
from leadgen.observability.alertmanager import AlertingSettings, MaintenanceWindow, parse_windows
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
    Key("observability.maintenanceWindows", "objects", [], "Declared maintenance windows that mute "
        "alerts: list of {name, weekdays, start, end (HH:MM), daysOfMonth, months, years, location, "
        "severities (page|ticket, default both)}."),
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

    # Secrets Manager names, beside the runbook's `insurance-lead-gen/<stack>/database`.
    def grafana_secret(self, stack: str) -> str:
        return f"insurance-lead-gen/{stack}/grafana-admin"

    def alertmanager_secret(self, stack: str) -> str:
        return f"insurance-lead-gen/{stack}/alertmanager-receivers"


def build(values: Values) -> ObservabilityConfig:
    try:
        slos = parse_slos(values.get("observability.slos"), "observability.slos")
        windows = parse_windows(values.get("observability.maintenanceWindows"),
                                "observability.maintenanceWindows")
    except SpecError as exc:
        raise values.error(exc.path, exc.message) from None
    for key in ("observability.prometheusRetention", "observability.lokiRetention",
                "observability.traceRetention"):
        text = values.get(key)
        try:
            parse_duration(text)
        except ValueError as exc:
            raise values.error(key, f"({text!r}) {exc}, e.g. 15d") from None
    url = values.get("observability.runbookBaseUrl")
    if not url.startswith("https://") or "/blob/" not in url or not url.rstrip("/").endswith("docs/runbooks"):
        raise values.error("observability.runbookBaseUrl",
                           f"({url!r}) must be an https repository URL ending in /blob/<ref>/docs/runbooks")
    size = values.get("observability.prometheusStorageGb")
    if size < 10:
        raise values.error("observability.prometheusStorageGb", f"({size}) must be at least 10")
    emails = values.get("observability.alertEmails")
    if not emails or any("@" not in e for e in emails):
        raise values.error("observability.alertEmails", f"({emails!r}) must list at least one e-mail address")
    channel = values.get("observability.slackChannel")
    if not channel.startswith("#"):
        raise values.error("observability.slackChannel", f"({channel!r}) must start with #")
    alerting = AlertingSettings(slack_channel=channel, email_to=tuple(emails),
                                email_from=values.get("observability.alertEmailFrom"),
                                smtp_smarthost=values.get("observability.smtpSmarthost"),
                                maintenance_windows=windows)
    return ObservabilityConfig(slos, url.rstrip("/"), values.get("observability.prometheusRetention"),
                               size, values.get("observability.lokiRetention"),
                               values.get("observability.traceRetention"), alerting, windows)
