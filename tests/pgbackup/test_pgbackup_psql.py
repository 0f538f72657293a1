"""The tool's database side without a driver: libpq's parser through ctypes, psql sessions for the
snapshot, the row counts and verify's checks (test_s3_client.py checks that no command imports psycopg)."""
import io
import json
import subprocess

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from jobs.pgbackup import backup, conninfo, db, psql
from jobs.pgbackup.db import DatabaseUrl
from jobs.pgbackup.defaults import MIN_PART_SIZE
from jobs.pgbackup.errors import PgBackupError
from jobs.pgbackup.log import StepLog
from jobs.pgbackup.store import Store

from .conftest import BUCKET
from .harness import aws_env

CONNINFO = [
    "postgresql://app:s3cr%40t@db.internal:6543/leads?sslmode=require&connect_timeout=3",
    "postgresql://h1,h2:5433,5434/db?target_session_attrs=read-write",
    "postgresql:///db?host=/var/run/postgresql",
    "postgresql://[::1]:5432/db",
    "host=a port=5 dbname='x y' password='it\\'s' user=u\\ v",
    "dbname=leads password='a\\\\b\\'c' options='-c search_path=x'",
    "postgres://u@h/d%20e",
]


@pytest.mark.parametrize("text", CONNINFO)
def test_libpq_parses_every_form_as_the_driver_did(text):
    params = conninfo.parse(text)
    assert params == conninfo_to_dict(text)
    # What the libpq tools get back (the password left out by the caller) means the same.
    assert conninfo.parse(conninfo.make(params)) == params


@pytest.mark.parametrize("text", ["postgresql://h/db?nosuch=1", "nonsense", "a='unterminated", "postgresql://[::1/db"])
def test_libpq_refuses_what_the_driver_refused(text):
    with pytest.raises(psycopg.ProgrammingError) as theirs:
        conninfo_to_dict(text)
    with pytest.raises(conninfo.ConninfoError) as ours:
        conninfo.parse(text)
    assert str(ours.value) == str(theirs.value).strip()


def test_a_session_returns_names_with_tabs_newlines_and_quotes_intact(pg):
    url = DatabaseUrl.parse(pg.url("postgres"), "--database-url")
    with psql.Session(url) as session:
        rows = session.rows("SELECT json_build_array(E'a\\tb\\nc', 'it''s \"q\"', NULL, 1.5)")
        assert rows == [["a\tb\nc", 'it\'s "q"', None, 1.5]]
        assert session.rows("SELECT json_build_array(g) FROM generate_series(1, 3) g") == [[1], [2], [3]]
        assert session.rows("SELECT 1 WHERE false") == []


def test_a_failing_statement_is_one_line_naming_the_server(pg):
    url = DatabaseUrl.parse(pg.url("postgres"), "--database-url")
    session = psql.Session(url)
    try:
        session.one("SELECT json_build_array(1)")
        with pytest.raises(PgBackupError) as err:
            session.rows("SELECT json_build_array(1 / 0)")
        assert str(err.value) == f"database error at {url.where}: division by zero"
        with pytest.raises(PgBackupError, match="database error"):  # the session is over, and says so again
            session.rows("SELECT json_build_array(1)")
    finally:
        session.close()


def test_a_refused_login_is_one_line_without_the_password(pg):
    url = DatabaseUrl.parse(pg.url("postgres", password="wrong-password-here"), "--database-url")
    with pytest.raises(PgBackupError) as err:
        psql.Session(url).one("SELECT json_build_array(1)")
    assert str(err.value) == f'cannot connect to database at {url.where} (password authentication failed for user "postgres")'
    assert "wrong-password" not in str(err.value)


def test_a_backend_ended_by_the_server_is_one_line(pg):
    url = DatabaseUrl.parse(pg.url("postgres"), "--database-url")
    with psql.Session(url) as session:
        pid = session.one("SELECT json_build_array(pg_backend_pid())")[0]
        with pg.connect() as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        with pytest.raises(PgBackupError) as err:
            session.rows("SELECT json_build_array(1)")
    assert str(err.value).startswith(f"database error at {url.where}: ")
    assert "\n" not in str(err.value)


@pytest.fixture
def snapshot_db(pg):
    url = pg.create_database("pgbackup_snapshot")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.leads (id int PRIMARY KEY)")
        conn.execute("INSERT INTO public.leads SELECT generate_series(1, 1000)")
    return url


def test_rows_written_after_the_snapshot_are_in_neither_the_dump_nor_the_counts(snapshot_db, moto, s3, monkeypatch):
    """A lead inserted after the snapshot was exported, just before the counts run: the manifest
    must count what the dump holds (1,000 rows), not what the table holds by then (1,001)."""
    for key, value in aws_env(moto.url).items():
        monkeypatch.setenv(key, value)
    rows = psql.Session.rows

    def insert_first(session, sql):
        if sql is db.ROW_COUNTS_PSQL:
            with psycopg.connect(snapshot_db, autocommit=True) as conn:
                conn.execute("INSERT INTO public.leads VALUES (1001)")
        return rows(session, sql)

    monkeypatch.setattr(psql.Session, "rows", insert_first)
    prefix = "snapshot/consistent"
    result = backup.backup(DatabaseUrl.parse(snapshot_db, "--database-url"), Store(BUCKET, prefix),
                           StepLog("backup", stream=io.StringIO()), MIN_PART_SIZE)
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{prefix}/{result['backup_id']}/manifest.json")["Body"].read())
    assert manifest["tables"] == {"public.leads": 1000}
    dump = s3.get_object(Bucket=BUCKET, Key=f"{prefix}/{result['backup_id']}/dump.pgcustom")["Body"].read()
    listing = subprocess.run(["pg_restore", "--data-only", "--table=leads", "--file=-"], input=dump,
                             capture_output=True, check=True).stdout.decode()
    copied = listing.split("FROM stdin;\n", 1)[1].split("\n\\.", 1)[0].splitlines()
    assert len(copied) == 1000 and "1001" not in copied


def test_the_scram_secret_is_the_one_the_server_makes_for_the_same_password_and_salt(pg):
    """provision_role sends a SCRAM secret instead of the password (which would reach the
    statement log): the server's own secret for a password, recomputed from its salt, matches."""
    from jobs.pgbackup import scratch
    with pg.connect() as conn:
        conn.execute("DROP ROLE IF EXISTS pgbackup_scram_probe")
        conn.execute("CREATE ROLE pgbackup_scram_probe PASSWORD 'Probe-pw_0123456789'")
        stored = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = 'pgbackup_scram_probe'").fetchone()[0]
        conn.execute("DROP ROLE pgbackup_scram_probe")
    iterations, salt = stored.split("$")[1].split(":")
    import base64
    assert scratch.scram_verifier("Probe-pw_0123456789", int(iterations), base64.b64decode(salt)) == stored
    assert scratch.scram_verifier("Probe-pw_0123456789") != stored  # a fresh salt every time
