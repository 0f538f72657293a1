"""Faults against real servers: S3 failing or stalling mid-upload, the database connection dropped
mid-dump, a corrupted dump, a manifest that disagrees, bad credentials and hosts, bad usage."""
import json
import subprocess
import sys
import time
import uuid

import pytest

from .conftest import BUCKET, pushed_metrics
from .harness import REPO, aws_env


@pytest.fixture(scope="module")
def good(pg, s3, source_url, run):
    prefix = f"faults/{uuid.uuid4().hex[:8]}"
    code, logs, err = run("backup", "--database-url", source_url, "--bucket", BUCKET, "--prefix", prefix,
                          "--part-size-mib", "5")
    assert code == 0, err
    return {"prefix": prefix, "id": next(l["backup_id"] for l in logs if l["step"] == "done")}


def _copy_backup(s3, good, new_prefix, dump=None, manifest_edit=None):
    """The good backup under another prefix, optionally with its dump or manifest changed."""
    src = f"{good['prefix']}/{good['id']}"
    dst = f"{new_prefix}/{good['id']}"
    if dump is None:
        s3.copy_object(Bucket=BUCKET, Key=f"{dst}/dump.pgcustom", CopySource={"Bucket": BUCKET, "Key": f"{src}/dump.pgcustom"})
    else:
        s3.put_object(Bucket=BUCKET, Key=f"{dst}/dump.pgcustom", Body=dump)
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{src}/manifest.json")["Body"].read())
    if manifest_edit:
        manifest_edit(manifest)
    s3.put_object(Bucket=BUCKET, Key=f"{dst}/manifest.json", Body=json.dumps(manifest).encode())
    return manifest


def _keys(s3, prefix):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix + "/").get("Contents", []))


def _one_line(err):
    assert err.count("\n") == 1 and err.startswith("pgbackup: "), err
    assert "Traceback" not in err


def _no_scratch_left(pg):
    with pg.connect() as conn:
        return conn.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'pgbackup_verify_%'").fetchone()[0] == 0


def test_s3_failing_mid_upload_leaves_earlier_backups_and_no_manifest(good, s3, source_url, run, clean_proxy, pushgateway):
    prefix = f"s3fail/{uuid.uuid4().hex[:8]}"
    _copy_backup(s3, good, prefix)
    before = _keys(s3, prefix)
    last_success = pushed_metrics(pushgateway, "backup", "insurance_lead_gen").get("pgbackup_last_success_timestamp_seconds")
    clean_proxy.fail_from_part = 2
    code, logs, err = run("backup", "--database-url", source_url, "--bucket", BUCKET, "--prefix", prefix,
                          "--part-size-mib", "5", "--pushgateway", pushgateway.url, endpoint=clean_proxy.url)
    assert code == 1
    _one_line(err)
    assert "S3 upload of part 2 failed" in err and "InternalError" in err
    assert _keys(s3, prefix) == before  # no dump, no manifest, the earlier backup untouched
    assert s3.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix).get("Uploads", []) == []
    pushed = pushed_metrics(pushgateway, "backup", "insurance_lead_gen")
    assert pushed["pgbackup_last_run_success"] == 0
    assert pushed.get("pgbackup_last_success_timestamp_seconds") == last_success
    code, logs, err = run("list", "--bucket", BUCKET, "--prefix", prefix, "--json")
    assert [r["backup_id"] for r in logs] == [good["id"]]


