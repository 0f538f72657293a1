"""Platform alerts, named as the runbook names them where it does (`HighAPIErrorRate`).

Each reads series an exporter the stack installs really exports (kube-state-metrics, cAdvisor
via the kubelet, postgres_exporter, cert-manager, the Pushgateway for backups; see
`catalog.SOURCE_SERIES`), carries `severity` (`page` or `ticket`, the two routes Alertmanager
knows), a `service` label to group by, a `summary`, and a `runbook_url` to a file in this repo.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from leadgen.observability import runbooks as rb
from leadgen.observability.catalog import SCRAPES, Scrape


HIGH_API_ERROR_RATE = "HighAPIErrorRate"


@dataclass(frozen=True)
class PlatformAlertSettings:
    runbook_base_url: str = rb.DEFAULT_BASE_URL
    # Namespaces whose pods the pod and memory alerts watch.
    namespaces: Sequence[str] = ("production", "governance", "monitoring")
    api_error_ratio: float = 0.05  # the runbook's HighAPIErrorRate: 5xx above 5 % for 5 minutes
    memory_limit_ratio: float = 0.9
    postgres_connection_ratio: float = 0.8
    volume_free_ratio: float = 0.15
    certificate_days: int = 21
    backup_max_age_hours: int = 26  # a daily backup plus two hours of slack
    verified_max_age_hours: int = 24  # the newest verified backup may be at most a day old
    # A backup that disagrees with the bucket's clock pages on protected stacks.
    suspect_severity: str = "ticket"
    # Sources whose targets must be up: the ones the stack declares a scrape for.
    sources: Mapping[str, Scrape] = field(default_factory=lambda: dict(SCRAPES))
    source_down_for: str = "10m"


def _alert(name: str, expr: str, for_: str, severity: str, summary: str, description: str,
           runbook: str, base: str, service: str | None = None, extra: dict | None = None) -> dict:
    labels = {"severity": severity}
    if service:
        labels["service"] = service
    labels.update(extra or {})
    rule = {"alert": name, "expr": expr}
    if for_:
        rule["for"] = for_
    rule["labels"] = labels
    rule["annotations"] = {"summary": summary, "description": description,
                           "runbook_url": rb.runbook_url(base, runbook)}
    return rule


def platform_rule_file(s: PlatformAlertSettings) -> dict:
    base = s.runbook_base_url
    ns = "|".join(s.namespaces)
    pct = lambda ratio: f"{ratio * 100:g} %"  # noqa: E731 - used in summaries only
    api = [
        _alert(HIGH_API_ERROR_RATE,
               'sum by (service) (rate(http_requests_total{code=~"5.."}[5m]))\n/\n'
               f"sum by (service) (rate(http_requests_total[5m]))\n> {s.api_error_ratio:g}",
               "5m", "page",
               f"{{{{ $labels.service }}}} answers more than {pct(s.api_error_ratio)} of requests with 5xx",
               "5xx ratio over 5 minutes is {{ $value | humanizePercentage }}.",
               rb.HIGH_API_ERROR_RATE, base),
    ]
    kubernetes = [
        _alert("PodCrashLooping",
               f'max_over_time(kube_pod_container_status_waiting_reason{{reason="CrashLoopBackOff",namespace=~"{ns}"}}[5m]) >= 1',
               "15m", "ticket",
               "Pod {{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) is crash-looping",
               "The container has been in CrashLoopBackOff for 15 minutes.",
               rb.POD_CRASH_LOOPING, base, service="kubernetes"),
        _alert("HighMemoryUsage",
               f'max by (namespace, pod, container) (container_memory_working_set_bytes{{namespace=~"{ns}",container!=""}})\n/\n'
               f'max by (namespace, pod, container) (kube_pod_container_resource_limits{{namespace=~"{ns}",resource="memory"}})\n'
               f"> {s.memory_limit_ratio:g}",
               "10m", "ticket",
               f"{{{{ $labels.namespace }}}}/{{{{ $labels.pod }}}} uses more than {pct(s.memory_limit_ratio)} of its memory limit",
               "Working set is {{ $value | humanizePercentage }} of the limit; the kernel kills it at 100 %.",
               rb.HIGH_MEMORY, base, service="kubernetes"),
        _alert("NodeNotReady",
               'kube_node_status_condition{condition="Ready",status="true"} == 0',
               "5m", "page",
               "Node {{ $labels.node }} is not Ready",
               "The kubelet has not reported Ready for 5 minutes; its pods are being evicted.",
               rb.NODE_NOT_READY, base, service="kubernetes"),
        _alert("PersistentVolumeFilling",
               "kubelet_volume_stats_available_bytes\n/\nkubelet_volume_stats_capacity_bytes\n"
               f"< {s.volume_free_ratio:g}",
               "10m", "ticket",
               f"Volume {{{{ $labels.namespace }}}}/{{{{ $labels.persistentvolumeclaim }}}} has less than {pct(s.volume_free_ratio)} free",
               "{{ $value | humanizePercentage }} of the volume is free.",
               rb.VOLUME_FILLING, base, service="kubernetes"),
        _alert("CertificateExpiringSoon",
               f"(certmanager_certificate_expiration_timestamp_seconds - time()) / 86400 < {s.certificate_days}",
               "1h", "ticket",
               f"Certificate {{{{ $labels.namespace }}}}/{{{{ $labels.name }}}} expires within {s.certificate_days} days",
               "cert-manager renews 30 days ahead by default, so renewal is failing; it expires in "
               '{{ $value | printf "%.1f" }} days.',
               rb.CERTIFICATE_EXPIRING, base, service="kubernetes"),
    ]
    database = [
        _alert("PostgresConnectionsNearMax",
               "sum by (instance) (pg_stat_activity_count)\n/\n"
               f"max by (instance) (pg_settings_max_connections)\n> {s.postgres_connection_ratio:g}",
               "5m", "ticket",
               f"PostgreSQL {{{{ $labels.instance }}}} uses more than {pct(s.postgres_connection_ratio)} of max_connections",
               "{{ $value | humanizePercentage }} of max_connections are in use; new connections fail at 100 %.",
               rb.POSTGRES_CONNECTIONS, base, service="postgres"),
    ]
    # The backup job pushes to the Pushgateway with job="pgbackup"; Prometheus scrapes
    # it with honor_labels so those labels survive.
    backup_sel = 'job="pgbackup",operation="backup"'
    age = s.backup_max_age_hours
    backup = [
        _alert("PgBackupMissing",
               f"(time() - max by (database) (pgbackup_last_success_timestamp_seconds{{{backup_sel}}})) / 3600 > {age}",
               "", "page",
               f"No successful backup of {{{{ $labels.database }}}} in {age} hours",
               'The last successful backup finished {{ $value | printf "%.1f" }} hours ago.',
               rb.BACKUP, base, service="backup"),
        # A backup that never reported at all has no series to age: alert once the whole
        # allowance has passed without one (also catches a Pushgateway that lost its state).
        _alert("PgBackupMissing",
               f"absent(pgbackup_last_success_timestamp_seconds{{{backup_sel}}})",
               f"{age}h", "page",
               f"No backup has reported a success in {age} hours",
               "Prometheus has no pgbackup_last_success_timestamp_seconds for operation=backup at all.",
               rb.BACKUP, base, service="backup", extra={"reason": "never-reported"}),
        _alert("PgBackupFailed",
               f"pgbackup_last_run_success{{{backup_sel}}} == 0",
               "", "ticket",
               "The last backup of {{ $labels.database }} failed",
               "The most recent pgbackup run reported failure; the next scheduled run may recover.",
               rb.BACKUP, base, service="backup"),
        _alert("PgBackupVerifyFailed",
               'pgbackup_last_run_success{job="pgbackup",operation="verify"} == 0',
               "", "page",
               "Restore verification of the {{ $labels.database }} backup failed",
               "The latest backup could not be restored and checked: treat it as unusable.",
               rb.BACKUP, base, service="backup"),
        _alert("PgBackupShrank",
               # A previous size of 0 divides to +Inf or NaN, neither of which is below 0.5.
               f"pgbackup_bytes{{{backup_sel}}}\n/\npgbackup_previous_bytes{{{backup_sel}}}\n< 0.5",
               "", "ticket",
               "The {{ $labels.database }} backup is less than half the size of the previous one",
               "The latest backup is {{ $value | humanizePercentage }} of the previous one; a sudden shrink often means lost data "
               "or a dump of the wrong database.",
               rb.BACKUP, base, service="backup"),
    ]
    verify_sel = 'job="pgbackup",operation="verify"'
    verified = s.verified_max_age_hours
    backup += [
        # The value is 0 when no backup was ever verified, which is older than any limit.
        _alert("PgBackupNotVerified",
               f"(time() - max by (database) (pgbackup_last_verified_backup_timestamp_seconds{{{verify_sel}}})) / 3600 > {verified}",
               "", "page",
               f"No verified backup of {{{{ $labels.database }}}} younger than {verified} hours",
               'The newest backup whose restore was verified is {{ $value | printf "%.1f" }} hours old; '
               "a restore today would rely on an unproven dump.",
               rb.BACKUP, base, service="backup"),
        _alert("PgBackupNotVerified",
               f"absent(pgbackup_last_verified_backup_timestamp_seconds{{{verify_sel}}})",
               f"{verified}h", "page",
               f"No restore verification has reported in {verified} hours",
               "Prometheus has no pgbackup_last_verified_backup_timestamp_seconds for operation=verify: "
               "the verify job never ran or never got as far as verifying.",
               rb.BACKUP, base, service="backup", extra={"reason": "never-reported"}),
        _alert("PgBackupSuspect",
               'max by (database) (pgbackup_suspect_backups{job="pgbackup"}) > 0',
               "", s.suspect_severity,
               "{{ $value }} backup(s) of {{ $labels.database }} disagree with the bucket",
               "A manifest's finish time disagrees with S3's LastModified, its dump was replaced after the "
               "manifest, or the manifest is unreadable: restore only from backups the TRUST column accepts.",
               rb.BACKUP, base, service="backup"),
    ]
    # One alert per scrape job (cAdvisor and the kubelet share the kubelet's).
    jobs: dict[str, list[str]] = {}
    for source, scrape in sorted(s.sources.items()):
        for job in scrape.jobs if scrape.watched else ():
            jobs.setdefault(job, []).append(source)
    sources = [
        _alert("MetricsSourceDown",
               f'absent(up{{job="{job}"}} == 1)',
               s.source_down_for, "ticket",
               f"No {job} target is up",
               f"Prometheus has no healthy target with job={job} for {s.source_down_for}: every alert, panel and SLO "
               f"that reads {', '.join(names)} series is blind.",
               rb.DATA_MISSING, base, service="monitoring", extra={"scrape_job": job})
        for job, names in sorted(jobs.items())
    ]
    return {"groups": [
        {"name": "leadgen-api", "rules": api},
        {"name": "leadgen-kubernetes", "rules": kubernetes},
        {"name": "leadgen-database", "rules": database},
        {"name": "leadgen-backup", "rules": backup},
        {"name": "leadgen-metrics-sources", "rules": sources},
    ]}
