"""Hostile objects in the bucket, a killed run, lost replies and credentials, against real
PostgreSQL, moto's S3 and the Pushgateway: one bad object never stops a run, "latest" is a
verified backup, SIGTERM cleans up and reports, nothing deletes a finished dump, no line carries
a credential or a raw control character."""
import io
import json
import signal
import subprocess
import sys
import time
import uuid

import psycopg
import pytest

from jobs.pgbackup import backup, operations
from jobs.pgbackup.db import DatabaseUrl
from jobs.pgbackup.defaults import MIN_PART_SIZE
from jobs.pgbackup.log import StepLog
from jobs.pgbackup.store import Store

from .conftest import BUCKET, pushed_metrics, tool_client_like
from .harness import REPO, aws_env

DATABASE = "hostile_small"
MAX_JSON_BYTES = 4 * 1024 * 1024  # the documented cap on a manifest or record


@pytest.fixture(scope="module")
def small_url(pg):
    url = pg.create_database(DATABASE)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.leads (id int PRIMARY KEY, name text)")
        conn.execute("INSERT INTO public.leads SELECT g, 'lead ' || g FROM generate_series(1, 1000) g")
    return url


def _store(s3, prefix):
    return Store(BUCKET, prefix, client=tool_client_like(s3))


def _backup(s3, prefix, url):
    return backup.backup(DatabaseUrl.parse(url, "--database-url"), _store(s3, prefix),
                         StepLog("backup", stream=io.StringIO()), MIN_PART_SIZE)["backup_id"]


def _verify(s3, prefix, verify_url, backup_id):
    operations.verify(_store(s3, prefix), DatabaseUrl.parse(verify_url, "--scratch-url"),
                      StepLog("verify", stream=io.StringIO()), backup_id)


def _keys(s3, prefix):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix + "/").get("Contents", []))


def _one_line(err):
    assert err.count("\n") == 1 and err.startswith("pgbackup: "), err
    assert "Traceback" not in err


def _plant(s3, prefix, backup_id, name, body: bytes, dump=True):
    if dump:
        s3.put_object(Bucket=BUCKET, Key=f"{prefix}/{backup_id}/dump.pgcustom", Body=b"PGDMP")
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/{backup_id}/{name}", Body=body)


