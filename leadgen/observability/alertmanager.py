"""The Alertmanager configuration: `page` (and the chart's `critical`) to PagerDuty, `ticket` (and
the chart's `warning`) to Slack and e-mail, the always-firing `Watchdog` to the heartbeat topic
whose CloudWatch alarm pages through PagerDuty when it stops arriving (components/heartbeat.py),
`info` to nobody (kept for the UI and inhibitions, as the chart
does). The chart's inhibition rules are kept, since this config replaces the chart's default.

Receiver secrets never appear here: the config names files (`*_file`, all accepted by
Alertmanager 0.25, checked by `amtool check-config`) in a Kubernetes Secret that External
Secrets syncs from Secrets Manager and the operator mounts under /etc/alertmanager/secrets/.
The SMTP user has no `*_file` field in any Alertmanager release, so the whole file is an External
Secrets template (`config_template`) that fills in the user from the same Secrets Manager entry;
everything else in it is this module's output, Alertmanager's own `{{ }}` templates escaped.
"""
from __future__ import annotations

import json
import re
import zoneinfo
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from leadgen.observability import SpecError
from leadgen.observability.platform_alerts import HIGH_API_ERROR_RATE
from leadgen.observability.slo import BURN_RATE_ALERTS

SEVERITIES = ("page", "ticket")
# slo_name splits the alerts of two SLOs of one service (both going blind at once) into two pages.
GROUP_BY = ("cluster", "service", "slo_name", "alertname")
# Maintenance windows mute tickets unless they name `page`: a change window is when outages
# happen, and a muted page is an outage nobody hears about.
DEFAULT_WINDOW_SEVERITIES = ("ticket",)
SECRET_NAME = "leadgen-alertmanager-receivers"
SECRET_DIR = f"/etc/alertmanager/secrets/{SECRET_NAME}"
# Keys of that Secret (and of the Secrets Manager JSON it is synced from).
PAGERDUTY_KEY = "pagerduty-routing-key"
SLACK_KEY = "slack-webhook-url"
SMTP_KEY = "smtp-password"
SMTP_USER_KEY = "smtp-username"
# Mounted as files beside the config.
RECEIVER_KEYS = (PAGERDUTY_KEY, SLACK_KEY, SMTP_KEY)
# The Secret the operator reads the whole configuration from (`alertmanager.yaml`).
CONFIG_SECRET = "leadgen-alertmanager-config"
CONFIG_KEY = "alertmanager.yaml"
# Where the SMTP user goes until External Secrets fills it in, and the template variable it reads.
SMTP_USER_SLOT = "${smtp-username}"
SMTP_USER_VAR = "smtp_username"
# Alert severities as kube-prometheus-stack's own rules write them, mapped onto the platform's.
CHART_SEVERITIES = {"critical": "page", "warning": "ticket"}

WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
WINDOW_FIELDS = ("name", "weekdays", "start", "end", "daysOfMonth", "months", "years", "location",
                 "severities")
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
_RANGE = re.compile(r"^(?P<a>-?\d+)(:(?P<b>-?\d+))?$")


@dataclass(frozen=True)
class MaintenanceWindow:
    """A declared maintenance window, as Alertmanager `time_intervals` spells it."""

    name: str
    interval: Mapping[str, Any]
    severities: tuple[str, ...] = DEFAULT_WINDOW_SEVERITIES


@dataclass(frozen=True)
class AlertingSettings:
    slack_channel: str = "#alerts"
    email_to: Sequence[str] = ("sre-team@insurance-lead-gen.com",)
    email_from: str = "alertmanager@insurance-lead-gen.com"
    smtp_smarthost: str = "email-smtp.us-east-1.amazonaws.com:587"
    maintenance_windows: Sequence[MaintenanceWindow] = field(default_factory=tuple)


# --- config ------------------------------------------------------------------------------------

