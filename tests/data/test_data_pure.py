"""The data domain's pure helpers, without mocks: cron as Kubernetes reads it, the backup tiers,
the bucket's TLS policy, the jobs' IAM policies."""
import json

import pytest

from leadgen import data

BUCKET = "arn:aws:s3:::leadgen-production-backups-123456789012"
BUCKET_KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
DB_INSTANCE = "arn:aws:rds:us-east-1:123456789012:db:insurance-lead-gen-production"
DB_RESOURCE_ID = "db-ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@pytest.mark.parametrize("schedule", ["0 2 * * *", "@daily", "*/15 * * * *", "0 2 * * mon-fri",
                                      "0 2 ? * *", "30 1 1,15 jan-jun sun", "0 0-23/6 * * *"])
def test_schedules_kubernetes_accepts(schedule):
    assert data.cron_error(schedule) is None


@pytest.mark.parametrize("schedule,why", [
    ("0 2 * *", "needs 5 fields (minute hour day-of-month month day-of-week), has 4"),
    ("0 2 * * * *", "needs 5 fields (minute hour day-of-month month day-of-week), has 6"),
    ("61 2 * * *", "has minute '61' outside 0-59"),
    ("0 24 * * *", "has hour '24' outside 0-23"),
    ("0 2 0 * *", "has day of month '0' outside 1-31"),
    ("0 2 * foo *", "has month 'foo' outside 1-12"),
    ("0 2 * * 7", "has day of week '7' outside 0-6"),
    ("0 5-2 * * *", "has a backwards hour range '5-2'"),
    ("*/0 * * * *", "has a zero step in minute"),
    ("? 2 * * *", "allows '?' only in the day fields, not in minute"),
    ("0 2 L * *", "has day of month 'l' outside 1-31"),
    ("CRON_TZ=UTC 0 2 * * *", "must not carry a time zone; set the timeZone key"),
    ("@reboot", "needs 5 fields (minute hour day-of-month month day-of-week), has 1"),
])
def test_schedules_kubernetes_rejects(schedule, why):
    assert data.cron_error(schedule) == why


def test_lifecycle_is_the_diagrams_tiers():
    tiers, aborts = data.lifecycle_rules()
    assert tiers["status"] == "Enabled"
    assert [(t["days"], t["storage_class"]) for t in tiers["transitions"]] == [(7, "GLACIER_IR"), (30, "DEEP_ARCHIVE")]
    assert tiers["expiration"] == {"days": 2555}
    assert aborts["abort_incomplete_multipart_upload"] == {"days_after_initiation": 2}
    # S3 refuses Standard-IA before day 30; the 7-day step must use a class that allows it.
    assert tiers["transitions"][0]["storage_class"] not in ("STANDARD_IA", "ONEZONE_IA")
    assert data.lifecycle_rules("postgres/")[0]["filter"] == {"prefix": "postgres/"}


def test_lifecycle_keeps_a_noncurrent_version_past_any_incident_review():
    # The rules as stated here are the rules every backup bucket gets: no component overrides them.
    tiers, _ = data.lifecycle_rules()
    assert tiers["noncurrent_version_expiration"] == {"noncurrent_days": data.NONCURRENT_DAYS}
    assert data.NONCURRENT_DAYS == 90


def test_bucket_policy_denies_plain_http_and_old_tls():
    doc = json.loads(data.tls_only_bucket_policy(BUCKET))
    assert {s["Effect"] for s in doc["Statement"]} == {"Deny"}
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    assert by_sid["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert by_sid["DenyOldTls"]["Condition"] == {"NumericLessThan": {"s3:TlsVersion": "1.2"}}
    for s in doc["Statement"]:
        assert s["Resource"] == [BUCKET, f"{BUCKET}/*"] and s["Principal"] == "*"


def test_backup_job_policy_reaches_only_its_prefix_and_logs_in_as_the_backup_role():
    doc = json.loads(data.backup_job_policy(BUCKET, "/postgres/", BUCKET_KEY, DB_INSTANCE, DB_RESOURCE_ID,
                                            "pgbackup_backup"))
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    objects = by_sid["ObjectsUnderPrefix"]
    assert objects["Resource"] == f"{BUCKET}/postgres/*"
    assert sorted(objects["Action"]) == ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"]
    assert by_sid["ListPrefix"]["Resource"] == BUCKET
    assert by_sid["ListPrefix"]["Condition"] == {"StringLike": {"s3:prefix": ["postgres", "postgres/*"]}}
    assert by_sid["BucketKey"]["Condition"]["StringEquals"]["kms:ViaService"] == "s3.us-east-1.amazonaws.com"
    # The database login is one user by IAM token; no secret (the master password) is readable.
    assert by_sid["DatabaseLoginAsBackupRole"] == {
        "Sid": "DatabaseLoginAsBackupRole", "Effect": "Allow", "Action": "rds-db:connect",
        "Resource": f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{DB_RESOURCE_ID}/pgbackup_backup"}
    actions = [a for s in doc["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert not any(a.startswith("secretsmanager:") for a in actions)
    assert not any(a.endswith("*") or "Delete" in a for a in actions)
    assert all(s["Resource"] != "*" for s in doc["Statement"])


def test_parameters_log_slow_queries_and_connections_and_force_tls():
    params = {p["name"]: p["value"] for p in data.postgres_parameters(250)}
    assert params["log_min_duration_statement"] == "250"
    assert params["log_connections"] == "1" and params["log_disconnections"] == "1"
    assert params["rds.force_ssl"] == "1"
    assert data.parameter_family("17.6") == "postgres17"
    assert data.parameter_family("16.10") == "postgres16"


def test_database_url_has_no_password_and_requires_tls():
    url = data.database_url("db.example.internal", 5432, "insurance_lead_gen", "pgbackup_backup")
    assert url == "postgresql://pgbackup_backup@db.example.internal:5432/insurance_lead_gen?sslmode=require"
