"""The live fetch: real HTTP through the gate's deadline-bounded, SigV4-signing client. S3 answers
come back in the shape the recorded answers have (what `aws s3api list-objects-v2` prints), so the
backups section reads a real bucket (moto in server mode) through pgbackup's library; a source
that is down, slow or has no credentials is Unreachable with the reason, never an answer."""
from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import json
import socketserver
import threading
import time

import boto3
import pytest

from weeklykit import FIXTURES, MotoServer, free_port

from platformctl.weekly import sources
from platformctl.weekly.model import Context, Unreachable

BUCKET = "insurance-lead-gen-production-backups-123456789012"


@pytest.fixture()
def aws(monkeypatch, tmp_path):
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


def live(**kw) -> sources.LiveFetch:
    return sources.LiveFetch(stack="production", region="us-east-1", **{"prometheus_url": "", **kw})


def test_s3_answers_in_the_recorded_shape_and_backups_read_a_real_bucket(aws):
    aws.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE0000000")
    aws.setenv("AWS_SECRET_ACCESS_KEY", "secret-example")
    with MotoServer() as moto:
        aws.setenv("AWS_ENDPOINT_URL", moto.url)
        s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=moto.url)
        s3.create_bucket(Bucket=BUCKET)
        started = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=30)
        ident = started.strftime("%Y%m%dT%H%M%SZ") + "-0a1b2c3d"
        dump = b"PGDMP not really"
        sha = hashlib.sha256(dump).hexdigest()
        s3.put_object(Bucket=BUCKET, Key=f"postgres/{ident}/dump.pgcustom", Body=dump)
        manifest = {"format": 1, "backup_id": ident, "database": "insurance_lead_gen",
                    "started_at": started.isoformat().replace("+00:00", "Z"),
                    "finished_at": dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z"),
                    "dump": {"key": f"postgres/{ident}/dump.pgcustom", "size": len(dump), "sha256": sha},
                    "tables": {"public.leads": 3}, "large_objects": 0}
        s3.put_object(Bucket=BUCKET, Key=f"postgres/{ident}/manifest.json", Body=json.dumps(manifest).encode())
        record = {"backup_id": ident, "status": "verified", "verified_at": "2026-12-01T05:06:12Z", "problems": [],
                  "dump_sha256": sha}
        s3.put_object(Bucket=BUCKET, Key=f"postgres/{ident}/verifications/20261201T050612.000000Z-9f8e7d6c.json",
                      Body=json.dumps(record).encode())

        fetch = live()
        listing = fetch("s3", "ListObjectsV2", {"Bucket": BUCKET, "Prefix": "postgres/"})
        recorded = json.loads((FIXTURES / "s3" / "ListObjectsV2.json").read_text())["response"]
        assert set(listing) >= {"Contents", "IsTruncated", "KeyCount", "Name", "Prefix"} and "ResponseMetadata" not in listing
        assert set(listing["Contents"][0]) >= set(recorded["Contents"][0])
        assert dt.datetime.fromisoformat(listing["Contents"][0]["LastModified"]).tzinfo is not None
        assert fetch("s3", "GetObject", {"Bucket": BUCKET, "Key": f"postgres/{ident}/manifest.json"}) == manifest

        from platformctl.weekly.sections import backups
        outputs = json.loads((FIXTURES / "pulumi" / "stack-output.json").read_text())
        mixed = lambda service, op, params: outputs if service == "pulumi" else fetch(service, op, params)
        from leadgen.config import load
        from platformctl.project import project_name, stack_config
        cfg = load(project_name(), "production", stack_config("production"))
        now = dt.datetime.now(dt.timezone.utc)
        section = backups.assess(Context(stack="production", config=cfg, now=now, since=now - dt.timedelta(days=7),
                                         fetch=mixed))
    assert section.status == "ok", section
    assert section.figure.startswith(f"newest backup per database: insurance_lead_gen: {ident}, finished ")
    assert "restored and checked 2026-12-01T05:06:12Z" in section.rows[1].figure


def test_aws_without_credentials_is_unreachable_without_a_request(aws):
    with pytest.raises(Unreachable, match=r"^ecr DescribeImageScanFindings at api\.ecr\.us-east-1\.amazonaws\.com "
                                          r"needs AWS credentials to sign the query \(SigV4, service ecr\): none found$"):
        live()("ecr", "DescribeImageScanFindings", {"repositoryName": "api", "imageId": {"imageTag": "1.0.0"}})


def test_an_operation_aws_does_not_have_is_unreachable(aws):
    with pytest.raises(Unreachable, match="no such AWS operation"):
        live()("ecr", "DescribeEverything", {})


def test_prometheus_down_is_unreachable_with_the_reason():
    port = free_port()  # nothing listens
    with pytest.raises(Unreachable, match=rf"^Prometheus at http://127\.0\.0\.1:{port} is unreachable \("):
        live(prometheus_url=f"http://127.0.0.1:{port}")("prometheus", "query", {"query": "up"})