DEEP = b"[" * 200_000 + b"]" * 200_000
HOSTILE_MANIFESTS = {
    "deep": (DEEP, "nested 200000 levels deep"),
    "deep-in-object": (b'{"dump": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b"}", "nested 5001 levels deep"),
    "oversized": (b'{"pad": "' + b"x" * (MAX_JSON_BYTES + 10) + b'"}', "larger than 4 MiB"),
    "not-json": (b"\xff\xfe{", "is not valid JSON"),
    "huge-int": (b'{"dump": ' + b"9" * 5000 + b"}", "is not valid JSON"),
    "array": (b"[1, 2]", "is not a JSON object"),
}


@pytest.fixture(scope="module")
def hostile_prefix(s3, small_url, verify_url):
    """One good, verified backup beside a planted backup per hostile manifest and a bad record."""
    prefix = f"hostile/{uuid.uuid4().hex[:8]}"
    good = _backup(s3, prefix, small_url)
    _verify(s3, prefix, verify_url, good)
    planted = {}
    for n, (name, (body, _)) in enumerate(HOSTILE_MANIFESTS.items()):
        backup_id = f"20991231T2359{n:02d}Z-0000{n:04x}"
        _plant(s3, prefix, backup_id, "manifest.json", body)
        planted[backup_id] = name
    return {"prefix": prefix, "good": good, "planted": planted}


def test_bad_manifests_are_suspect_by_name_and_list_and_backup_go_on(hostile_prefix, s3, small_url, run):
    prefix = hostile_prefix["prefix"]
    code, rows, err = run("list", "--bucket", BUCKET, "--prefix", prefix, "--json")
    assert code == 0, err
    by_id = {r["backup_id"]: r for r in rows}
    for backup_id, name in hostile_prefix["planted"].items():
        reason = by_id[backup_id]["suspect"]
        assert f"s3://{BUCKET}/{prefix}/{backup_id}/manifest.json" in reason, (name, reason)
        assert HOSTILE_MANIFESTS[name][1] in reason, (name, reason)
    assert [r["backup_id"] for r in rows if r["latest"]] == [hostile_prefix["good"]]

    code, logs, err = run("backup", "--database-url", small_url, "--bucket", BUCKET, "--prefix", prefix)
    assert code == 0, err
    suspects = {l["backup_id"] for l in logs if l["step"] == "suspect"}
    assert suspects == set(hostile_prefix["planted"])


def test_a_bad_verification_record_is_reported_and_proves_nothing(hostile_prefix, s3, run):
    prefix = f"badrecord/{uuid.uuid4().hex[:8]}"
    good = hostile_prefix["good"]
    for key in _keys(s3, hostile_prefix["prefix"]):
        if f"/{good}/" in key:
            s3.copy_object(Bucket=BUCKET, Key=key.replace(hostile_prefix["prefix"], prefix, 1),
                           CopySource={"Bucket": BUCKET, "Key": key})
    record = f"{prefix}/{good}/verifications/99991231T235959.000000Z-deadbeef.json"
    s3.put_object(Bucket=BUCKET, Key=record, Body=DEEP)
    code, rows, err = run("list", "--bucket", BUCKET, "--prefix", prefix, "--json")
    assert code == 0, err
    assert rows[0]["verification"] == "unreadable" and rows[0]["latest"] is False
    assert f"s3://{BUCKET}/{record}" in rows[0]["verification_problem"]
    assert "nested 200000 levels deep" in rows[0]["verification_problem"]


def test_reads_stop_at_the_cap(s3):
    """An oversized object is refused after the cap, not read whole."""
    prefix = f"cap/{uuid.uuid4().hex[:8]}"
    key = f"{prefix}/20261122T020000Z-00000001/manifest.json"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b" " * (MAX_JSON_BYTES * 4))
    read = []

    class Counting:
        def __init__(self, body):
            self.body = body

        def read(self, n):
            data = self.body.read(n)
            read.append(len(data))
            return data

        def close(self):
            self.body.close()

    class Client:
        def get_object(self, **kwargs):
            response = tool_client_like(s3).get_object(**kwargs)
            return {**response, "Body": Counting(response["Body"])}

    store = Store(BUCKET, prefix, client=Client())
    with pytest.raises(Exception) as info:
        store.get_json(key)
    assert "larger than 4 MiB" in str(info.value)
    assert sum(read) == MAX_JSON_BYTES + 1


def test_latest_and_restore_skip_a_backup_whose_verification_failed(s3, small_url, verify_url, pg, run):
    prefix = f"failedlatest/{uuid.uuid4().hex[:8]}"
    older = _backup(s3, prefix, small_url)
    _verify(s3, prefix, verify_url, older)
    newer = _backup(s3, prefix, small_url)
    never = _backup(s3, prefix, small_url)
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{prefix}/{newer}/manifest.json")["Body"].read())
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/{newer}/verifications/20261122T020000.000000Z-0badf00d.json",
                  Body=json.dumps({"status": "failed", "problems": ["checksum mismatch: dump is 1 bytes"],
                                   "dump_sha256": manifest["dump"]["sha256"]}).encode())
    code, rows, err = run("list", "--bucket", BUCKET, "--prefix", prefix, "--json")
    assert code == 0, err
    by_id = {r["backup_id"]: r for r in rows}
    assert [r["backup_id"] for r in rows if r["latest"]] == [older]
    assert by_id[newer]["verification"] == "failed" and by_id[never]["verification"] == "unverified"

    target = pg.create_database("hostile_restore_target")
    code, logs, err = run("restore", "--target-url", target, "--bucket", BUCKET, "--prefix", prefix)
    assert code == 0, err
    chosen = next(l for l in logs if l["step"] == "chosen")
    assert chosen["backup_id"] == older
    assert chosen["passed_over"] == [{"backup_id": never, "reason": "never verified"},
                                     {"backup_id": newer, "reason": "its last verification failed: "
                                                                    "checksum mismatch: dump is 1 bytes"}]
    assert next(l for l in logs if l["step"] == "done")["backup_id"] == older


