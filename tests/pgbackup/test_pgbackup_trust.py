"""Backups that cannot lie, against real PostgreSQL and moto's S3: ids that cannot collide and
writes that never overwrite, "latest" judged against the bucket's own clock, verify cycling through
the retained backups as a least-privilege role, and a client older than the server refused.

Backups with an injected clock or id suffix run in this process (``backup.backup``), the rest
through the real CLI as the CronJob runs it.
"""
import hashlib
import io
import json
import os
import re
import stat
import time
import uuid
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from jobs.pgbackup import backup, operations, psql, scratch
from jobs.pgbackup.db import DatabaseUrl
from jobs.pgbackup.defaults import MIN_PART_SIZE
from jobs.pgbackup.errors import PgBackupError
from jobs.pgbackup.log import StepLog
from jobs.pgbackup.store import Store

from .conftest import BUCKET, pushed_metrics, tool_client_like

DATABASE = "trust_small"


@pytest.fixture(scope="module")
def small_url(pg):
    """A small database of its own, so the many backups here take a second each."""
    url = pg.create_database(DATABASE)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.leads (id int PRIMARY KEY, name text)")
        conn.execute("INSERT INTO public.leads SELECT g, 'lead ' || g FROM generate_series(1, 2000) g")
        conn.execute("CREATE TABLE public.notes (id int, body text)")
        conn.execute("INSERT INTO public.notes SELECT g, repeat('x', 100) FROM generate_series(1, 500) g")
    return url


def _store(s3, prefix):
    return Store(BUCKET, prefix, client=tool_client_like(s3))


def _backup(s3, prefix, url, now=None, token=None):
    """One backup in this process with an injected clock and/or id suffix; returns its result."""
    kwargs = {}
    if now is not None:
        kwargs["now"] = now
    if token is not None:
        kwargs["token"] = token
    return backup.backup(DatabaseUrl.parse(url, "--database-url"), _store(s3, prefix),
                         StepLog("backup", stream=io.StringIO()), MIN_PART_SIZE, **kwargs)


def _keys(s3, prefix):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix + "/").get("Contents", []))


def _object(s3, key):
    response = s3.get_object(Bucket=BUCKET, Key=key)
    return response["Body"].read(), response["ETag"]


def _manifest(s3, prefix, backup_id):
    return json.loads(_object(s3, f"{prefix}/{backup_id}/manifest.json")[0])


def _manifest_time(s3, prefix, backup_id):
    return s3.head_object(Bucket=BUCKET, Key=f"{prefix}/{backup_id}/manifest.json")["LastModified"].timestamp()


def _one_line(err):
    assert err.count("\n") == 1 and err.startswith("pgbackup: "), err
    assert "Traceback" not in err


def _scratch_databases(pg):
    with pg.connect() as conn:
        return conn.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'pgbackup\\_verify\\_%'").fetchone()[0]


# -- ids and overwrites -----------------------------------------------------------------------------
def test_two_backups_in_the_same_second_both_survive(s3, small_url, run):
    prefix = f"samesecond/{uuid.uuid4().hex[:8]}"
    frozen = datetime.now(timezone.utc).replace(microsecond=0)
    first = _backup(s3, prefix, small_url, now=lambda: frozen)
    second = _backup(s3, prefix, small_url, now=lambda: frozen)
    stamp = frozen.strftime("%Y%m%dT%H%M%SZ")
    assert first["backup_id"].startswith(stamp + "-") and second["backup_id"].startswith(stamp + "-")
    assert first["backup_id"] != second["backup_id"]
    for result in (first, second):
        manifest = _manifest(s3, prefix, result["backup_id"])
        dump, _ = _object(s3, f"{prefix}/{result['backup_id']}/dump.pgcustom")
        assert manifest["backup_id"] == result["backup_id"] and manifest["dump"]["size"] == len(dump)
    code, rows, err = run("list", "--bucket", BUCKET, "--prefix", prefix, "--json")
    assert code == 0, err
    assert sorted(r["backup_id"] for r in rows) == sorted([first["backup_id"], second["backup_id"]])
    assert all(r["suspect"] is None for r in rows)