class _Slow(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        for _ in range(50):
            self.wfile.write(b" ")
            self.wfile.flush()
            time.sleep(0.1)

    def log_message(self, *args):
        pass


def _serve(handler):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_source_that_trickles_is_cut_at_the_deadline():
    server = _serve(_Slow)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        started = time.monotonic()
        with pytest.raises(Unreachable, match=rf"^Prometheus at {url} did not answer within 0\.5 s$"):
            live(prometheus_url=url, timeout=0.5)("prometheus", "query", {"query": "up"})
        assert time.monotonic() - started < 4  # one deadline for the whole exchange, not per read
    finally:
        server.shutdown()


class _Answer(http.server.BaseHTTPRequestHandler):
    seen: list = []

    def do_GET(self):  # noqa: N802
        type(self).seen.append(self.path)
        body = json.dumps({"status": "error", "errorType": "bad_data", "error": "parse error at char 3"}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_prometheus_error_is_shown_as_its_answer():
    server = _serve(_Answer)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/prom"
        with pytest.raises(Unreachable, match=r"answered HTTP 400: parse error at char 3$"):
            live(prometheus_url=url)("prometheus", "query", {"query": "up{", "time": "1764482400"})
        assert _Answer.seen[-1] == "/prom/api/v1/query?query=up%7B&time=1764482400"
    finally:
        server.shutdown()


def test_amp_stack_without_the_pulumi_cli_is_unreachable(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(Unreachable, match="the pulumi CLI is not on PATH"):
        live(prometheus_url="amp:stack")("prometheus", "query", {"query": "up"})


def _fake_pulumi(folder, log):
    """A `pulumi` on PATH that answers `stack output` and `stack history` from the recorded answers
    and logs its arguments, as the CLI would print them with a backend logged in."""
    exe = folder / "pulumi"
    exe.write_text(f"""#!/bin/sh
echo "$@" >> {log}
case "$1 $2" in
  "stack output") cat {FIXTURES / 'pulumi' / 'stack-output.json'} ;;
  "stack history") cat {FIXTURES / 'pulumi' / 'stack-history.json'} ;;
  *) echo "error: no stack named 'production' found" >&2; exit 255 ;;
esac
""")
    exe.chmod(0o755)


def test_the_command_runs_pulumi_once_per_answer_without_secrets(tmp_path):
    from weeklykit import offline_env, sections, weekly_json
    log = tmp_path / "pulumi.log"
    _fake_pulumi(tmp_path, log)
    env = offline_env(tmp_path)
    env["PATH"] = f"{tmp_path}:{env['PATH']}"
    code, doc = weekly_json(tmp_path, "--stack", "production", "--since", "2026-11-20", "--timeout", "2", env=env)
    got = sections(doc)
    # Today's clock: the recorded updates of 11-18 and 11-26 are judged if they fall after --since.
    assert got["changes"]["status"] == "action needed" and got["changes"]["figure"].startswith("1 update")
    # No credentials: the sections that need AWS say so instead of passing.
    assert got["kubernetes"]["status"] == "not assessed"
    assert "needs AWS credentials to sign the query (SigV4, service eks): none found" in got["kubernetes"]["reason"]
    assert "service s3" in got["backups"]["reason"] and "service aps" in got["slos"]["reason"]
    calls = log.read_text().splitlines()
    assert sorted(set(calls)) == sorted(calls), calls  # each answer asked for once
    assert all("--stack production" in c and "--show-secrets" not in c for c in calls)
    assert code in (2, 3)


def test_a_failing_pulumi_is_unreachable_with_its_last_line(tmp_path, monkeypatch):
    _fake_pulumi(tmp_path, tmp_path / "log")
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    fetch = live()
    for _ in range(2):
        with pytest.raises(Unreachable, match=r"^pulumi stack export failed: error: no stack named 'production' found$"):
            fetch("pulumi", "stack-export", {"stack": "production"})
    assert (tmp_path / "log").read_text().count("stack export") == 1


@pytest.mark.parametrize("stack, gates, setting", [
    # production's store is the CAB's: the line names gates.yaml's key, which its stack file may not set.
    ("production", "stacks:\n  production:\n    monthly_budget_usd: 25000\n",
     "governance/gates.yaml stacks.production.prometheus_url"),
    # A refused value leaves no store either, and the same key to fix.
    ("production", "stacks:\n  production:\n    prometheus_url: 'https://u:pw@prom.example'\n",
     "governance/gates.yaml stacks.production.prometheus_url"),
    ("dev", "stacks: {}\n", "leadgen:governance.prometheusUrl"),
])
def test_no_store_names_the_key_that_sets_it(tmp_path, stack, gates, setting):
    import shutil

    from platformctl.commands import weekly
    from platformctl.project import ROOT

    for name in ("Pulumi.yaml", f"Pulumi.{stack}.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "governance").mkdir()
    (tmp_path / "governance" / "gates.yaml").write_text(gates)
    url, named, _ = weekly._store_url(stack, tmp_path)
    assert (url, named) == ("", setting)
    fetch = sources.LiveFetch(stack=stack, region="us-east-1", prometheus_url=url, store_setting=named)
    with pytest.raises(Unreachable) as err:
        fetch("prometheus", "query", {"query": "up"})
    assert str(err.value) == f"Prometheus: no SLO store is configured ({setting})"
