"""The Alertmanager configuration, checked and routed by amtool (Alertmanager 0.25)."""
from __future__ import annotations

import pytest

from leadgen.observability import SpecError
from leadgen.observability.alertmanager import AlertingSettings, HeartbeatTarget, alertmanager_config, parse_windows
from leadgen.observability.yamlout import dump
from tests.observability.tools import run

WINDOWS = parse_windows([
    {"name": "weekly-db", "weekdays": ["sunday"], "start": "02:00", "end": "04:00"},
    {"name": "cr-2026-014", "years": [2026], "months": ["december"], "daysOfMonth": [15],
     "start": "02:00", "end": "03:00", "location": "Europe/London", "severities": ["ticket"]},
])
HEARTBEAT = HeartbeatTarget(topic_arn="arn:aws:sns:us-east-1:123456789012:leadgen-production-obs-heartbeat-watchdog",
                            region="us-east-1")
CONFIG = alertmanager_config(AlertingSettings(maintenance_windows=WINDOWS), HEARTBEAT)


@pytest.fixture(scope="module")
def config_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("am") / "alertmanager.yaml"
    path.write_text(dump(CONFIG))
    return path


def test_amtool_check_config_accepts_it(config_file):
    result = run("amtool", "check-config", str(config_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout and "6 inhibit rules" in result.stdout


def _declared_alerts() -> list[tuple[list[str], str]]:
    """Every alert the program declares, with the labels it fires with and the receiver its
    severity must reach."""
    from leadgen.observability.platform_alerts import PlatformAlertSettings, platform_rule_file
    from leadgen.observability.slo import parse_slos, slo_rule_file
    from leadgen.config.observability import DEFAULT_SLOS
    files = [slo_rule_file(parse_slos(DEFAULT_SLOS), "https://x/blob/main/docs/runbooks"),
             platform_rule_file(PlatformAlertSettings()),
             platform_rule_file(PlatformAlertSettings(suspect_severity="page"))]
    seen, out = set(), []
    for f in files:
        for g in f["groups"]:
            for r in g["rules"]:
                if "alert" not in r:
                    continue
                labels = [f"alertname={r['alert']}", *(f"{k}={v}" for k, v in sorted(r["labels"].items()))]
                if tuple(labels) not in seen:
                    seen.add(tuple(labels))
                    out.append((labels, {"page": "pagerduty", "ticket": "ticket"}[r["labels"]["severity"]]))
    return out


# kube-prometheus-stack's own rules: critical ones page, warnings open tickets, info notifies
# nobody, the Watchdog heartbeat goes to the dead man's switch.
CHART_ALERTS = [
    (["alertname=KubeAPIDown", "severity=critical"], "pagerduty"),
    (["alertname=PrometheusRuleFailures", "severity=critical", "namespace=monitoring"], "pagerduty"),
    (["alertname=AlertmanagerClusterDown", "severity=critical", "namespace=monitoring"], "pagerduty"),
    (["alertname=KubeletDown", "severity=critical"], "pagerduty"),
    (["alertname=TargetDown", "severity=warning", "namespace=production"], "ticket"),
    (["alertname=KubePodCrashLooping", "severity=warning", "namespace=production"], "ticket"),
    (["alertname=CPUThrottlingHigh", "severity=info", "namespace=production"], "null"),
    (["alertname=InfoInhibitor", "severity=none"], "null"),
    (["alertname=Watchdog", "severity=none"], "heartbeat"),
]


@pytest.mark.parametrize("labels, receiver", _declared_alerts() + CHART_ALERTS,
                         ids=lambda v: v[0] if isinstance(v, list) else v)
def test_amtool_routes_each_severity(config_file, labels, receiver):
    result = run("amtool", "config", "routes", "test", f"--config.file={config_file}",
                 f"--verify.receivers={receiver}", *labels)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receiver


def test_grouping_inhibition_and_mutes():
    route = CONFIG["route"]
    # Two SLOs of one service going blind at once are two pages, each with its own summary.
    assert route["group_by"] == ["cluster", "service", "slo_name", "alertname"]
    by_receiver = {r["receiver"]: r for r in route["routes"] if "mute_time_intervals" in r or r["receiver"] != "null"}
    # A window mutes pages only when it says so: outages happen during changes.
    assert "mute_time_intervals" not in by_receiver["pagerduty"]
    assert by_receiver["ticket"]["mute_time_intervals"] == ["weekly-db", "cr-2026-014"]
    # The dead man's switch is never muted: a silent heartbeat must mean a dead pipeline.
    assert "mute_time_intervals" not in by_receiver["heartbeat"]
    assert [i["name"] for i in CONFIG["time_intervals"]] == ["weekly-db", "cr-2026-014"]
    assert CONFIG["time_intervals"][1]["time_intervals"][0]["location"] == "Europe/London"
    chart = [i for i in CONFIG["inhibit_rules"] if not {"slo_name", "service"} & set(i.get("equal", []))]
    # kube-prometheus-stack's own four, unchanged.
    assert {"source_matchers": ['severity="critical"'], "target_matchers": ['severity=~"warning|info"'],
            "equal": ["namespace", "alertname"]} in chart
    assert {"target_matchers": ['alertname="InfoInhibitor"']} in chart and len(chart) == 4
    (inhibit,) = [i for i in CONFIG["inhibit_rules"] if "slo_name" in i.get("equal", [])]
    assert 'slo_name=~".+"' in inhibit["source_matchers"] and 'severity="page"' in inhibit["source_matchers"]
    assert 'severity="ticket"' in inhibit["target_matchers"] and "slo_name" in inhibit["equal"]


def test_the_heartbeat_is_an_sns_topic_signed_by_the_pods_role(tmp_path):
    """No vendor URL or credential: Watchdog goes to the declared topic, signed with SigV4 from
    Alertmanager's IRSA role; the topic's CloudWatch alarm pages when it goes quiet."""
    (sns,) = next(r for r in CONFIG["receivers"] if r["name"] == "heartbeat")["sns_configs"]
    assert sns["topic_arn"] == HEARTBEAT.topic_arn and sns["sigv4"] == {"region": "us-east-1"}
    assert "opsgenie" not in dump(CONFIG).lower()
    (route,) = [r for r in CONFIG["route"]["routes"] if r["receiver"] == "heartbeat"]
    # Every minute: the alarm counts minutes without one.
    assert route["repeat_interval"] == "1m" and route["group_interval"] == "1m"


def test_no_secret_in_the_configuration():
    text = dump(CONFIG)
    receivers = {r["name"]: r for r in CONFIG["receivers"]}
    assert receivers["pagerduty"]["pagerduty_configs"][0]["routing_key_file"].startswith("/etc/alertmanager/secrets/")
    assert receivers["ticket"]["slack_configs"][0]["api_url_file"].startswith("/etc/alertmanager/secrets/")
    assert receivers["ticket"]["slack_configs"][0]["channel"] == "#alerts"
    assert CONFIG["global"]["smtp_auth_password_file"].startswith("/etc/alertmanager/secrets/")
    for field in ("routing_key:", "service_key:", "api_url:", "smtp_auth_password:", "hooks.slack.com"):
        assert field not in text


def test_the_smtp_user_comes_from_the_secret_through_the_template(tmp_path):
    """Alertmanager has no file field for the SMTP user, so External Secrets renders the whole
    file: the user is read from the synced secret; Alertmanager's own templates survive."""
    from leadgen.observability.alertmanager import (SMTP_USER_SLOT, SMTP_USER_VAR, config_template,
                                                    render_template)
    import yaml
    assert CONFIG["global"]["smtp_auth_username"] == SMTP_USER_SLOT
    template = config_template(CONFIG)
    assert "smtp_auth_username: {{ .smtp_username | toJson }}" in template
    # A user that would break naive YAML is quoted.
    rendered = render_template(template, {SMTP_USER_VAR: 'AKIA: "odd" #user'})
    loaded = yaml.safe_load(rendered)
    assert loaded["global"]["smtp_auth_username"] == 'AKIA: "odd" #user'
    loaded["global"]["smtp_auth_username"] = SMTP_USER_SLOT
    assert loaded == yaml.safe_load(dump(CONFIG))  # everything else unchanged, {{ }} included
    path = tmp_path / "am.yaml"
    path.write_text(rendered)
    assert run("amtool", "check-config", str(path)).returncode == 0
    with pytest.raises(ValueError):
        render_template(template + "{{ .other }}", {SMTP_USER_VAR: "u"})


def test_without_windows_there_are_no_mutes(tmp_path):
    config = alertmanager_config(AlertingSettings(), HEARTBEAT)
    assert "time_intervals" not in config
    assert all("mute_time_intervals" not in r for r in config["route"]["routes"])
    path = tmp_path / "am.yaml"
    path.write_text(dump(config))
    assert run("amtool", "check-config", str(path)).returncode == 0


@pytest.mark.parametrize("window, key, words", [
    ({"name": "x", "start": "25:00", "end": "26:00"}, "[0].start", "HH:MM"),
    ({"name": "x", "start": "04:00", "end": "02:00"}, "[0].end", "after start"),
    ({"name": "x", "weekdays": ["funday"]}, "[0].weekdays", "sunday"),
    ({"name": "x", "weekdays": ["sunday"], "location": "Mars/Olympus"}, "[0].location", "IANA"),
    ({"name": "x"}, "[0]", "at least one"),
    ({"name": "Bad Name", "weekdays": ["sunday"]}, "[0].name", "lower-case"),
    ({"name": "x", "weekdays": ["sunday"], "severities": ["urgent"]}, "[0].severities", "page, ticket"),
    ({"name": "x", "weekday": ["sunday"]}, "[0].weekday", "not a window field"),
])
def test_bad_windows_name_the_field(window, key, words):
    with pytest.raises(SpecError) as err:
        parse_windows([window])
    assert err.value.path == "observability.maintenanceWindows" + key
    assert words in err.value.message


def test_duplicate_window_names_are_rejected():
    with pytest.raises(SpecError) as err:
        parse_windows([{"name": "a", "weekdays": ["sunday"]}, {"name": "a", "weekdays": ["monday"]}])
    assert err.value.path == "observability.maintenanceWindows[1].name"


def test_a_window_mutes_pages_only_when_it_names_them():
    (default, paged) = parse_windows([
        {"name": "release", "weekdays": ["tuesday"], "start": "10:00", "end": "12:00"},
        {"name": "dc-move", "years": [2027], "months": ["march"], "daysOfMonth": [6], "severities": ["page", "ticket"]},
    ])
    assert default.severities == ("ticket",) and paged.severities == ("page", "ticket")
    routes = {r["receiver"]: r for r in alertmanager_config(AlertingSettings(
        maintenance_windows=(default,)), HEARTBEAT)["route"]["routes"]}
    assert "mute_time_intervals" not in routes["pagerduty"]
    assert routes["ticket"]["mute_time_intervals"] == ["release"]


def test_the_long_term_stores_alertmanager_tickets_through_sns(tmp_path):
    """Amazon Managed Prometheus notifies SNS only: the budget tickets go to the topic (which
    e-mails the ticket addresses), named and counted like every other notification."""
    import yaml
    from leadgen.observability.alertmanager import TITLE, store_alertmanager_definition
    topic = "arn:aws:sns:us-east-1:123456789012:leadgen-production-amp-alerts"
    definition = yaml.safe_load(store_alertmanager_definition(topic, "us-east-1"))
    config = yaml.safe_load(definition["alertmanager_config"])
    (receiver,) = config["receivers"]
    (sns,) = receiver["sns_configs"]
    assert sns["topic_arn"] == topic and sns["sigv4"] == {"region": "us-east-1"}
    assert sns["message"].startswith(TITLE)
    path = tmp_path / "store.yaml"
    path.write_text(definition["alertmanager_config"])
    result = run("amtool", "check-config", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    for alert in ("SLOErrorBudgetLow", "SLOErrorBudgetExhausted", "SLORemoteWriteGap"):
        routed = run("amtool", "config", "routes", "test", f"--config.file={path}", "--verify.receivers=ticket",
                     f"alertname={alert}", "slo_name=api-availability", "severity=ticket")
        assert routed.returncode == 0, routed.stdout + routed.stderr
