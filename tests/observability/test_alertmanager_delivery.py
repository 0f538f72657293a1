"""What a person receives: a real Alertmanager (Debian's prometheus-alertmanager, the version
amtool checks against) runs the configuration External Secrets writes, with loopback stand-ins
for PagerDuty, Slack, the SMTP relay and the heartbeat, and is sent groups of differing alerts.

Every notification must say what fired and how many, whatever the grouping: PagerDuty Events v2
refuses an event without a summary, and a Slack title or e-mail subject that names nothing is
read as noise at 3 a.m.
"""
from __future__ import annotations

import re

import pytest
import yaml

from leadgen.observability.alertmanager import (SMTP_USER_VAR, AlertingSettings, HeartbeatTarget,
                                                alertmanager_config, config_template, render_template)
from tests.observability.receivers import alertmanager, alerts_in, post_alerts

CLUSTER = "leadgen-production"


def _alert(name: str, severity: str, summary: str | None = None, **labels: str) -> dict:
    annotations = {"runbook_url": f"https://runbooks.example/{name}.md"}
    if summary is not None:
        annotations["summary"] = summary
    return {"labels": {"alertname": name, "severity": severity, "cluster": CLUSTER, **labels},
            "annotations": annotations}


def _burn(pair: str) -> dict:
    long_window, short_window = pair.split("/")
    return _alert("SLOViolationCritical", "page",
                  f"SLO api-availability (api) is spending its error budget fast over {long_window} and {short_window}",
                  slo_name="api-availability", service="api", long_window=long_window, short_window=short_window)


ALERTS = [
    # The 1h and 6h page pairs of one SLO fire together: one group, two summaries.
    _burn("1h/5m"), _burn("6h/30m"),
    # Both SLOs of one service go blind at once: two pages, one per SLO.
    _alert("SLOSignalMissing", "page", "SLO api-availability has no data", slo_name="api-availability", service="api"),
    _alert("SLOSignalMissing", "page", "SLO api-latency has no data", slo_name="api-latency", service="api"),
    # Several nodes at once.
    _alert("NodeNotReady", "page", "Node ip-10-0-1-1 is not Ready", service="kubernetes", node="ip-10-0-1-1"),
    _alert("NodeNotReady", "page", "Node ip-10-0-2-2 is not Ready", service="kubernetes", node="ip-10-0-2-2"),
    # A chart alert with no summary at all.
    _alert("KubeAPIDown", "critical"),
    # Tickets: two pods crash-looping.
    _alert("PodCrashLooping", "ticket", "Pod production/api-1 (api) is crash-looping", service="kubernetes", pod="api-1"),
    _alert("PodCrashLooping", "ticket", "Pod production/api-2 (api) is crash-looping", service="kubernetes", pod="api-2"),
    # The SLO page for backend covers its 5xx: HighAPIErrorRate must not open a second incident.
    _alert("SLOViolationCritical", "page", "SLO backend-availability (backend) is spending its error budget fast",
           slo_name="backend-availability", service="backend", long_window="1h", short_window="5m"),
    _alert("HighAPIErrorRate", "page", "backend answers more than 5 % of requests with 5xx", service="backend"),
    # ... but pages for a service with no SLO page.
    _alert("HighAPIErrorRate", "page", "search answers more than 5 % of requests with 5xx", service="search"),
    _alert("Watchdog", "none", "An alert that should always be firing"),
]
PAGES = 7  # two burn pairs as one, two SLOSignalMissing, the nodes as one, KubeAPIDown, backend, search


@pytest.fixture(scope="module")
def delivered(tmp_path_factory):
    # What External Secrets writes into the Secret Alertmanager reads.
    heartbeat = HeartbeatTarget(topic_arn="arn:aws:sns:us-east-1:123456789012:heartbeat", region="us-east-1")
    rendered = render_template(config_template(alertmanager_config(AlertingSettings(), heartbeat)),
                               {SMTP_USER_VAR: "AKIAEXAMPLE"})
    with alertmanager(yaml.safe_load(rendered), tmp_path_factory.mktemp("am")) as (url, captured):
        post_alerts(url, ALERTS)
        captured.wait_for(lambda c: len(c.of("pagerduty")) >= PAGES and c.of("slack") and c.of("email")
                          and c.of("heartbeat"))
        yield captured, alerts_in(url)