def parse_windows(items: Sequence[Any], key: str = "observability.maintenanceWindows") -> tuple[MaintenanceWindow, ...]:
    """Validate declared maintenance windows; SpecError names `key[i].field`."""
    if not isinstance(items, (list, tuple)):
        raise SpecError(key, "must be a list of maintenance-window mappings")
    out: list[MaintenanceWindow] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        where = f"{key}[{index}]"
        if not isinstance(item, Mapping):
            raise SpecError(where, "must be a mapping with name, and weekdays or dates, and start/end")
        unknown = sorted(set(map(str, item)) - set(WINDOW_FIELDS))
        if unknown:
            raise SpecError(f"{where}.{unknown[0]}", f"is not a window field (allowed: {', '.join(WINDOW_FIELDS)})")
        name = item.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise SpecError(f"{where}.name", f"({name!r}) must be lower-case letters, digits and dashes")
        if name in seen:
            raise SpecError(f"{where}.name", f"({name!r}) is declared twice")
        seen.add(name)
        interval: dict[str, Any] = {}
        if "start" in item or "end" in item:
            start, end = item.get("start"), item.get("end")
            for f, v in (("start", start), ("end", end)):
                if not isinstance(v, str) or not _TIME.match(v):
                    raise SpecError(f"{where}.{f}", f"({v!r}) must be a time HH:MM (UTC unless location is set)")
            if start >= end:
                raise SpecError(f"{where}.end", f"({end!r}) must be after start ({start!r}); split a window that crosses midnight")
            interval["times"] = [{"start_time": start, "end_time": end}]
        if "weekdays" in item:
            interval["weekdays"] = _names(item["weekdays"], WEEKDAYS, f"{where}.weekdays")
        if "months" in item:
            interval["months"] = _names(item["months"], MONTHS, f"{where}.months")
        for f, target, low, high in (("daysOfMonth", "days_of_month", -31, 31), ("years", "years", 1970, 9999)):
            if f in item:
                interval[target] = _ranges(item[f], f"{where}.{f}", low, high)
        if not interval:
            raise SpecError(where, "must set at least one of start/end, weekdays, daysOfMonth, months, years")
        location = item.get("location", "UTC")
        if not isinstance(location, str) or not location:
            raise SpecError(f"{where}.location", "must be an IANA time zone such as Europe/London")
        try:
            zoneinfo.ZoneInfo(location)
        except (ValueError, KeyError, zoneinfo.ZoneInfoNotFoundError):
            raise SpecError(f"{where}.location", f"({location!r}) is not an IANA time zone") from None
        interval["location"] = location
        severities = item.get("severities", list(DEFAULT_WINDOW_SEVERITIES))
        if (not isinstance(severities, list) or not severities
                or any(s not in SEVERITIES for s in severities)):
            raise SpecError(f"{where}.severities", f"({severities!r}) must be a list of: {', '.join(SEVERITIES)}")
        out.append(MaintenanceWindow(name, interval, tuple(severities)))
    return tuple(out)


