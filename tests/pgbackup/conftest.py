"""Session-wide servers for the pgbackup tests: PostgreSQL 15, moto S3, the Pushgateway, a fault proxy.

All listen on 127.0.0.1 free ports and are torn down at the end of the session.
"""
import json
import subprocess
import sys
import urllib.request
import uuid

import boto3
import pytest

from .harness import (REPO, FaultProxy, MotoServer, PostgresServer, Pushgateway, aws_env, generate_database)

BUCKET = "leadgen-backups"


@pytest.fixture(scope="session")
def pg():
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def verify_url(pg):
    """SCRATCH_DATABASE_URL as the CronJob gets it: the dedicated verify role, not the superuser."""
    return pg.create_verify_role()


@pytest.fixture(scope="session")
def moto():
    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pushgateway():
    server = Pushgateway().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def proxy(moto):
    server = FaultProxy(moto.port).start()
    yield server
    server.stop()


@pytest.fixture(autouse=False)
def clean_proxy(proxy):
    proxy.reset()
    yield proxy
    proxy.reset()


@pytest.fixture(scope="session")
def s3(moto):
    client = boto3.client("s3", endpoint_url=moto.url, aws_access_key_id="testing",
                          aws_secret_access_key="testing", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    return client


def tool_client(endpoint: str, access_key: str = "testing", secret_key: str = "testing", session_token=None):
    """The tool's own S3 client (jobs/pgbackup/s3.py) for Stores made in this process. boto3
    (``s3``) stays for setting up and cross-checking what the tool wrote."""
    from awscrt import auth

    from jobs.pgbackup.s3 import S3Client, S3Config
    return S3Client(S3Config.custom("us-east-1", endpoint),
                    auth.AwsCredentialsProvider.new_static(access_key, secret_key, session_token))


_TOOL_CLIENTS: dict = {}


def tool_client_like(boto3_client):
    """The tool's client against the endpoint a boto3 test client talks to (one per endpoint)."""
    endpoint = boto3_client.meta.endpoint_url
    if endpoint not in _TOOL_CLIENTS:
        _TOOL_CLIENTS[endpoint] = tool_client(endpoint)
    return _TOOL_CLIENTS[endpoint]


@pytest.fixture(scope="session")
def source_url(pg):
    return generate_database(pg, "insurance_lead_gen")


@pytest.fixture
def prefix():
    return f"test/{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def run(moto):
    """Runs the real CLI in a subprocess, as the CronJob does; returns (returncode, stdout lines, stderr)."""
    def _run(*args, endpoint=None, env=None):
        full_env = aws_env(endpoint or moto.url)
        full_env.update(env or {})
        proc = subprocess.run([sys.executable, "-m", "jobs.pgbackup", *args], cwd=REPO, env=full_env,
                              capture_output=True, text=True, timeout=600)
        logs = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        return proc.returncode, logs, proc.stderr
    return _run


def pushed_metrics(gateway, operation, database):
    """The metrics the Pushgateway holds for one grouping key, as {name: value}."""
    with urllib.request.urlopen(gateway.url + "/api/v1/metrics", timeout=5) as response:
        groups = json.load(response)["data"]
    for group in groups:
        labels = group["labels"]
        if labels.get("job") == "pgbackup" and labels.get("operation") == operation and labels.get("database") == database:
            return {name: float(value["metrics"][0]["value"]) for name, value in group.items()
                    if name.startswith("pgbackup_")}
    return {}