def _summaries(delivered) -> list[str]:
    captured, _ = delivered
    events = [e["json"] for e in captured.of("pagerduty")]
    assert all(e["event_action"] == "trigger" for e in events)
    return [e["payload"]["summary"] for e in events]


def _one(summaries: list[str], pattern: str) -> str:
    matching = [s for s in summaries if re.search(pattern, s)]
    assert len(matching) == 1, (pattern, summaries)
    return matching[0]


def test_every_page_has_a_summary_naming_the_alert_and_the_count(delivered):
    summaries = _summaries(delivered)
    assert len(summaries) == PAGES, summaries
    for summary in summaries:
        assert re.match(r"^\[FIRING:\d+\] [A-Za-z]+", summary), summary


def test_both_burn_pairs_of_one_slo_page_once_with_both_windows(delivered):
    summary = _one(_summaries(delivered), r"SLOViolationCritical api-availability")
    assert summary.startswith("[FIRING:2] SLOViolationCritical api-availability: ")
    assert "over 1h and 5m" in summary and "over 6h and 30m" in summary


def test_two_blind_slos_of_one_service_page_separately(delivered):
    summaries = _summaries(delivered)
    assert _one(summaries, r"SLOSignalMissing api-availability") == (
        "[FIRING:1] SLOSignalMissing api-availability: SLO api-availability has no data")
    assert _one(summaries, r"SLOSignalMissing api-latency") == (
        "[FIRING:1] SLOSignalMissing api-latency: SLO api-latency has no data")


def test_several_nodes_page_once_naming_each(delivered):
    summary = _one(_summaries(delivered), r"NodeNotReady")
    assert summary == ("[FIRING:2] NodeNotReady kubernetes: Node ip-10-0-1-1 is not Ready; "
                       "Node ip-10-0-2-2 is not Ready")


def test_an_alert_without_a_summary_still_says_what_fired(delivered):
    assert _one(_summaries(delivered), r"KubeAPIDown") == "[FIRING:1] KubeAPIDown: KubeAPIDown"


def test_high_api_error_rate_adds_no_second_incident_to_an_slo_page(delivered):
    summaries = _summaries(delivered)
    _one(summaries, r"SLOViolationCritical backend-availability")
    assert _one(summaries, r"HighAPIErrorRate").startswith("[FIRING:1] HighAPIErrorRate search: ")
    _, alerts = delivered
    (backend,) = [a for a in alerts if a["labels"]["alertname"] == "HighAPIErrorRate"
                  and a["labels"]["service"] == "backend"]
    assert backend["status"]["state"] == "suppressed" and backend["status"]["inhibitedBy"]


def test_tickets_reach_slack_and_email_with_a_complete_title(delivered):
    captured, _ = delivered
    (slack,) = [m["json"] for m in captured.of("slack")]
    (attachment,) = slack["attachments"]
    expected = ("[FIRING:2] PodCrashLooping kubernetes: Pod production/api-1 (api) is crash-looping; "
                "Pod production/api-2 (api) is crash-looping")
    assert attachment["title"] == expected
    assert "- PodCrashLooping: Pod production/api-1 (api) is crash-looping" in attachment["text"]
    assert slack["channel"] == "#alerts"
    (mail,) = captured.of("email")
    assert mail["subject"] == expected
    assert mail["to"] == "sre-team@insurance-lead-gen.com"


def test_the_watchdog_reaches_the_heartbeat_and_nothing_else(delivered):
    """An SNS Publish to the heartbeat topic, SigV4-signed (the pod's role in the cluster)."""
    captured, _ = delivered
    publish = captured.of("heartbeat")[0]
    assert publish["form"]["Action"] == ["Publish"]
    assert publish["form"]["TopicArn"] == ["arn:aws:sns:us-east-1:123456789012:heartbeat"]
    assert publish["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256 ")
    summaries = _summaries(delivered)
    assert not any("Watchdog" in s for s in summaries)
