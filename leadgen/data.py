"""Pure helpers of the data domain (PostgreSQL, Redis, backups): documents and rules as plain values,
so tests and the policy pack read them without mocks.

The numbers are the operations diagrams' backup tiers: 7 days close at hand, 30 days further off,
7 years (2,555 days) in an archive.
"""
from __future__ import annotations

import json
import re
from typing import Optional

from leadgen import pack

# --- backup tiers ------------------------------------------------------------------------------
HOT_DAYS = 7
WARM_UNTIL_DAYS = 30
ARCHIVE_UNTIL_DAYS = 2555  # 7 x 365

# S3 refuses lifecycle transitions to STANDARD_IA or ONEZONE_IA before day 30, so the only
# infrequent-access class that can start at day 7 is Glacier Instant Retrieval (millisecond reads,
# like Standard). Its 90-day minimum charge is the price of keeping the runbook's 7-day boundary.
WARM_CLASS = "GLACIER_IR"
ARCHIVE_CLASS = "DEEP_ARCHIVE"
# How long a noncurrent version is kept. One day left a mistaken delete or overwrite of an unlocked
# (dev, staging) backup unrecoverable by the next morning; 90 days outlasts any incident review and
# equals Glacier Instant Retrieval's minimum charge, while a version the 7-year expiry retires still
# goes within a quarter instead of living a second retention.
NONCURRENT_DAYS = 90


def lifecycle_rules(prefix: Optional[str] = None) -> list[dict]:
    """The bucket's lifecycle rules in the shape `aws.s3.BucketLifecycleConfiguration` takes."""
    rule_filter = {"prefix": f"{prefix.strip('/')}/"} if prefix else {}
    return [
        {
            "id": "backup-tiers",
            "status": "Enabled",
            "filter": rule_filter,
            "transitions": [
                {"days": HOT_DAYS, "storage_class": WARM_CLASS},
                {"days": WARM_UNTIL_DAYS, "storage_class": ARCHIVE_CLASS},
            ],
            "expiration": {"days": ARCHIVE_UNTIL_DAYS},
            # Versioning keeps an overwritten or expired object as a noncurrent version; it goes
            # NONCURRENT_DAYS later (Object Lock still holds any version whose retention has not ended).
            "noncurrent_version_expiration": {"noncurrent_days": NONCURRENT_DAYS},
        },
        {
            # A dump that died mid-upload leaves parts that are billed but never listed.
            "id": "abort-incomplete-uploads",
            "status": "Enabled",
            "filter": {},
            "abort_incomplete_multipart_upload": {"days_after_initiation": 2},
        },
    ]


def tls_only_bucket_policy(bucket_arn: str) -> str:
    """Deny every request to the bucket that does not arrive over TLS 1.2 or later."""
    resources = [bucket_arn, f"{bucket_arn}/*"]
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": resources, "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "DenyOldTls", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": resources, "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}}},
    ]})


def rds_db_user_arn(db_instance_arn: str, db_resource_id: str, user: str) -> str:
    """What `rds-db:connect` names: the instance's DbiResourceId and the database user."""
    parts = db_instance_arn.split(":")  # arn:aws:rds:<region>:<account>:db:<name>
    return f"arn:{parts[1]}:rds-db:{parts[3]}:{parts[4]}:dbuser:{db_resource_id}/{user}"


def backup_job_policy(bucket_arn: str, prefix: str, bucket_key_arn: str, db_instance_arn: str,
                      db_resource_id: str, backup_user: str) -> str:
    """What the backup job may do: put and get objects under its own prefix, list that prefix only
    (the tool finds the latest backup by listing), use the bucket's key, and log in to the
    database as the read-only backup role with an RDS IAM token. No secret: it never holds the
    master password, nor any password. No delete: under Object Lock old backups are not the job's
    to remove."""
    prefix = prefix.strip("/")
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "ObjectsUnderPrefix", "Effect": "Allow",
         "Action": ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
         "Resource": f"{bucket_arn}/{prefix}/*"},
        {"Sid": "ListPrefix", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn,
         "Condition": {"StringLike": {"s3:prefix": [prefix, f"{prefix}/*"]}}},
        {"Sid": "BucketKey", "Effect": "Allow",
         "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": bucket_key_arn,
         "Condition": {"StringEquals": {"kms:ViaService": f"s3.{_region(bucket_key_arn)}.amazonaws.com"}}},
        {"Sid": "DatabaseLoginAsBackupRole", "Effect": "Allow", "Action": "rds-db:connect",
         "Resource": rds_db_user_arn(db_instance_arn, db_resource_id, backup_user)},
    ]})