def test_a_repeated_id_is_refused_and_the_first_backup_stays_intact(s3, small_url):
    prefix = f"collide/{uuid.uuid4().hex[:8]}"
    frozen = datetime.now(timezone.utc).replace(microsecond=0)
    first = _backup(s3, prefix, small_url, now=lambda: frozen, token=lambda: "0badc0de")
    before = {key: _object(s3, key) for key in _keys(s3, prefix)}
    with pytest.raises(PgBackupError) as info:
        _backup(s3, prefix, small_url, now=lambda: frozen, token=lambda: "0badc0de")
    message = str(info.value)
    assert "refused" in message and "already exists" in message and "PreconditionFailed" in message
    assert f"{first['backup_id']}/dump.pgcustom" in message
    assert {key: _object(s3, key) for key in _keys(s3, prefix)} == before  # same bytes, same ETags
    assert s3.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix).get("Uploads", []) == []


def test_a_dump_smaller_than_one_part_is_one_conditional_put_and_restores(s3, small_url, verify_url):
    """No multipart upload (three requests) for a dump that fits in one part: one PutObject,
    checksummed and verified like any other."""
    prefix = f"onepart/{uuid.uuid4().hex[:8]}"
    result = _backup(s3, prefix, small_url)
    key = f"{prefix}/{result['backup_id']}/dump.pgcustom"
    dump, etag = _object(s3, key)
    manifest = _manifest(s3, prefix, result["backup_id"])
    assert 0 < len(dump) < MIN_PART_SIZE
    assert "-" not in etag.strip('"')  # a multipart object's ETag ends in -<parts>
    assert manifest["dump"]["parts"] == 1 and manifest["dump"]["size"] == len(dump)
    assert manifest["dump"]["sha256"] == hashlib.sha256(dump).hexdigest()
    assert s3.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix).get("Uploads", []) == []
    verified = operations.verify(_store(s3, prefix), DatabaseUrl.parse(verify_url, "--scratch-url"),
                                 StepLog("verify", stream=io.StringIO()), result["backup_id"])
    assert verified["backups"] == [result["backup_id"]]


def test_every_object_write_refuses_to_overwrite(s3, small_url):
    prefix = f"overwrite/{uuid.uuid4().hex[:8]}"
    result = _backup(s3, prefix, small_url)
    store = _store(s3, prefix)
    key = store.key(result["backup_id"], "manifest.json")
    original = _object(s3, key)
    with pytest.raises(PgBackupError) as info:
        store.put_json(key, {"planted": True})
    assert str(info.value).startswith(f"S3 write refused for s3://{BUCKET}/{key}: the object already exists")
    assert _object(s3, key) == original


# -- latest judged against the bucket's clock --------------------------------------------------------
@pytest.fixture(scope="module")
def skewed(s3, small_url, verify_url):
    """A good, verified backup, then one from a pod whose clock is two days ahead, then planted manifests."""
    prefix = f"skew/{uuid.uuid4().hex[:8]}"
    good = _backup(s3, prefix, small_url)["backup_id"]
    operations.verify(_store(s3, prefix), DatabaseUrl.parse(verify_url, "--scratch-url"),
                      StepLog("verify", stream=io.StringIO()), good)
    ahead = _backup(s3, prefix, small_url, now=lambda: datetime.now(timezone.utc) + timedelta(days=2))["backup_id"]
    manifest = _manifest(s3, prefix, good)
    planted = {}
    for name, finished in [("future", "2099-12-31T23:59:59Z"), ("past", "2020-01-01T00:00:00Z")]:
        backup_id = {"future": "20991231T235959Z-0000f00d", "past": "20200101T000000Z-0000beef"}[name]
        s3.copy_object(Bucket=BUCKET, Key=f"{prefix}/{backup_id}/dump.pgcustom",
                       CopySource={"Bucket": BUCKET, "Key": f"{prefix}/{good}/dump.pgcustom"})
        fake = dict(manifest, backup_id=backup_id, started_at=finished, finished_at=finished)
        s3.put_object(Bucket=BUCKET, Key=f"{prefix}/{backup_id}/manifest.json", Body=json.dumps(fake).encode())
        planted[name] = backup_id
    return {"prefix": prefix, "good": good, "ahead": ahead, **planted}


