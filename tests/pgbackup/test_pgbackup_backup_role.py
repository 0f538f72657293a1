"""The backup role as the runbook creates it, against real PostgreSQL: the SQL block of
docs/runbooks/backup-restore.md ("The backup role") run as written gives a role that dumps the
whole test schema (four schemas, a view, sequences, a large object) into a backup that verifies,
and that cannot change anything it reads."""
import json
import re
import secrets
import uuid

import psycopg
import pytest
from psycopg import errors

from jobs.pgbackup import db, psql
from jobs.pgbackup.db import DatabaseUrl

from .conftest import BUCKET
from .harness import REPO, generate_database

RUNBOOK = REPO / "docs" / "runbooks" / "backup-restore.md"
ROLE = "pgbackup_backup"
DATABASE = "backup_role_source"


def runbook_sql(heading: str) -> str:
    """The first ```sql block under a runbook heading, as an operator would paste it."""
    text = RUNBOOK.read_text()
    start = text.index(f"### {heading}")
    match = re.compile(r"```sql\n(.*?)```", re.S).search(text, start)
    assert match and match.start() < text.find("\n### ", start + 4), f"no sql block under {heading!r}"
    return match.group(1)


@pytest.fixture(scope="module")
def source(pg):
    """A database of the full test schema (its own: the grants below stay out of the shared one)."""
    url = generate_database(pg, DATABASE, random_mib=0)
    # RDS's role for IAM logins, absent from a plain server: the runbook grants it.
    with pg.connect() as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam'").fetchone():
            conn.execute("CREATE ROLE rds_iam NOLOGIN")
    return url


@pytest.fixture(scope="module")
def role_url(pg, source):
    sql = runbook_sql("The backup role").replace("insurance_lead_gen", DATABASE)
    assert f"CREATE ROLE {ROLE} LOGIN;" in sql
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(sql)
        # Stands in for the IAM token RDS accepts once the role is in rds_iam.
        password = secrets.token_urlsafe(12)
        conn.execute(f"ALTER ROLE {ROLE} PASSWORD '{password}'")
    return pg.url(DATABASE, user=ROLE, password=password)


def _manifest(s3, prefix, backup_id):
    return json.loads(s3.get_object(Bucket=BUCKET, Key=f"{prefix}/{backup_id}/manifest.json")["Body"].read())


def test_the_runbooks_backup_role_dumps_everything_into_a_backup_that_verifies(s3, run, source, role_url,
                                                                              verify_url):
    prefix = f"backup-role/{uuid.uuid4().hex[:8]}"
    code, logs, err = run("backup", "--database-url", role_url, "--bucket", BUCKET, "--prefix", prefix)
    assert code == 0, err
    connect = next(l for l in logs if l["step"] == "connect")
    assert connect["role"] == ROLE
    backup_id = next(l for l in logs if l["step"] == "done")["backup_id"]
    manifest = _manifest(s3, prefix, backup_id)
    # The same rows and large objects the superuser sees: nothing was hidden from the role.
    with psql.Session(DatabaseUrl.parse(source, "--database-url")) as session:
        tables, large_objects = db.row_counts(session)
    assert manifest["tables"] == tables and manifest["large_objects"] == large_objects == 1
    assert tables['"Mixed Case"."Odd ""Table"" ü"'] == 2 and tables["public.leads"] == 100000
    # And the dump restores to exactly those rows.
    code, logs, err = run("verify", "--backup", backup_id, "--scratch-url", verify_url,
                          "--bucket", BUCKET, "--prefix", prefix)
    assert code == 0, err
    assert next(l for l in logs if l["step"] == "compare")["mismatches"] == []


@pytest.mark.parametrize("statement", [
    "INSERT INTO public.leads (id, full_name, created_at) VALUES (-1, 'x', now())",
    "UPDATE public.leads SET email = NULL WHERE id = 1",
    "DELETE FROM sales.quotes WHERE id = 1",
    "TRUNCATE audit.events",
    "DROP TABLE public.empty_table",
    "ALTER TABLE public.leads ADD COLUMN x int",
    "CREATE TABLE public.planted (id int)",
    "CREATE SCHEMA planted",
    "SELECT setval('sales.quotes_id_seq', 1)",
    "SELECT lo_unlink((SELECT min(oid) FROM pg_largeobject_metadata))",
    "SELECT lo_put((SELECT min(oid) FROM pg_largeobject_metadata), 0, '\\x00')",
    "COMMENT ON TABLE public.leads IS 'planted'",
    "CREATE ROLE planted",
    "CREATE DATABASE planted",
])
def test_the_backup_role_cannot_write(role_url, statement):
    with psycopg.connect(role_url, autocommit=True) as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(statement)


def test_the_backup_role_has_no_attribute_beyond_login(role_url):
    with psycopg.connect(role_url, autocommit=True) as conn:
        row = conn.execute("SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolcanlogin "
                           "FROM pg_roles WHERE rolname = current_user").fetchone()
        member_of = {r[0] for r in conn.execute(
            "SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid "
            "JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = current_user")}
    assert row == (False, False, False, False, False, True)
    assert member_of == {"pg_read_all_data", "rds_iam"}


def test_a_large_object_the_role_cannot_read_fails_the_backup_naming_the_fix(pg, s3, run, role_url):
    """A large object made after the grants (the application's, before PostgreSQL 18): the backup
    fails in one line that says what to grant, and leaves nothing in the bucket."""
    url = pg.create_database("backup_role_new_lo")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.docs (id int PRIMARY KEY, content oid)")
        conn.execute("INSERT INTO public.docs VALUES (1, lo_from_bytea(0, 'policy'))")
    prefix = f"backup-role-lo/{uuid.uuid4().hex[:8]}"
    code, logs, err = run("backup", "--database-url", role_url.replace(f"/{DATABASE}", "/backup_role_new_lo"),
                          "--bucket", BUCKET, "--prefix", prefix)
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert "permission denied for large object" in err
    assert f"role {ROLE} must be able to read everything it dumps" in err and '"The backup role"' in err
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("KeyCount", 0) == 0