def verify_job_policy(bucket_arn: str, prefix: str, bucket_key_arn: str, db_instance_arn: str,
                      db_resource_id: str, verify_user: str) -> str:
    """What the verify job may do: read the backups under its prefix, add verification records
    beside them, and log in to the database as the verify role with an RDS IAM token. No secret:
    it never holds the master password, nor any password."""
    prefix = prefix.strip("/")
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadBackups", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{bucket_arn}/{prefix}/*"},
        {"Sid": "WriteVerificationRecords", "Effect": "Allow", "Action": "s3:PutObject",
         "Resource": f"{bucket_arn}/{prefix}/*/verifications/*"},
        {"Sid": "ListPrefix", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn,
         "Condition": {"StringLike": {"s3:prefix": [prefix, f"{prefix}/*"]}}},
        {"Sid": "BucketKey", "Effect": "Allow",
         "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": bucket_key_arn,
         "Condition": {"StringEquals": {"kms:ViaService": f"s3.{_region(bucket_key_arn)}.amazonaws.com"}}},
        {"Sid": "DatabaseLoginAsVerifyRole", "Effect": "Allow", "Action": "rds-db:connect",
         "Resource": rds_db_user_arn(db_instance_arn, db_resource_id, verify_user)},
    ]})


def _region(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else "us-east-1"


# --- PostgreSQL ------------------------------------------------------------------------------
# The RDS engine, named where the pack's deploy-readiness rule also reads it (which engines run
# PostgreSQL, and so need a backup client at least as new as the server).
ENGINE = pack.module("aws.rds").ENGINE


def parameter_family(engine_version: str) -> str:
    """`17.6` -> `postgres17`: RDS parameter groups are per major version."""
    return f"{ENGINE}{engine_version.split('.')[0]}"


def postgres_parameters(slow_query_ms: int, *, read_only: bool = False) -> list[dict]:
    """Slow queries and connections go to the `postgresql` log (exported to CloudWatch), and
    clients must use TLS. `read_only`: every new transaction is read-only (a dynamic parameter,
    applied at once), the failback's write freeze on the writer it leaves."""
    params = {
        "log_min_duration_statement": str(slow_query_ms),
        "log_connections": "1",
        "log_disconnections": "1",
        "log_lock_waits": "1",
        "rds.force_ssl": "1",
    }
    if read_only:
        params["default_transaction_read_only"] = "1"
    return [{"name": k, "value": v, "apply_method": "immediate"} for k, v in params.items()]


def database_url(host: str, port: int, dbname: str, username: str) -> str:
    """A libpq URL with no password (the jobs log in with an RDS IAM token) that insists on TLS."""
    return f"postgresql://{username}@{host}:{port}/{dbname}?sslmode=require"


# --- cron ----------------------------------------------------------------------------------------
# Kubernetes parses CronJob schedules with robfig/cron's standard parser: five fields, names for
# months and weekdays, `?` in the day fields, and the @-macros. croniter and cronsim accept more
# (seconds, L, #), so checking with them would pass schedules the API server rejects.
_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_FIELDS = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {m: i + 1 for i, m in enumerate(
        "jan feb mar apr may jun jul aug sep oct nov dec".split())}),
    ("day of week", 0, 6, {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())}),
)
_RANGE = re.compile(r"^(\*|\?|[a-z0-9]+)(?:-([a-z0-9]+))?(?:/(\d+))?$")


def cron_error(schedule: str) -> Optional[str]:
    """None for a schedule Kubernetes accepts, else why not (a short phrase)."""
    text = schedule.strip().lower()
    if text in _MACROS:
        return None
    if text.startswith(("tz=", "cron_tz=")):
        return "must not carry a time zone; set the timeZone key"
    parts = text.split()
    if len(parts) != 5:
        return f"needs 5 fields (minute hour day-of-month month day-of-week), has {len(parts)}"
    for part, (name, lo, hi, names) in zip(parts, _FIELDS):
        for item in part.split(","):
            m = _RANGE.match(item)
            if not m:
                return f"has an invalid {name} field {part!r}"
            start, end, step = m.groups()
            if start == "?" and name not in ("day of month", "day of week"):
                return f"allows '?' only in the day fields, not in {name}"
            bounds = []
            for v in (start, end):
                if v in (None, "*", "?"):
                    continue
                n = names.get(v, int(v) if v.isdigit() else None)
                if n is None or not lo <= n <= hi:
                    return f"has {name} {v!r} outside {lo}-{hi}"
                bounds.append(n)
            if len(bounds) == 2 and bounds[0] > bounds[1]:
                return f"has a backwards {name} range {item!r}"
            if step is not None and int(step) == 0:
                return f"has a zero step in {name}"
    return None


# --- Helm naming -----------------------------------------------------------------------------------
def helm_fullname(release: str, chart: str, values: Optional[dict] = None) -> str:
    """The `<chart>.fullname` rule of the standard Helm chart scaffold (used by the
    prometheus-community charts): the override, else the release name when it already contains
    the chart name, else `<release>-<chart>`; truncated to 63 characters."""
    values = values or {}
    if values.get("fullnameOverride"):
        return str(values["fullnameOverride"])[:63].rstrip("-")
    name = values.get("nameOverride") or chart
    full = release if name in release else f"{release}-{name}"
    return full[:63].rstrip("-")
