"""Every platform alert fires on its condition and stays silent on a healthy input (promtool)."""
from __future__ import annotations

import pytest

from leadgen.observability.platform_alerts import PlatformAlertSettings, platform_rule_file
from tests.observability.tools import scoped, expected_alert, run, write

RULES = platform_rule_file(PlatformAlertSettings())
ALL_RULES = [r for g in RULES["groups"] for r in g["rules"]]
BACKUP = {"job": "pgbackup", "operation": "backup", "database": "leadgen"}
VERIFY = {**BACKUP, "operation": "verify"}


def rule(name: str, index: int = 0) -> dict:
    return [r for r in ALL_RULES if r["alert"] == name][index]


def _s(name: str, labels: dict, values: str) -> dict:
    body = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{body}}}", "values": values}


POD = {"namespace": "production", "pod": "api-7d9f", "container": "api"}
PVC = {"namespace": "production", "persistentvolumeclaim": "data-postgres-0"}

# name -> (input series, eval time, firing [(rule, alert labels from the series, $value)]),
# each paired with a healthy input that must fire nothing.
CASES = {
    "HighAPIErrorRate": (
        [_s("http_requests_total", {"service": "api", "code": "200"}, "0+940x20"),
         _s("http_requests_total", {"service": "api", "code": "503"}, "0+60x20")],
        [_s("http_requests_total", {"service": "api", "code": "200"}, "0+960x20"),
         _s("http_requests_total", {"service": "api", "code": "503"}, "0+40x20")],
        "10m", [(rule("HighAPIErrorRate"), {"service": "api"}, 0.06)],
    ),
    "PodCrashLooping": (
        [_s("kube_pod_container_status_waiting_reason", {**POD, "reason": "CrashLoopBackOff"}, "1x40")],
        [_s("kube_pod_container_status_waiting_reason", {**POD, "reason": "CrashLoopBackOff"}, "0x40")],
        "30m", [(rule("PodCrashLooping"), {**POD, "reason": "CrashLoopBackOff"}, 1)],
    ),
    "HighMemoryUsage": (
        [_s("container_memory_working_set_bytes", POD, "950x30"),
         _s("kube_pod_container_resource_limits", {**POD, "resource": "memory"}, "1000x30")],
        [_s("container_memory_working_set_bytes", POD, "850x30"),
         _s("kube_pod_container_resource_limits", {**POD, "resource": "memory"}, "1000x30")],
        "20m", [(rule("HighMemoryUsage"), POD, 0.95)],
    ),
    "NodeNotReady": (
        [_s("kube_node_status_condition", {"node": "ip-10-0-1-5", "condition": "Ready", "status": "true"}, "0x20")],
        [_s("kube_node_status_condition", {"node": "ip-10-0-1-5", "condition": "Ready", "status": "true"}, "1x20")],
        "10m", [(rule("NodeNotReady"), {"node": "ip-10-0-1-5", "condition": "Ready", "status": "true"}, 0)],
    ),
    "PersistentVolumeFilling": (
        [_s("kubelet_volume_stats_available_bytes", PVC, "10x30"), _s("kubelet_volume_stats_capacity_bytes", PVC, "100x30")],
        [_s("kubelet_volume_stats_available_bytes", PVC, "20x30"), _s("kubelet_volume_stats_capacity_bytes", PVC, "100x30")],
        "20m", [(rule("PersistentVolumeFilling"), PVC, 0.1)],
    ),
    "CertificateExpiringSoon": (
        # Expires 10 days after t=0; checked at 2h.
        [_s("certmanager_certificate_expiration_timestamp_seconds", {"namespace": "production", "name": "api-tls"}, "864000x150")],
        [_s("certmanager_certificate_expiration_timestamp_seconds", {"namespace": "production", "name": "api-tls"}, "2592000x150")],
        "2h", [(rule("CertificateExpiringSoon"), {"namespace": "production", "name": "api-tls"}, (864000 - 7200) / 86400)],
    ),
    "PostgresConnectionsNearMax": (
        [_s("pg_stat_activity_count", {"instance": "db:9187", "state": "active"}, "70x20"),
         _s("pg_stat_activity_count", {"instance": "db:9187", "state": "idle"}, "20x20"),
         _s("pg_settings_max_connections", {"instance": "db:9187"}, "100x20")],
        [_s("pg_stat_activity_count", {"instance": "db:9187", "state": "active"}, "50x20"),
         _s("pg_settings_max_connections", {"instance": "db:9187"}, "100x20")],
        "10m", [(rule("PostgresConnectionsNearMax"), {"instance": "db:9187"}, 0.9)],
    ),
    # Last success at t=0: silent at 25h (healthy input checked there), firing at 27h.
    "PgBackupMissing": (
        [_s("pgbackup_last_success_timestamp_seconds", BACKUP, "0x1700")],
        [_s("pgbackup_last_success_timestamp_seconds", BACKUP, "0x1700")],
        "27h", [(rule("PgBackupMissing"), {"database": "leadgen"}, 27.0)],
    ),
    "PgBackupMissing (never reported)": (
        [_s("up", {"job": "prometheus"}, "1x1600")],
        [_s("pgbackup_last_success_timestamp_seconds", BACKUP, "0+60x1600")],
        "26h1m", [(rule("PgBackupMissing", 1), {"job": "pgbackup", "operation": "backup"}, 1)],
    ),
    "PgBackupFailed": (
        [_s("pgbackup_last_run_success", BACKUP, "0x10")],
        [_s("pgbackup_last_run_success", BACKUP, "1x10")],
        "5m", [(rule("PgBackupFailed"), BACKUP, 0)],
    ),
    "PgBackupVerifyFailed": (
        [_s("pgbackup_last_run_success", VERIFY, "0x10")],
        [_s("pgbackup_last_run_success", VERIFY, "1x10")],
        "5m", [(rule("PgBackupVerifyFailed"), VERIFY, 0)],
    ),
    "PgBackupShrank": (
        [_s("pgbackup_bytes", BACKUP, "400x10"), _s("pgbackup_previous_bytes", BACKUP, "1000x10")],
        [_s("pgbackup_bytes", BACKUP, "900x10"), _s("pgbackup_previous_bytes", BACKUP, "1000x10")],
        "5m", [(rule("PgBackupShrank"), BACKUP, 0.4)],
    ),
    # Verified 25 hours before the evaluation (the timestamp is t=0): older than a day. The job
    # reports 0 when nothing was ever verified, the same input seen from today's clock.
    "PgBackupNotVerified": (
        [_s("pgbackup_last_verified_backup_timestamp_seconds", VERIFY, "0x1600")],
        [_s("pgbackup_last_verified_backup_timestamp_seconds", VERIFY, "0+60x1600")],
        "25h", [(rule("PgBackupNotVerified"), {"database": "leadgen"}, 25.0)],
    ),
    "PgBackupNotVerified (never reported)": (
        [_s("up", {"job": "prometheus"}, "1x1600")],
        [_s("pgbackup_last_verified_backup_timestamp_seconds", VERIFY, "0+60x1600")],
        "24h1m", [(rule("PgBackupNotVerified", 1), {"job": "pgbackup", "operation": "verify"}, 1)],
    ),
    "PgBackupSuspect": (
        [_s("pgbackup_suspect_backups", BACKUP, "2x10")],
        [_s("pgbackup_suspect_backups", BACKUP, "0x10")],
        "5m", [(rule("PgBackupSuspect"), {"database": "leadgen"}, 2)],
    ),
    # Every other source is up; only the exporter's target is down.
    "MetricsSourceDown": (
        [*(_s("up", {"job": r["labels"]["scrape_job"]}, "1x20") for r in ALL_RULES
           if r["alert"] == "MetricsSourceDown" and r["labels"]["scrape_job"] != "postgres-exporter"),
         _s("up", {"job": "postgres-exporter"}, "0x20")],
        [_s("up", {"job": r["labels"]["scrape_job"]}, "1x20") for r in ALL_RULES if r["alert"] == "MetricsSourceDown"],
        "15m", [(r, {}, 1) for r in ALL_RULES
                if r["alert"] == "MetricsSourceDown" and r["labels"]["scrape_job"] == "postgres-exporter"],
    ),
}
HEALTHY_EVAL = {"PgBackupMissing": "25h"}