def _endpoint(s3):
    return s3.meta.endpoint_url


def test_list_escapes_control_characters_from_manifests(s3, small_url, run):
    prefix = f"escape/{uuid.uuid4().hex[:8]}"
    good = _backup(s3, prefix, small_url)
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{prefix}/{good}/manifest.json")["Body"].read())
    forged = "20991231T235959Z-0000abcd"
    _plant(s3, prefix, forged, "manifest.json", json.dumps(dict(
        manifest, database="leads\x1b[2J\r" + good + " *  FORGED\u202e", finished_at="\x1b]0;owned\x07")).encode())
    proc = subprocess.run([sys.executable, "-m", "jobs.pgbackup", "list", "--bucket", BUCKET, "--prefix", prefix],
                          cwd=REPO, env=aws_env(_endpoint(s3)), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for raw in ("\x1b", "\r", "\x07", "\u202e"):
        assert raw not in proc.stdout
    assert "leads\\x1b[2J\\r" in proc.stdout
    assert len(proc.stdout.splitlines()) == 1 + 2 + 0  # header, two backups, no footer (none verified)


def test_sigterm_aborts_the_upload_reports_one_line_and_pushes_the_failure(source_url, s3, clean_proxy, pushgateway):
    prefix = f"sigterm/{uuid.uuid4().hex[:8]}"
    clean_proxy.hold.clear()  # S3 stalls on the first part, as a deadline hit mid-upload finds it
    proc = subprocess.Popen([sys.executable, "-m", "jobs.pgbackup", "backup", "--database-url", source_url,
                             "--bucket", BUCKET, "--prefix", prefix, "--part-size-mib", "5",
                             "--pushgateway", pushgateway.url],
                            cwd=REPO, env=aws_env(clean_proxy.url), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        for _ in range(600):
            if clean_proxy.parts_seen >= 1:
                break
            time.sleep(0.05)
        assert clean_proxy.parts_seen >= 1, "the upload never started"
        assert s3.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix).get("Uploads", [])
        proc.send_signal(signal.SIGTERM)
        # The stalled part is not waited for: the run ends while S3 still holds it.
        out, err = proc.communicate(timeout=60)
    finally:
        clean_proxy.hold.set()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143
    _one_line(err)
    assert "terminated by SIGTERM" in err
    assert s3.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix).get("Uploads", []) == []
    pushed = pushed_metrics(pushgateway, "backup", "insurance_lead_gen")
    assert pushed["pgbackup_last_run_success"] == 0
    assert _keys(s3, prefix) == []


def test_a_lost_reply_to_the_manifest_write_is_resolved_by_reading_it_back(s3, small_url, run, clean_proxy):
    prefix = f"lostreply/{uuid.uuid4().hex[:8]}"
    clean_proxy.lose_reply_to = "/manifest.json"
    code, logs, err = run("backup", "--database-url", small_url, "--bucket", BUCKET, "--prefix", prefix,
                          endpoint=clean_proxy.url)
    assert code == 0, err
    assert next(l for l in logs if l["step"] == "manifest")["confirmed"] == "read-back"
    backup_id = next(l for l in logs if l["step"] == "done")["backup_id"]
    assert _keys(s3, prefix) == [f"{prefix}/{backup_id}/dump.pgcustom", f"{prefix}/{backup_id}/manifest.json"]
    clean_proxy.reset()
    code, rows, err = run("list", "--bucket", BUCKET, "--prefix", prefix, "--json")
    assert [(r["backup_id"], r["suspect"]) for r in rows] == [(backup_id, None)]


