"""Certificates: days to expiry of every certificate, from cert-manager's
`certmanager_certificate_expiration_timestamp_seconds` in the SLO store, against the renewal
threshold the stack declares (`leadgen:traffic.certificateRenewBefore`: cert-manager re-issues
that long before expiry) and the `CertificateExpiringSoon` alert's.

ok: more than the renewal threshold left. attention: inside it (cert-manager should be renewing
now). action needed: at or inside the alert's threshold (renewal is failing), expired, or a
certificate the stack declares that cert-manager does not report.
"""
from __future__ import annotations

from platformctl.weekly.model import ACTION_NEEDED, ATTENTION, OK, Context, Finding, Section
from platformctl.weekly.promql import instant

KEY = "certificates"
TITLE = "Certificates"
METRIC = "certmanager_certificate_expiration_timestamp_seconds"
ACTION = "kubectl describe certificate api-tls -n production; docs/runbooks/certificate-expiring.md"


def assess(ctx: Context) -> Section:
    from leadgen.observability.durations import parse_duration
    from leadgen.observability.platform_alerts import PlatformAlertSettings
    from leadgen.traffic import TLS_SECRET

    renew_days = parse_duration(ctx.config.traffic.certificate_renew_before) / 86400
    alert_days = PlatformAlertSettings().certificate_days  # the threshold the stack's alert fires at
    series = instant(ctx.fetch, METRIC, ctx.now)
    rows, statuses = [], []
    seen = set()
    for labels, expires in sorted(series, key=lambda s: (s[0].get("namespace", ""), s[0].get("name", ""))):
        name = f"{labels.get('namespace', '?')}/{labels.get('name', '?')}"
        seen.add(labels.get("name"))
        if expires is None:
            rows.append(Finding(name=name, figure="no expiry reported", status=ACTION_NEEDED))
            statuses.append(ACTION_NEEDED)
            continue
        days = (expires - ctx.now.timestamp()) / 86400
        if days <= alert_days:
            status = ACTION_NEEDED
        elif days <= renew_days:
            status = ATTENTION
        else:
            status = OK
        when = "expired" if days < 0 else f"expires in {days:.1f} days"
        rows.append(Finding(name=name, figure=f"{when} (renewal from {renew_days:g} days, alert at {alert_days} days)",
                            status=status))
        statuses.append(status)
    if TLS_SECRET not in seen:
        rows.append(Finding(name=TLS_SECRET, figure=f"declared by the stack, but no {METRIC} series: cert-manager "
                                                    "does not report it", status=ACTION_NEEDED))
        statuses.append(ACTION_NEEDED)
    worst = max(statuses, key=(OK, ATTENTION, ACTION_NEEDED).index)
    timed = [r for r in rows if r.figure.startswith(("expires", "expired"))]
    soonest = min(((expires - ctx.now.timestamp()) / 86400 for _, expires in series if expires is not None),
                  default=None)
    figure = (f"{len(timed)} certificate{'s' if len(timed) != 1 else ''}; soonest expiry in {soonest:.1f} days (renewal threshold "
              f"{renew_days:g} days)" if soonest is not None else "no certificate expiry reported")
    return Section(key=KEY, title=TITLE, status=worst, figure=figure, action=ACTION, rows=tuple(rows))