def test_database_dropping_mid_dump(pg, s3, source_url, moto, clean_proxy):
    prefix = f"dbdrop/{uuid.uuid4().hex[:8]}"
    clean_proxy.hold.clear()  # S3 stalls, the pipe fills, pg_dump's backend blocks mid-COPY
    env = aws_env(clean_proxy.url)
    proc = subprocess.Popen([sys.executable, "-m", "jobs.pgbackup", "backup", "--database-url", source_url,
                             "--bucket", BUCKET, "--prefix", prefix, "--part-size-mib", "5"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        terminated = False
        with pg.connect() as conn:
            for _ in range(1200):
                row = conn.execute("SELECT pid FROM pg_stat_activity WHERE application_name = 'pg_dump' "
                                   "AND wait_event = 'ClientWrite'").fetchone()
                if row and clean_proxy.parts_seen >= 1:
                    terminated = conn.execute("SELECT pg_terminate_backend(%s)", row).fetchone()[0]
                    break
                time.sleep(0.05)
        assert terminated, "pg_dump never blocked mid-COPY"
    finally:
        clean_proxy.hold.set()
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1
    _one_line(err)
    assert err.startswith("pgbackup: pg_dump failed: ")
    # libpq words the lost connection by how the socket ended: the FATAL message, a FIN, or a reset.
    assert any(lost in err for lost in ("terminating connection", "server closed the connection",
                                        "could not receive data from server")), err
    assert _keys(s3, prefix) == []
    assert s3.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix).get("Uploads", []) == []


def test_corrupted_dump_fails_verify_on_checksum_and_restore_refuses(good, pg, s3, run, pushgateway, verify_url):
    prefix = f"corrupt/{uuid.uuid4().hex[:8]}"
    dump = bytearray(s3.get_object(Bucket=BUCKET, Key=f"{good['prefix']}/{good['id']}/dump.pgcustom")["Body"].read())
    dump[len(dump) // 2] ^= 0xFF
    _copy_backup(s3, good, prefix, dump=bytes(dump))
    code, logs, err = run("verify", "--scratch-url", verify_url, "--bucket", BUCKET, "--prefix", prefix,
                          "--pushgateway", pushgateway.url)
    assert code == 1
    _one_line(err)
    assert f"verification of backup {good['id']} failed: checksum mismatch" in err
    assert pushed_metrics(pushgateway, "verify", "insurance_lead_gen")["pgbackup_last_run_success"] == 0
    records = [k for k in _keys(s3, prefix) if "/verifications/" in k]
    assert len(records) == 1
    verdict = json.loads(s3.get_object(Bucket=BUCKET, Key=records[0])["Body"].read())
    assert verdict["status"] == "failed" and "checksum mismatch" in verdict["problems"][0]
    assert _no_scratch_left(pg)
    code, logs, err = run("list", "--bucket", BUCKET, "--prefix", prefix, "--json")
    assert logs[0]["verification"] == "failed"

    target = pg.create_database("corrupt_target")
    # Unnamed, a backup whose last verification failed is never the one taken.
    code, logs, err = run("restore", "--target-url", target, "--bucket", BUCKET, "--prefix", prefix)
    assert code == 1
    _one_line(err)
    assert f"has passed its last verification (newest: {good['id']}, its last verification failed" in err
    # Named, it is still checked before the target is touched.
    code, logs, err = run("restore", "--target-url", target, "--bucket", BUCKET, "--prefix", prefix,
                          "--backup", good["id"])
    assert code == 1
    _one_line(err)
    assert "is corrupt, nothing was restored: checksum mismatch" in err
    with pg.connect("corrupt_target") as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')").fetchone()[0] == 0


def test_manifest_counts_disagreeing_fail_verify_naming_the_table(good, pg, s3, run, verify_url):
    prefix = f"counts/{uuid.uuid4().hex[:8]}"

    def lie(manifest):
        manifest["tables"]["sales.quotes"] = 19999
    _copy_backup(s3, good, prefix, manifest_edit=lie)
    code, logs, err = run("verify", "--scratch-url", verify_url, "--bucket", BUCKET, "--prefix", prefix)
    assert code == 1
    _one_line(err)
    assert "row count mismatch in sales.quotes: manifest 19999, restored 20000" in err
    assert _no_scratch_left(pg)


@pytest.mark.parametrize("case", ["password", "port", "host"])
def test_bad_password_or_host_is_one_line_without_the_password(case, good, pg, run):
    secret = "Wr0ng-S3cret-pw"
    url = {
        "password": pg.url("insurance_lead_gen", password=secret),
        "port": pg.url("insurance_lead_gen", password=secret, port=1),
        "host": f"postgresql://postgres:{secret}@db.invalid:{pg.port}/insurance_lead_gen",
    }[case]
    expected = {
        "password": f'pgbackup: cannot connect to database at 127.0.0.1:{pg.port} (password authentication failed for user "postgres")\n',
        "port": "pgbackup: cannot connect to database at 127.0.0.1:1 (connection refused)\n",
        "host": f"pgbackup: cannot connect to database at db.invalid:{pg.port} (unknown host)\n",
    }[case]
    for args in (["backup", "--database-url", url], ["verify", "--scratch-url", url],
                 ["restore", "--target-url", url]):
        code, logs, err = run(*args, "--bucket", BUCKET, "--prefix", good["prefix"])
        assert (code, err) == (1, expected), args[0]
        assert secret not in json.dumps(logs) + err


def test_s3_errors_are_one_line(pg, source_url, run, moto, verify_url):
    code, logs, err = run("backup", "--database-url", source_url, "--bucket", "no-such-bucket", "--prefix", "p")
    assert code == 1
    _one_line(err)
    assert "NoSuchBucket" in err
    code, logs, err = run("verify", "--scratch-url", verify_url, "--bucket", BUCKET, "--prefix", "p",
                          endpoint="http://127.0.0.1:1")
    assert code == 1
    _one_line(err)
    assert "cannot reach" in err
    code, logs, err = run("verify", "--scratch-url", verify_url, "--bucket", BUCKET, "--prefix", "empty/prefix")
    assert (code, err) == (1, "pgbackup: no backups in s3://leadgen-backups/empty/prefix/\n")
    code, logs, err = run("restore", "--target-url", pg.url(), "--bucket", BUCKET, "--prefix", "p", "--backup", "20260101T000000Z")
    assert code == 1
    assert "backup 20260101T000000Z does not exist" in err


@pytest.mark.parametrize("args, message", [
    (["backup", "--bucket", "b", "--prefix", "p"], "pgbackup: --database-url is required (or set DATABASE_URL)\n"),
    (["backup", "--database-url", "postgresql://u:pw@h/db", "--prefix", "p"], "pgbackup: --bucket is required (or set BACKUP_BUCKET)\n"),
    (["backup", "--database-url", "not a url", "--bucket", "b", "--prefix", "p"],
     "pgbackup: --database-url is invalid: not a postgresql:// URL or libpq connection string\n"),
    (["backup", "--database-url", "postgresql://u:pw@h/db?bogus=1", "--bucket", "b", "--prefix", "p"],
     "pgbackup: --database-url is invalid: unknown query parameter\n"),
    (["backup", "--database-url", "postgresql://u:pw@h", "--bucket", "b", "--prefix", "p"],
     "pgbackup: --database-url names no database (add /<dbname> to the URL)\n"),
    (["backup", "--database-url", "postgresql://u:pw@h/db", "--bucket", "b", "--prefix", "p", "--part-size-mib", "4"],
     "pgbackup: --part-size-mib 4 is below S3's minimum part size of 5\n"),
    (["verify", "--scratch-url", "postgresql://u:pw@h/db", "--bucket", "b", "--prefix", "p", "--backup", "yesterday"],
     "pgbackup: --backup 'yesterday' is not a backup id like 20261122T020000Z-1a2b3c4d\n"),
    (["restore", "--bucket", "b", "--prefix", "p"], "pgbackup: --target-url is required (or set RESTORE_TARGET_URL)\n"),
    (["frobnicate"], None),
])
def test_usage_errors_exit_2_with_one_line(args, message, run):
    code, logs, err = run(*args)
    assert code == 2
    _one_line(err)
    if message:
        assert err == message
    assert "pw" not in err


def test_environment_configures_the_tool(pg, source_url, s3, run):
    prefix = f"env/{uuid.uuid4().hex[:8]}"
    code, logs, err = run("backup", env={"DATABASE_URL": source_url, "BACKUP_BUCKET": BUCKET, "BACKUP_PREFIX": prefix})
    assert code == 0, err
    assert any(k.endswith("/manifest.json") for k in _keys(s3, prefix))