def test_list_marks_clock_ahead_and_planted_manifests_suspect(skewed, run):
    code, rows, err = run("list", "--bucket", BUCKET, "--prefix", skewed["prefix"], "--json")
    assert code == 0, err
    by_id = {r["backup_id"]: r for r in rows}
    assert by_id[skewed["good"]]["latest"] is True and by_id[skewed["good"]]["suspect"] is None
    assert "ahead of the bucket's LastModified" in by_id[skewed["ahead"]]["suspect"]
    assert "2099-12-31T23:59:59Z" in by_id[skewed["future"]]["suspect"]
    assert "behind the bucket's LastModified" in by_id[skewed["past"]]["suspect"]
    assert [r["backup_id"] for r in rows if r["latest"]] == [skewed["good"]]


def test_verify_skips_suspects_reports_them_and_pushes_the_newest_verified(skewed, s3, run, verify_url, pushgateway):
    code, logs, err = run("verify", "--scratch-url", verify_url, "--bucket", BUCKET, "--prefix", skewed["prefix"],
                          "--count", "1", "--pushgateway", pushgateway.url)
    assert code == 0, err
    plan = next(l for l in logs if l["step"] == "plan")
    assert plan["backups"] == [skewed["good"]]
    suspects = {l["backup_id"]: l["reason"] for l in logs if l["step"] == "suspect"}
    assert set(suspects) == {skewed["ahead"], skewed["future"], skewed["past"]}
    pushed = pushed_metrics(pushgateway, "verify", DATABASE)
    assert pushed["pgbackup_last_run_success"] == 1
    assert pushed["pgbackup_suspect_backups"] == 3
    # The bucket's time of the verified backup, not anything a pod's clock wrote.
    assert pushed["pgbackup_last_verified_backup_timestamp_seconds"] == pytest.approx(
        _manifest_time(s3, skewed["prefix"], skewed["good"]), abs=1)


def test_backup_reports_suspects_and_takes_the_trusted_previous_size(skewed, s3, small_url, run, pushgateway):
    prefix = f"skew-backup/{uuid.uuid4().hex[:8]}"
    good = _backup(s3, prefix, small_url)
    _backup(s3, prefix, small_url, now=lambda: datetime.now(timezone.utc) + timedelta(days=2))
    code, logs, err = run("backup", "--database-url", small_url, "--bucket", BUCKET, "--prefix", prefix,
                          "--pushgateway", pushgateway.url)
    assert code == 0, err
    assert [l["step"] for l in logs].count("suspect") == 1
    pushed = pushed_metrics(pushgateway, "backup", DATABASE)
    assert pushed["pgbackup_suspect_backups"] == 1
    assert pushed["pgbackup_previous_bytes"] == good["bytes"]


def test_restore_without_backup_takes_the_trusted_latest(skewed, pg, run):
    target = pg.create_database("trust_restore_target")
    code, logs, err = run("restore", "--target-url", target, "--bucket", BUCKET, "--prefix", skewed["prefix"])
    assert code == 0, err
    assert next(l for l in logs if l["step"] == "done")["backup_id"] == skewed["good"]
    assert any(l["step"] == "suspect" and l["backup_id"] == skewed["ahead"] for l in logs)


def test_all_suspect_refuses_instead_of_restoring_a_lie(skewed, s3, pg, run, verify_url):
    prefix = f"allsuspect/{uuid.uuid4().hex[:8]}"
    for key in _keys(s3, skewed["prefix"]):
        if f"/{skewed['ahead']}/" in key:
            s3.copy_object(Bucket=BUCKET, Key=key.replace(skewed["prefix"], prefix, 1),
                           CopySource={"Bucket": BUCKET, "Key": key})
    target = pg.create_database("trust_refused_target")
    for args in (["restore", "--target-url", target], ["verify", "--scratch-url", verify_url]):
        code, logs, err = run(*args, "--bucket", BUCKET, "--prefix", prefix)
        assert code == 1, args
        _one_line(err)
        assert "no trusted backup" in err and "suspect" in err


