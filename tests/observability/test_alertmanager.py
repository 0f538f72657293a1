"""The Alertmanager configuration, checked and routed by amtool (Alertmanager 0.25)."""
from __future__ import annotations

import pytest

from leadgen.observability import SpecError
from leadgen.observability.alertmanager import AlertingSettings, alertmanager_config, parse_windows
from leadgen.observability.yamlout import dump
from tests.observability.tools import run

WINDOWS = parse_windows([
    {"name": "weekly-db", "weekdays": ["sunday"], "start": "02:00", "end": "04:00"},
    {"name": "cr-2026-014", "years": [2026], "months": ["december"], "daysOfMonth": [15],
     "start": "02:00", "end": "03:00", "location": "Europe/London", "severities": ["ticket"]},
])
CONFIG = alertmanager_config(AlertingSettings(maintenance_windows=WINDOWS))


@pytest.fixture(scope="module")
def config_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("am") / "alertmanager.yaml"
    path.write_text(dump(CONFIG))
    return path


def test_amtool_check_config_accepts_it(config_file):
    result = run("amtool", "check-config", str(config_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout and "1 inhibit rules" in result.stdout


@pytest.mark.parametrize("labels, receiver", [
    (["severity=page", "service=api", "alertname=SLOViolationCritical", "slo_name=api-availability"], "pagerduty"),
    (["severity=page", "service=kubernetes", "alertname=NodeNotReady"], "pagerduty"),
    (["severity=ticket", "service=api", "alertname=SLOViolationWarning"], "ticket"),
    (["severity=ticket", "service=backup", "alertname=PgBackupShrank"], "ticket"),
    # The chart's own rules use warning/critical: they still reach people, as tickets.
    (["severity=critical", "alertname=KubeAPIDown"], "ticket"),
    (["severity=none", "alertname=Watchdog"], "null"),
])
def test_amtool_routes_each_severity(config_file, labels, receiver):
    result = run("amtool", "config", "routes", "test", f"--config.file={config_file}",
                 f"--verify.receivers={receiver}", *labels)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receiver


def test_grouping_inhibition_and_mutes():
    route = CONFIG["route"]
    assert route["group_by"] == ["cluster", "service", "alertname"]
    page, ticket = route["routes"][1], route["routes"][2]
    assert page["mute_time_intervals"] == ["weekly-db"]
    assert ticket["mute_time_intervals"] == ["weekly-db", "cr-2026-014"]
    assert [i["name"] for i in CONFIG["time_intervals"]] == ["weekly-db", "cr-2026-014"]
    assert CONFIG["time_intervals"][1]["time_intervals"][0]["location"] == "Europe/London"
    (inhibit,) = CONFIG["inhibit_rules"]
    assert 'slo_name=~".+"' in inhibit["source_matchers"] and 'severity="page"' in inhibit["source_matchers"]
    assert 'severity="ticket"' in inhibit["target_matchers"] and "slo_name" in inhibit["equal"]


def test_no_secret_in_the_configuration():
    text = dump(CONFIG)
    receivers = {r["name"]: r for r in CONFIG["receivers"]}
    assert receivers["pagerduty"]["pagerduty_configs"][0]["routing_key_file"].startswith("/etc/alertmanager/secrets/")
    assert receivers["ticket"]["slack_configs"][0]["api_url_file"].startswith("/etc/alertmanager/secrets/")
    assert receivers["ticket"]["slack_configs"][0]["channel"] == "#alerts"
    assert CONFIG["global"]["smtp_auth_password_file"].startswith("/etc/alertmanager/secrets/")
    for field in ("routing_key:", "service_key:", "api_url:", "smtp_auth_password:", "hooks.slack.com"):
        assert field not in text


def test_without_windows_there_are_no_mutes(tmp_path):
    config = alertmanager_config(AlertingSettings())
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
