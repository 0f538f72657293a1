"""The init container's hand-off of the database password, end to end: the script the CronJobs run
reads an RDS-style secret from Secrets Manager (moto's server), writes a libpq password file, and
libpq (psql, as pg_dump would) logs in with it to a real PostgreSQL - with a password full of the
characters the file format must escape."""
import json
import os
import stat
import subprocess
import sys

import boto3
import psycopg
import pytest
from psycopg import sql

from leadgen.data import PGPASS_SCRIPT, pgpass_line
from tests.pgbackup.harness import MotoServer, PostgresServer

USER = "backup_user"
PASSWORD = "s3cr:et\\with:colons\\and\\backslashes"


@pytest.fixture(scope="module")
def moto():
    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def pg():
    server = PostgresServer().start()
    yield server
    server.stop()


def _aws_env(moto) -> dict:
    return {"AWS_ENDPOINT_URL": moto.url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}


def _secret(moto, value: dict) -> str:
    client = boto3.client("secretsmanager", endpoint_url=moto.url, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    return client.create_secret(Name=f"rds!db-{os.urandom(4).hex()}", SecretString=json.dumps(value))["ARN"]


def _run_script(moto, arn: str, pgpass) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], **_aws_env(moto), "DB_SECRET_ARN": arn, "PGPASSFILE": str(pgpass)}
    return subprocess.run([sys.executable, "-c", PGPASS_SCRIPT], env=env, capture_output=True, text=True,
                          timeout=60)


def test_script_writes_a_private_password_file_that_libpq_accepts(moto, pg, tmp_path):
    arn = _secret(moto, {"username": USER, "password": PASSWORD})
    pgpass = tmp_path / "pgpass"
    proc = _run_script(moto, arn, pgpass)
    assert proc.returncode == 0, proc.stderr
    assert pgpass.read_text() == pgpass_line(USER, PASSWORD)
    assert stat.S_IMODE(pgpass.stat().st_mode) == 0o600  # libpq ignores a file others can read
    assert PASSWORD not in proc.stdout + proc.stderr  # the log names the secret, not its value
    assert json.loads(proc.stdout) == {"command": "pgpass", "step": "done", "secret": arn}

    with pg.connect() as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(USER), sql.Literal(PASSWORD)))
    url = f"postgresql://{USER}@127.0.0.1:{pg.port}/postgres?sslmode=disable"
    env = {"PATH": os.environ["PATH"], "PGPASSFILE": str(pgpass), "PGCONNECT_TIMEOUT": "10"}
    who = subprocess.run(["psql", url, "-Atc", "SELECT current_user"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert who.returncode == 0, who.stderr
    assert who.stdout.strip() == USER

    # Without the file the same URL is refused: the password came from the file and nowhere else.
    bare = subprocess.run(["psql", url, "-Atc", "SELECT 1"], env={**env, "PGPASSFILE": str(tmp_path / "none")},
                          capture_output=True, text=True, timeout=60)
    assert bare.returncode != 0


def test_script_fails_without_writing_when_the_secret_is_missing(moto, tmp_path):
    pgpass = tmp_path / "pgpass"
    proc = _run_script(moto, "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-missing-abcdef", pgpass)
    assert proc.returncode != 0
    assert not pgpass.exists()
    assert proc.stderr.strip().splitlines() == [
        "pgpass: cannot read the database secret arn:aws:secretsmanager:us-east-1:123456789012:secret:"
        "rds!db-missing-abcdef (ResourceNotFoundException)"]