def test_a_failed_manifest_write_never_deletes_the_dump(s3, small_url, run, clean_proxy):
    prefix = f"nomanifest/{uuid.uuid4().hex[:8]}"
    clean_proxy.fail_put_to = "/manifest.json"
    code, logs, err = run("backup", "--database-url", small_url, "--bucket", BUCKET, "--prefix", prefix,
                          endpoint=clean_proxy.url)
    assert code == 1
    _one_line(err)
    assert "S3 write failed for" in err and "manifest.json" in err
    keys = _keys(s3, prefix)
    assert len(keys) == 1 and keys[0].endswith("/dump.pgcustom")  # the dump stays; no delete was tried


def test_no_credential_reaches_any_line(pg, s3, small_url, run, pushgateway):
    prefix = f"creds/{uuid.uuid4().hex[:8]}"
    secret = "Pushg4tewaySecret"
    gateway = pushgateway.url.replace("http://", f"http://metrics:{secret}@")
    code, logs, err = run("backup", "--database-url", small_url, "--bucket", BUCKET, "--prefix", prefix,
                          "--pushgateway", gateway)
    assert code == 0, err
    assert pushed_metrics(pushgateway, "backup", DATABASE)["pgbackup_last_run_success"] == 1
    assert secret not in json.dumps(logs) + err
    assert next(l for l in logs if l["step"] == "push")["pushgateway"] == pushgateway.url

    # The same with a Pushgateway that cannot be reached: the warning names it without the password.
    code, logs, err = run("backup", "--database-url", small_url, "--bucket", BUCKET, "--prefix", prefix,
                          "--pushgateway", f"http://metrics:{secret}@127.0.0.1:1")
    assert code == 0 and "cannot push metrics to http://127.0.0.1:1" in err
    assert secret not in json.dumps(logs) + err

    # A password with an unencoded "@": libpq splits at the first one and takes the rest for the host.
    url = pg.url(DATABASE, password="Pa@ssw0rdTail")
    url = url.replace("Pa%40ssw0rdTail", "Pa@ssw0rdTail")
    code, logs, err = run("backup", "--database-url", url, "--bucket", BUCKET, "--prefix", prefix)
    assert code == 2
    _one_line(err)
    assert "unencoded '@'" in err and "--database-url" in err
    assert "ssw0rdTail" not in err + json.dumps(logs)


def test_rds_iam_login_uses_a_fresh_token_as_the_password_and_never_prints_it(monkeypatch):
    from jobs.pgbackup import log
    from jobs.pgbackup.errors import UsageError
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example-secret")
    url = DatabaseUrl.parse("postgresql://pgbackup_verify@db.example.internal:5432/postgres?sslmode=require",
                            "--scratch-url").with_iam("eu-west-1")
    _, env = url.libpq_args()
    token = env["PGPASSWORD"]
    assert token.startswith("db.example.internal:5432/?Action=connect&DBUser=pgbackup_verify")
    assert "X-Amz-Signature=" in token
    assert log.redact(f"connect with {token}") == "connect with ***"
    assert url.with_dbname("scratch").iam_region == "eu-west-1"
    with pytest.raises(UsageError, match="has a password; with RDS IAM authentication"):
        DatabaseUrl.parse("postgresql://u:secretpw@h/db", "--scratch-url").with_iam("eu-west-1")


def test_a_verify_role_in_rds_iam_is_still_least_privilege(pg, s3, small_url, run):
    """On RDS the verify role logs in by IAM token: membership of rds_iam grants nothing else."""
    with pg.connect() as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam'").fetchone():
            conn.execute("CREATE ROLE rds_iam NOLOGIN")
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'pgbackup_verify_iam'").fetchone():
            conn.execute("CREATE ROLE pgbackup_verify_iam LOGIN CREATEDB PASSWORD 'Verify-Iam-Pw'")
        conn.execute("GRANT rds_iam TO pgbackup_verify_iam")
    prefix = f"iamrole/{uuid.uuid4().hex[:8]}"
    _backup(s3, prefix, small_url)
    url = pg.url("postgres", user="pgbackup_verify_iam", password="Verify-Iam-Pw")
    code, logs, err = run("verify", "--scratch-url", url, "--bucket", BUCKET, "--prefix", prefix)
    assert code == 0, err
    assert next(l for l in logs if l["step"] == "plan")["role"] == "pgbackup_verify_iam"