def _names(value: Any, allowed: Sequence[str], where: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    out = []
    for v in items:
        parts = str(v).lower().split(":")
        if len(parts) > 2 or any(p not in allowed for p in parts):
            raise SpecError(where, f"({v!r}) must be one of {', '.join(allowed)} or a range a:b")
        out.append(":".join(parts))
    return out


def _ranges(value: Any, where: str, low: int, high: int) -> list[str]:
    items = value if isinstance(value, list) else [value]
    out = []
    for v in items:
        match = _RANGE.match(str(v))
        if not match or not all(low <= int(x) <= high for x in match.groups()[::2] if x is not None):
            raise SpecError(where, f"({v!r}) must be a number or range a:b between {low} and {high}")
        out.append(str(v))
    return out


# --- the configuration ---------------------------------------------------------------------------

def _mutes(settings: AlertingSettings, severity: str) -> list[str]:
    return [w.name for w in settings.maintenance_windows if severity in w.severities]


def _route(receiver: str, severity: str, settings: AlertingSettings, **extra: Any) -> dict:
    both = "|".join([severity, *(c for c, s in CHART_SEVERITIES.items() if s == severity)])
    route: dict[str, Any] = {"receiver": receiver, "matchers": [f'severity=~"{both}"'], **extra}
    mutes = _mutes(settings, severity)
    if mutes:
        route["mute_time_intervals"] = mutes
    return route


SLO_PAGE = next(p.alert for p in BURN_RATE_ALERTS if p.severity == "page")

# One line that names what fired, for every receiver (PagerDuty's summary, Slack's title, the
# e-mail's subject). `.CommonAnnotations.summary` alone is empty as soon as the alerts of a group
# differ (both burn-rate pairs of an SLO, several nodes), and PagerDuty Events v2 refuses or
# mangles an event without a summary; so the line always starts with the status, the count and
# the alert name(s), then the common summary or, when there is none, each alert's own (its name
# when it has no summary). Alertmanager cuts PagerDuty's summary at 1024 characters.
TITLE = (
    "[{{ .Status | toUpper }}:{{ len .Alerts }}] "
    "{{ if .CommonLabels.alertname }}{{ .CommonLabels.alertname }}"
    "{{ else }}{{ range $i, $a := .Alerts }}{{ if $i }}, {{ end }}{{ $a.Labels.alertname }}{{ end }}{{ end }}"
    "{{ with .CommonLabels.slo_name }} {{ . }}{{ else }}{{ with .CommonLabels.service }} {{ . }}{{ end }}{{ end }}"
    ": {{ if .CommonAnnotations.summary }}{{ .CommonAnnotations.summary }}"
    "{{ else }}{{ range $i, $a := .Alerts }}{{ if $i }}; {{ end }}"
    "{{ or $a.Annotations.summary $a.Labels.alertname }}{{ end }}{{ end }}"
)
# One line per alert, so a grouped notification says which node, which window, which SLO.
DETAILS = ("{{ range .Alerts }}- {{ .Labels.alertname }}: {{ or .Annotations.summary .Annotations.description }}\n"
           "{{ with .Annotations.runbook_url }}  Runbook: {{ . }}\n{{ end }}{{ end }}")
RUNBOOK = "{{ or .CommonAnnotations.runbook_url (index .Alerts 0).Annotations.runbook_url }}"


@dataclass(frozen=True)
class HeartbeatTarget:
    """Where Alertmanager publishes Watchdog: an SNS topic, signed with the pod's IRSA role."""

    topic_arn: str
    region: str


def alertmanager_config(settings: AlertingSettings, heartbeat: HeartbeatTarget) -> dict:
    config: dict[str, Any] = {
        "global": {
            "resolve_timeout": "5m",
            "smtp_smarthost": settings.smtp_smarthost,
            "smtp_from": settings.email_from,
            "smtp_auth_username": SMTP_USER_SLOT,
            "smtp_auth_password_file": f"{SECRET_DIR}/{SMTP_KEY}",
            "smtp_require_tls": True,
        },
        "route": {
            # Anything without a known severity (the chart's own rules say warning/critical) is
            # at least seen: it falls through to the ticket receiver.
            "receiver": "ticket",
            "group_by": list(GROUP_BY),
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "12h",
            "routes": [
                # kube-prometheus-stack's always-firing Watchdog proves the whole alerting path
                # works; the heartbeat alarm pages when it stops arriving. Never muted.
                {"receiver": "heartbeat", "matchers": ['alertname="Watchdog"'], "group_wait": "0s",
                 "group_interval": "1m", "repeat_interval": "1m"},
                # The chart's inhibitor helper and its info alerts: seen in the UI, sent to nobody.
                {"receiver": "null", "matchers": ['alertname="InfoInhibitor"']},
                {"receiver": "null", "matchers": ['severity="info"']},
                _route("pagerduty", "page", settings, group_wait="10s", repeat_interval="1h"),
                _route("ticket", "ticket", settings),
            ],
        },
        "inhibit_rules": [
            # kube-prometheus-stack's own inhibitions (its default config, which this replaces).
            {"source_matchers": ['severity="critical"'], "target_matchers": ['severity=~"warning|info"'],
             "equal": ["namespace", "alertname"]},
            {"source_matchers": ['severity="warning"'], "target_matchers": ['severity="info"'],
             "equal": ["namespace", "alertname"]},
            {"source_matchers": ['alertname="InfoInhibitor"'], "target_matchers": ['severity="info"'],
             "equal": ["namespace"]},
            {"target_matchers": ['alertname="InfoInhibitor"']},
            # A page for an SLO already says everything its ticket would. `slo_name=~".+"` on
            # both sides: Alertmanager treats a label missing on both as equal, so without it
            # any page would silence every ticket in the cluster.
            {"source_matchers": ['severity="page"', 'slo_name=~".+"'],
             "target_matchers": ['severity="ticket"', 'slo_name=~".+"'],
             "equal": ["cluster", "slo_name"]},
            # A burning SLO already paged for the service; HighAPIErrorRate (the runbook's 5xx
            # above 5 %) would open a second incident for the same failure. It still pages for a
            # service whose SLO is not paging. `service=~".+"` for the same reason as above.
            {"source_matchers": [f'alertname="{SLO_PAGE}"', 'service=~".+"'],
             "target_matchers": [f'alertname="{HIGH_API_ERROR_RATE}"', 'service=~".+"'],
             "equal": ["cluster", "service"]},
        ],
        "receivers": [
            {"name": "null"},
            {"name": "heartbeat", "sns_configs": [{
                "topic_arn": heartbeat.topic_arn, "sigv4": {"region": heartbeat.region},
                "send_resolved": False, "subject": "Watchdog", "message": "{{ len .Alerts }} Watchdog"}]},
            {"name": "pagerduty", "pagerduty_configs": [{
                "routing_key_file": f"{SECRET_DIR}/{PAGERDUTY_KEY}",
                "send_resolved": True,
                "description": TITLE,
                "links": [{"href": RUNBOOK, "text": "Runbook"}],
            }]},
            {"name": "ticket",
             "slack_configs": [{
                 "api_url_file": f"{SECRET_DIR}/{SLACK_KEY}",
                 "channel": settings.slack_channel,
                 "send_resolved": True,
                 "title": TITLE,
                 "text": DETAILS,
             }],
             "email_configs": [{"to": ", ".join(settings.email_to), "send_resolved": True,
                                "headers": {"Subject": TITLE}}]},
        ],
    }
    if settings.maintenance_windows:
        config["time_intervals"] = [{"name": w.name, "time_intervals": [dict(w.interval)]}
                                    for w in settings.maintenance_windows]
    return config


# --- the External Secrets template ---------------------------------------------------------------
_USER_ACTION = f"{{{{ .{SMTP_USER_VAR} | toJson }}}}"
_ESCAPED_OPEN = '{{ "{{" }}'
_ACTIONS = re.compile(r"\{\{.*?\}\}")


def config_template(config: dict) -> str:
    """The configuration as an External Secrets (engine v2, Go text/template) template: every
    `{{` of Alertmanager's own templates becomes a literal, and the SMTP user's slot reads the
    synced value, JSON-quoted, which is a valid YAML scalar whatever the user contains."""
    from leadgen.observability.yamlout import dump

    text = dump(config).replace("{{", _ESCAPED_OPEN)
    slot = [line for line in text.splitlines() if SMTP_USER_SLOT in line]
    if len(slot) != 1:
        raise ValueError("the configuration must hold the SMTP user's slot exactly once")
    prefix = slot[0].split(SMTP_USER_SLOT)[0].rstrip("'\"")
    return text.replace(slot[0], prefix + _USER_ACTION)


def render_template(template: str, values: dict[str, str]) -> str:
    """What External Secrets writes for `config_template(...)` given the synced values (to check
    the result with amtool). Any action other than the two the template holds is refused."""
    def one(match: re.Match) -> str:
        if match.group(0) == _ESCAPED_OPEN:
            return "{{"
        if match.group(0) == _USER_ACTION:
            return json.dumps(values[SMTP_USER_VAR])
        raise ValueError(f"unexpected template action {match.group(0)}")

    return _ACTIONS.sub(one, template)


# --- the long-term store's Alertmanager ------------------------------------------------------------
# Amazon Managed Service for Prometheus runs the window's budget alerts and can only notify an SNS
# topic (https://docs.aws.amazon.com/prometheus/latest/userguide/AMP-alertmanager-receiver.html);
# the topic e-mails the ticket addresses. SNS subjects stop at 100 characters.
STORE_SUBJECT = "[{{ .Status | toUpper }}:{{ len .Alerts }}] {{ .CommonLabels.alertname }} {{ .CommonLabels.slo_name }}"


def store_alertmanager_config(topic_arn: str, region: str) -> dict:
    return {
        "route": {"receiver": "ticket", "group_by": ["slo_name", "alertname"],
                  "group_wait": "1m", "group_interval": "5m", "repeat_interval": "24h"},
        # An exhausted budget says everything the low one would.
        "inhibit_rules": [{"source_matchers": ['alertname="SLOErrorBudgetExhausted"'],
                           "target_matchers": ['alertname="SLOErrorBudgetLow"'], "equal": ["slo_name"]}],
        "receivers": [{"name": "ticket", "sns_configs": [{
            "topic_arn": topic_arn, "sigv4": {"region": region}, "send_resolved": True,
            "subject": STORE_SUBJECT, "message": TITLE + "\n\n" + DETAILS,
            "attributes": {"severity": "ticket"}}]}],
    }


def store_alertmanager_definition(topic_arn: str, region: str) -> str:
    """The workspace's Alertmanager definition: the configuration under `alertmanager_config`."""
    from leadgen.observability.yamlout import dump

    return dump({"alertmanager_config": dump(store_alertmanager_config(topic_arn, region))})
