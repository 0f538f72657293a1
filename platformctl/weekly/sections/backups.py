"""Backups: per database, the newest backup and the newest backup whose last verification passed,
read from the backup bucket's manifests and verification records through pgbackup's own library
(`jobs/pgbackup`: its catalogue decides what is trusted, newest and verified, as `pgbackup list`
and `restore` do), against the daily RPO with the slack the stack's own alerts allow
(`PgBackupMissing`, `PgBackupNotVerified`: PlatformAlertSettings).

The bucket is read through the report's `fetch` (`s3` `ListObjectsV2` / `GetObject`), so the
live report asks S3 with the signed, deadline-bounded client and the tests replay recorded answers.
action needed: no backup, or the newest is older than the limit; no verified backup, or the newest
verified one is older than its limit; the stack's database missing from the bucket. Suspect
backups (their manifest disagrees with the bucket's clock) are attention.
"""
from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

from platformctl.weekly.model import ACTION_NEEDED, ATTENTION, OK, Context, Finding, Section, Unreachable

KEY = "backups"
TITLE = "Backups"
ACTION = "python -m jobs.pgbackup list; docs/runbooks/backup-restore.md section 1"
RPO_HOURS = 24  # the runbook's daily pg_dump (docs/runbooks/disaster-recovery.md, "RTO and RPO")


def _moment(value: Any, where: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise Unreachable(f"{where}: LastModified {str(value)[:40]!r} is not an ISO 8601 time")
    return moment


class FetchS3:
    """The slice of a boto3 S3 client pgbackup's `Store` reads with, answered by `fetch`."""

    def __init__(self, fetch):
        self._fetch = fetch

    def get_paginator(self, name: str) -> "FetchS3":
        if name != "list_objects_v2":
            raise Unreachable(f"S3: no reader for {name}")
        return self

    def paginate(self, **params):
        token = None
        for _ in range(1000):  # 1000 pages of 1000 keys: far beyond a year of daily backups
            asked = {**params, **({"ContinuationToken": token} if token else {})}
            page = self._fetch("s3", "ListObjectsV2", asked)
            if not isinstance(page, dict) or not isinstance(page.get("Contents", []), list):
                raise Unreachable(f"S3 ListObjectsV2 of s3://{params.get('Bucket')}: not a listing")
            contents = []
            for obj in page.get("Contents", []):
                if not isinstance(obj, dict) or not isinstance(obj.get("Key"), str):
                    raise Unreachable(f"S3 ListObjectsV2 of s3://{params.get('Bucket')}: an entry has no Key")
                contents.append({**obj, "LastModified": _moment(obj.get("LastModified"), obj["Key"])})
            yield {**page, "Contents": contents}
            token = page.get("NextContinuationToken") if page.get("IsTruncated") else None
            if not token:
                return
        raise Unreachable(f"S3 ListObjectsV2 of s3://{params.get('Bucket')}: more than 1000 pages")

    def get_object(self, *, Bucket: str, Key: str, **_):  # noqa: N803 boto3's parameter names
        document = self._fetch("s3", "GetObject", {"Bucket": Bucket, "Key": Key})
        return {"Body": io.BytesIO(json.dumps(document).encode())}


def _age(now: dt.datetime, moment: dt.datetime) -> str:
    hours = (now - moment).total_seconds() / 3600
    return f"{hours:.1f} h ago" if hours < 72 else f"{hours / 24:.1f} days ago"


def assess(ctx: Context) -> Section:
    from jobs.pgbackup import catalogue
    from jobs.pgbackup.errors import PgBackupError
    from jobs.pgbackup.store import Store
    from leadgen.observability.platform_alerts import PlatformAlertSettings

    limits = PlatformAlertSettings()
    outputs = ctx.fetch("pulumi", "stack-output", {})
    bucket = outputs.get("backupBucket") if isinstance(outputs, dict) else None
    if not isinstance(bucket, str) or not bucket:
        raise Unreachable("the stack exports no backupBucket (pulumi stack output)")
    store = Store(bucket, ctx.config.data.backup.prefix, client=FetchS3(ctx.fetch))
    try:
        backups = catalogue.read_catalogue(store)
    except PgBackupError as err:
        raise Unreachable(str(err)) from None
    databases: dict[str, list] = {}
    for b in backups:
        name = b.manifest.get("database") if b.manifest else None
        databases.setdefault(name if isinstance(name, str) else "", []).append(b)
    expected = ctx.config.data.postgres.database_name
    rows, statuses = [], []
    suspects = databases.pop("", [])
    for database in sorted(set(databases) | {expected}):
        group = databases.get(database, [])
        newest = catalogue.newest(group)
        if newest is None:
            rows.append(Finding(name=f"{database}: newest backup", status=ACTION_NEEDED,
                                figure=f"no trusted backup in {store.url(store.key('', ''))}"))
            statuses.append(ACTION_NEEDED)
            continue
        finished = newest.finished
        late = (ctx.now - finished) > dt.timedelta(hours=limits.backup_max_age_hours)
        rows.append(Finding(name=f"{database}: newest backup",
                            figure=f"{newest.backup_id}, finished {catalogue.iso(finished)} ({_age(ctx.now, finished)}; "
                                   f"limit {limits.backup_max_age_hours} h for a {RPO_HOURS} h RPO)",
                            status=ACTION_NEEDED if late else OK))
        statuses.append(ACTION_NEEDED if late else OK)
        try:
            verified, passed_over = catalogue.latest(store, group)
        except PgBackupError as err:
            raise Unreachable(str(err)) from None
        if verified is None:
            why = passed_over[0][1] if passed_over else "no verification record"
            rows.append(Finding(name=f"{database}: newest verified backup", figure=f"none ({why})",
                                status=ACTION_NEEDED))
            statuses.append(ACTION_NEEDED)
        else:
            at = verified.entry.manifest_modified
            stale = (ctx.now - at) > dt.timedelta(hours=limits.verified_max_age_hours)
            record = catalogue.last_record(store, verified) or {}
            when = record.get("verified_at") if isinstance(record.get("verified_at"), str) else "at an unknown time"
            rows.append(Finding(name=f"{database}: newest verified backup",
                                figure=f"{verified.backup_id} ({_age(ctx.now, at)}), restored and checked {when}; "
                                       f"limit {limits.verified_max_age_hours} h",
                                status=ACTION_NEEDED if stale else OK))
            statuses.append(ACTION_NEEDED if stale else OK)
        suspects += [b for b in group if not b.trusted]
    for b in suspects:
        rows.append(Finding(name=f"suspect {b.backup_id}", figure=b.suspect or "unreadable manifest", status=ATTENTION))
        statuses.append(ATTENTION)
    worst = max(statuses, key=(OK, ATTENTION, ACTION_NEEDED).index)
    heads = [r for r in rows if r.name.endswith("newest backup")]
    figure = "; ".join(f"{r.name.split(':')[0]}: {r.figure.split(' (')[0]}" for r in heads) or "no backup"
    return Section(key=KEY, title=TITLE, status=worst, figure=f"newest backup per database: {figure}", action=ACTION,
                   rows=tuple(rows))