def test_older_layouts_are_read_and_a_damaged_manifest_is_only_suspect(s3, small_url, run, verify_url):
    prefix = f"legacy/{uuid.uuid4().hex[:8]}"
    current = _backup(s3, prefix, small_url)["backup_id"]
    # A backup from before the random suffix, with the single verification.json of that time...
    legacy = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    s3.copy_object(Bucket=BUCKET, Key=f"{prefix}/{legacy}/dump.pgcustom",
                   CopySource={"Bucket": BUCKET, "Key": f"{prefix}/{current}/dump.pgcustom"})
    manifest = dict(_manifest(s3, prefix, current), backup_id=legacy)
    manifest["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/{legacy}/manifest.json", Body=json.dumps(manifest).encode())
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/{legacy}/verification.json", Body=json.dumps(
        {"status": "verified", "verified_at": manifest["finished_at"], "dump_sha256": manifest["dump"]["sha256"]}).encode())
    # ...and one whose manifest is not JSON at all.
    broken = "20261130T000000Z-0000abcd"
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/{broken}/manifest.json", Body=b"{not json")
    code, rows, err = run("list", "--bucket", BUCKET, "--prefix", prefix, "--json")
    assert code == 0, err
    by_id = {r["backup_id"]: r for r in rows}
    assert by_id[legacy]["suspect"] is None and by_id[legacy]["verification"] == "verified"
    assert by_id[broken]["suspect"].startswith("unreadable manifest: ") and "is not valid JSON" in by_id[broken]["suspect"]
    assert by_id[current]["verification"] == "unverified"
    code, logs, err = run("verify", "--scratch-url", verify_url, "--bucket", BUCKET, "--prefix", prefix, "--count", "1")
    assert code == 0, err
    # The legacy backup finished last and is already verified: the never-verified one goes first.
    assert next(l for l in logs if l["step"] == "plan")["backups"] == [current]


# -- verify cycles through the retained backups ------------------------------------------------------
def test_verify_cycles_through_retained_backups(s3, small_url, run, verify_url, pushgateway, pg):
    prefix = f"cycle/{uuid.uuid4().hex[:8]}"
    ids = [_backup(s3, prefix, small_url)["backup_id"] for _ in range(3)]
    oldest, middle, newest = ids
    verified = []
    for _ in range(4):
        code, logs, err = run("verify", "--scratch-url", verify_url, "--bucket", BUCKET, "--prefix", prefix,
                              "--count", "1", "--pushgateway", pushgateway.url)
        assert code == 0, err
        verified.append(next(l for l in logs if l["step"] == "plan")["backups"][0])
        pushed = pushed_metrics(pushgateway, "verify", DATABASE)
        assert pushed["pgbackup_last_verified_backup_timestamp_seconds"] == pytest.approx(
            _manifest_time(s3, prefix, newest), abs=1)
    # The newest first (it had never been verified), then the never-verified ones oldest first,
    # then the least recently verified again.
    assert verified == [newest, oldest, middle, newest]
    records = {backup_id: [k for k in _keys(s3, prefix) if k.startswith(f"{prefix}/{backup_id}/verifications/")]
               for backup_id in ids}
    assert {k: len(v) for k, v in records.items()} == {oldest: 1, middle: 1, newest: 2}
    assert _scratch_databases(pg) == 0
    # The default verifies two a run: the least recently verified now are the oldest and the middle one.
    code, logs, err = run("verify", "--scratch-url", verify_url, "--bucket", BUCKET, "--prefix", prefix)
    assert code == 0, err
    assert next(l for l in logs if l["step"] == "plan")["backups"] == [oldest, middle]


def test_a_failed_verification_does_not_count_as_verified(s3, small_url, run, verify_url, pushgateway):
    prefix = f"cyclefail/{uuid.uuid4().hex[:8]}"
    older = _backup(s3, prefix, small_url)["backup_id"]
    code, logs, err = run("verify", "--scratch-url", verify_url, "--bucket", BUCKET, "--prefix", prefix)
    assert code == 0, err
    # A newer backup whose dump is damaged (written before its manifest, as the tool writes them).
    newer = "20300101T000000Z-0000dead"
    dump = bytearray(_object(s3, f"{prefix}/{older}/dump.pgcustom")[0])
    dump[len(dump) // 2] ^= 0xFF
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/{newer}/dump.pgcustom", Body=bytes(dump))
    now = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    manifest = dict(_manifest(s3, prefix, older), backup_id=newer, started_at=now, finished_at=now)
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/{newer}/manifest.json", Body=json.dumps(manifest).encode())
    code, logs, err = run("verify", "--scratch-url", verify_url, "--bucket", BUCKET, "--prefix", prefix,
                          "--count", "1", "--pushgateway", pushgateway.url)
    assert code == 1
    _one_line(err)
    assert f"verification of backup {newer} failed: checksum mismatch" in err
    pushed = pushed_metrics(pushgateway, "verify", DATABASE)
    assert pushed["pgbackup_last_run_success"] == 0
    # The newest *verified* backup is still the older one: the alert on its age stays honest.
    assert pushed["pgbackup_last_verified_backup_timestamp_seconds"] == pytest.approx(
        _manifest_time(s3, prefix, older), abs=1)
    code, rows, err = run("list", "--bucket", BUCKET, "--prefix", prefix, "--json")
    assert {r["backup_id"]: r["verification"] for r in rows} == {older: "verified", newer: "failed"}


def test_a_dump_replaced_after_its_manifest_is_suspect(s3, small_url, run):
    prefix = f"replaced/{uuid.uuid4().hex[:8]}"
    backup_id = _backup(s3, prefix, small_url)["backup_id"]
    time.sleep(3)  # LastModified has one-second resolution
    key = f"{prefix}/{backup_id}/dump.pgcustom"
    s3.put_object(Bucket=BUCKET, Key=key, Body=_object(s3, key)[0])  # same bytes, a new write
    code, rows, err = run("list", "--bucket", BUCKET, "--prefix", prefix, "--json")
    assert code == 0, err
    assert "it was replaced" in rows[0]["suspect"] and rows[0]["latest"] is False


# -- the verify role ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def verified_prefix(s3, small_url):
    prefix = f"role/{uuid.uuid4().hex[:8]}"
    _backup(s3, prefix, small_url)
    return prefix


def test_verify_refuses_the_superuser(verified_prefix, pg, run, pushgateway):
    code, logs, err = run("verify", "--scratch-url", pg.url(), "--bucket", BUCKET, "--prefix", verified_prefix,
                          "--pushgateway", pushgateway.url, env={"DATABASE_URL": pg.url(DATABASE)})
    assert code == 1
    _one_line(err)
    assert err.startswith(f"pgbackup: refusing to restore as role postgres at 127.0.0.1:{pg.port}: it is a superuser; "
                          "it has CREATEROLE; it has REPLICATION; it has BYPASSRLS; it owns database ")
    # The master user owns the server's databases; the list names at most three of them.
    assert re.search(r"it owns database \w+, \w+, \w+ and \d+ more \(", err)
    assert err.endswith(" (verify needs a role with LOGIN and CREATEDB only, see jobs/pgbackup/README.md)\n")
    assert pushed_metrics(pushgateway, "verify", DATABASE)["pgbackup_last_run_success"] == 0
    assert _scratch_databases(pg) == 0


def test_verify_refuses_a_role_with_memberships_or_other_databases(verified_prefix, pg, run):
    with pg.connect() as conn:
        conn.execute("DROP ROLE IF EXISTS broad_verify")
        conn.execute("CREATE ROLE broad_verify LOGIN CREATEDB PASSWORD 'broad-pw-1'")
        conn.execute("GRANT pg_read_all_data TO broad_verify")
        conn.execute(f"ALTER DATABASE {DATABASE} OWNER TO broad_verify")
    try:
        url = pg.url(user="broad_verify", password="broad-pw-1")
        code, logs, err = run("verify", "--scratch-url", url, "--bucket", BUCKET, "--prefix", verified_prefix)
        assert code == 1
        _one_line(err)
        assert "refusing to restore as role broad_verify" in err
        assert "is a member of pg_read_all_data" in err and f"owns database {DATABASE}" in err
        assert "broad-pw-1" not in err
    finally:
        with pg.connect() as conn:
            conn.execute(f"ALTER DATABASE {DATABASE} OWNER TO postgres")
            conn.execute("DROP ROLE broad_verify")


def test_the_verify_role_cannot_read_the_source_nor_others_enter_its_scratch(pg, verify_url, small_url):
    # Least privilege, shown on the real server: the role that runs the dump's SQL cannot read the
    # application's tables...
    role_on_source = DatabaseUrl.parse(verify_url, "--scratch-url").with_dbname(DATABASE)
    with psycopg.connect(**role_on_source.params, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM public.leads")
    # ...and its scratch database, a copy of production data, is closed to every other login.
    admin = psql.Session(DatabaseUrl.parse(verify_url, "--scratch-url"))
    name = scratch.scratch_name(datetime.now(timezone.utc))
    try:
        scratch.create(admin, name, "test")
        with pg.connect() as conn:
            conn.execute("DROP ROLE IF EXISTS bystander")
            conn.execute("CREATE ROLE bystander LOGIN PASSWORD 'bystander-pw'")
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            psycopg.connect(pg.url(name, user="bystander", password="bystander-pw")).close()
        with pg.connect() as conn:
            owner = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [name]).fetchone()[0]
        assert owner == "pgbackup_verify"
    finally:
        scratch.drop(admin, name)
        admin.close()
        with pg.connect() as conn:
            conn.execute("DROP ROLE IF EXISTS bystander")


def test_verify_drops_scratch_databases_left_by_killed_runs(verified_prefix, pg, verify_url, run):
    role = psql.Session(DatabaseUrl.parse(verify_url, "--scratch-url"))
    old = scratch.scratch_name(datetime.now(timezone.utc) - timedelta(days=1))
    recent = scratch.scratch_name(datetime.now(timezone.utc) - timedelta(minutes=5))
    try:
        for name in (old, recent):
            scratch.create(role, name, "test")
        code, logs, err = run("verify", "--scratch-url", verify_url, "--bucket", BUCKET, "--prefix", verified_prefix,
                              "--count", "1")
        assert code == 0, err
        assert next(l for l in logs if l["step"] == "drop-abandoned")["databases"] == [old]
        with pg.connect() as conn:
            left = {r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'pgbackup\\_verify\\_%'")}
        assert left == {recent}  # a run that may still be going is left alone
    finally:
        scratch.drop(role, old)
        scratch.drop(role, recent)
        role.close()


def test_verify_provisions_its_own_role_through_an_admin_login(verified_prefix, pg, s3, run):
    code, logs, err = run("verify", "--scratch-admin-url", pg.url(), "--verify-role", "pgbackup_verify_auto",
                          "--bucket", BUCKET, "--prefix", verified_prefix)
    assert code == 0, err
    assert next(l for l in logs if l["step"] == "plan")["role"] == "pgbackup_verify_auto"
    record_keys = [k for k in _keys(s3, verified_prefix) if "/verifications/" in k]
    assert json.loads(_object(s3, record_keys[-1])[0])["role"] == "pgbackup_verify_auto"
    with pg.connect() as conn:
        row = conn.execute("SELECT rolcanlogin, rolcreatedb, rolsuper, rolcreaterole, rolvaliduntil > now(), "
                           "rolvaliduntil < now() + interval '6 hours' FROM pg_roles "
                           "WHERE rolname = 'pgbackup_verify_auto'").fetchone()
    assert row == (True, True, False, False, True, True)  # its password expires after the run
    # A second run rotates the password and works again; the admin login never restores anything.
    code, logs, err = run("verify", "--scratch-admin-url", pg.url(), "--verify-role", "pgbackup_verify_auto",
                          "--bucket", BUCKET, "--prefix", verified_prefix)
    assert code == 0, err
    assert _scratch_databases(pg) == 0


# -- the client must be at least the server's major --------------------------------------------------
def _fake_client(tmp_path, major):
    """pg_dump and pg_restore wrappers that report ``major`` for --version and run the real tool otherwise."""
    for tool in ("pg_dump", "pg_restore"):
        path = tmp_path / tool
        path.write_text(f'#!/bin/sh\nif [ "$1" = "--version" ]; then echo "{tool} (PostgreSQL) {major}.4"; exit 0; fi\n'
                        f'exec /usr/bin/{tool} "$@"\n')
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return {"PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}


def test_a_client_older_than_the_server_is_refused(tmp_path, pg, s3, small_url, verified_prefix, run, verify_url,
                                                   pushgateway):
    env = _fake_client(tmp_path, 14)
    prefix = f"oldclient/{uuid.uuid4().hex[:8]}"
    code, logs, err = run("backup", "--database-url", small_url, "--bucket", BUCKET, "--prefix", prefix,
                          "--pushgateway", pushgateway.url, env=env)
    assert code == 1
    assert err == (f"pgbackup: pg_dump 14 is older than the PostgreSQL 15 server at 127.0.0.1:{pg.port}; "
                   "refusing to run (use postgresql-client-15 or newer)\n")
    assert _keys(s3, prefix) == []
    assert pushed_metrics(pushgateway, "backup", DATABASE)["pgbackup_last_run_success"] == 0

    code, logs, err = run("verify", "--scratch-url", verify_url, "--bucket", BUCKET, "--prefix", verified_prefix,
                          "--pushgateway", pushgateway.url, env=env)
    assert code == 1
    assert err.startswith("pgbackup: pg_restore 14 is older than the PostgreSQL 15 server") and err.count("\n") == 1
    assert pushed_metrics(pushgateway, "verify", DATABASE)["pgbackup_last_run_success"] == 0
    assert _scratch_databases(pg) == 0

    target = pg.create_database("oldclient_target")
    code, logs, err = run("restore", "--target-url", target, "--bucket", BUCKET, "--prefix", verified_prefix, env=env)
    assert code == 1
    assert err.startswith("pgbackup: pg_restore 14 is older than the PostgreSQL 15 server") and err.count("\n") == 1


def test_a_client_as_new_as_or_newer_than_the_server_passes(tmp_path, small_url, s3, run):
    env = _fake_client(tmp_path, 17)
    prefix = f"newclient/{uuid.uuid4().hex[:8]}"
    code, logs, err = run("backup", "--database-url", small_url, "--bucket", BUCKET, "--prefix", prefix, env=env)
    assert code == 0, err
    connect = next(l for l in logs if l["step"] == "connect")
    assert (connect["client_major"], connect["server_major"]) == (17, 15)
    assert any(k.endswith("/manifest.json") for k in _keys(s3, prefix))


# -- the fixed cost of a run: nothing waits that need not ---------------------------------------------
def test_pg_dump_starts_without_waiting_for_its_version_check(tmp_path, small_url, s3, run):
    """The version run (a perl wrapper, then the binary) overlaps the dump instead of delaying it:
    this pg_dump answers --version only once the dump itself has started, and says so if it had to
    give up waiting. The check still refuses an older client (test above)."""
    started = tmp_path / "dump-started"
    tool = tmp_path / "pg_dump"
    tool.write_text('#!/bin/sh\nif [ "$1" = "--version" ]; then\n'
                    f'  i=0; while [ ! -e "{started}" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done\n'
                    f'  if [ -e "{started}" ]; then echo "pg_dump (PostgreSQL) 15.4"; '
                    'else echo "pg_dump (PostgreSQL) 15.4 (asked before the dump started)"; fi\n  exit 0\nfi\n'
                    f'touch "{started}"\nexec /usr/bin/pg_dump "$@"\n')
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    prefix = f"overlap/{uuid.uuid4().hex[:8]}"
    code, logs, err = run("backup", "--database-url", small_url, "--bucket", BUCKET, "--prefix", prefix,
                          env={"PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"})
    assert code == 0, err
    backup_id = next(l for l in logs if l["step"] == "done")["backup_id"]
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{prefix}/{backup_id}/manifest.json")["Body"].read())
    assert manifest["pg_dump_version"] == "pg_dump (PostgreSQL) 15.4"


def test_verify_drops_the_scratch_database_even_when_the_record_cannot_be_written(verified_prefix, pg, run,
                                                                                verify_url, clean_proxy):
    """The drop runs beside the record's write; a failed write still waits for it."""
    clean_proxy.fail_put_to = ".json"  # verify writes nothing else
    code, logs, err = run("verify", "--scratch-url", verify_url, "--bucket", BUCKET,
                          "--prefix", verified_prefix, "--count", "1", endpoint=clean_proxy.url)
    assert code == 1
    assert err.startswith("pgbackup: S3 write failed for") and err.count("\n") == 1, err
    assert [l["step"] for l in logs].count("drop-scratch") == 1
    assert _scratch_databases(pg) == 0