@pytest.fixture(scope="module")
def rule_file(tmp_path_factory):
    return write(tmp_path_factory.mktemp("platform") / "platform-alerts.yaml", RULES)


def test_promtool_check_rules_accepts_the_platform_alerts(rule_file):
    result = run("promtool", "check", "rules", "--lint=all", "--lint-fatal", str(rule_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALL_RULES)} rules found" in result.stdout


def test_every_alert_has_a_case_and_the_runbook_names():
    assert {r["alert"] for r in ALL_RULES} == {c.split(" ")[0] for c in CASES}
    for r in ALL_RULES:
        assert r["labels"]["severity"] in ("page", "ticket"), r["alert"]
        assert r["annotations"]["summary"] and r["annotations"]["runbook_url"], r["alert"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_alert_fires_on_its_condition_and_not_when_healthy(case, tmp_path):
    firing_series, healthy_series, eval_time, firing = CASES[case]
    name = firing[0][0]["alert"]
    # Alerts of the same name from other rules in the file do not fire on these inputs either:
    # exp_alerts lists the complete set promtool must see.
    tests = [
        {"interval": "1m", "input_series": firing_series, "alert_rule_test": [
            {"eval_time": eval_time, "alertname": name,
             "exp_alerts": [expected_alert(r, labels, value) for r, labels, value in firing]}]},
        {"interval": "1m", "input_series": healthy_series, "alert_rule_test": [
            {"eval_time": HEALTHY_EVAL.get(case, eval_time), "alertname": name, "exp_alerts": []}]},
    ]
    # Only this alert and what it reads: the 27-hour cases evaluated every rule each minute.
    rules = write(tmp_path / "rules.yaml", scoped(RULES, {name}))
    test = {"rule_files": [str(rules)], "evaluation_interval": "1m", "tests": tests}
    result = run("promtool", "test", "rules", str(write(tmp_path / "test.yaml", test)))
    assert result.returncode == 0, f"{case}:\n{result.stdout}{result.stderr}"


def test_every_declared_source_is_watched_once_per_scrape_job():
    from leadgen import workloads as derived
    from leadgen.config import load
    from leadgen.observability.catalog import sources
    from platformctl.project import stack_config

    # Every workload of the stack is a source of its own (leadgen/workloads.py).
    scrapes = sources(derived.all_scrapes(load("leadgen", "production", stack_config("production")).workloads,
                                          canary_of="api"))
    rules = platform_rule_file(PlatformAlertSettings(sources=scrapes))
    jobs = [r["labels"]["scrape_job"] for g in rules["groups"] for r in g["rules"] if r["alert"] == "MetricsSourceDown"]
    assert len(jobs) == len(set(jobs))
    assert set(jobs) == {j for s in scrapes.values() if s.watched for j in s.jobs}
    assert {"api", "backend", "postgres-exporter", "cert-manager", "pushgateway-prometheus-pushgateway"} <= set(jobs)
    # The canary track may have no pods by design: not watched.
    assert "api-canary" not in jobs


def test_suspect_backups_page_on_protected_stacks():
    protected = platform_rule_file(PlatformAlertSettings(suspect_severity="page"))
    (suspect,) = [r for g in protected["groups"] for r in g["rules"] if r["alert"] == "PgBackupSuspect"]
    assert suspect["labels"]["severity"] == "page"
    assert rule("PgBackupSuspect")["labels"]["severity"] == "ticket"


def test_pg_backup_missing_waits_for_its_for_duration(tmp_path):
    # Nothing ever reported: the absent() rule holds its fire for the whole 26 h allowance.
    rules = write(tmp_path / "rules.yaml", scoped(RULES, {"PgBackupMissing"}))
    test = {"rule_files": [str(rules)], "evaluation_interval": "1m", "tests": [
        {"interval": "1m", "input_series": [_s("up", {"job": "prometheus"}, "1x1600")],
         "alert_rule_test": [{"eval_time": "25h", "alertname": "PgBackupMissing", "exp_alerts": []}]}]}
    result = run("promtool", "test", "rules", str(write(tmp_path / "test.yaml", test)))
    assert result.returncode == 0, result.stdout + result.stderr
