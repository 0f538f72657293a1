"""pgbackup's own S3 client (jobs/pgbackup/s3.py): awscrt's credentials and SigV4 on the standard
library's HTTP client, in place of botocore.

Signatures are checked by something that refuses bad ones (moto with IAM authentication on, and
botocore's own signer byte for byte); errors, retries and credentials against a scripted loopback
server; the lost-reply cases through the fault proxy to moto.
"""
import contextlib
import hashlib
import http.server
import io
import json
import socket
import threading
import uuid
from datetime import datetime, timezone

import boto3
import psycopg
import pytest
from awscrt import auth

from jobs.pgbackup import backup
from jobs.pgbackup.db import DatabaseUrl
from jobs.pgbackup.defaults import MIN_PART_SIZE
from jobs.pgbackup.errors import PgBackupError
from jobs.pgbackup.log import StepLog
from jobs.pgbackup.s3 import (S3Client, S3Config, S3ConfigError, S3CredentialsError, S3Error, S3TransportError,
                              error_from_reply, quote_key)
from jobs.pgbackup.store import Store

from .conftest import BUCKET, tool_client
from .harness import MotoServer

HOSTILE_KEYS = ["p/a b/c+d~e.json", "p/ü/李/Ørsted 🚀.json", "p/semi;colon,comma=eq&amp/x?y#z.json",
                "p/%41-not-decoded/x*y'(z)!.json"]


# -- configuration and addressing -------------------------------------------------------------------
def test_region_and_endpoint_come_from_the_environment_as_botocore_reads_them():
    env = {"AWS_DEFAULT_REGION": "eu-west-1"}
    assert S3Config.from_env(env) == S3Config("eu-west-1", "https://s3.eu-west-1.amazonaws.com", path_style=False)
    env["AWS_REGION"] = "eu-central-1"
    assert S3Config.from_env(env).region == "eu-central-1"
    env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9000"
    assert S3Config.from_env(env) == S3Config("eu-central-1", "http://127.0.0.1:9000", path_style=True)
    env["AWS_ENDPOINT_URL_S3"] = "https://minio.internal:9443/"
    assert S3Config.from_env(env).endpoint == "https://minio.internal:9443"
    env["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true"
    assert S3Config.from_env(env).endpoint == "https://s3.eu-central-1.amazonaws.com"


def test_no_region_is_one_clear_line():
    with pytest.raises(S3ConfigError) as info:
        S3Config.from_env({"AWS_ENDPOINT_URL": "http://127.0.0.1:9000"})
    assert str(info.value) == "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION)"
    with pytest.raises(S3ConfigError, match="AWS_ENDPOINT_URL_S3 is not an http"):
        S3Config.from_env({"AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL_S3": "s3.example.com"})


def test_aws_is_addressed_virtual_hosted_and_a_custom_endpoint_path_style():
    aws = S3Config.from_env({"AWS_REGION": "eu-west-1"})
    assert aws.address("leadgen-backups", "prod/a b+c.json") == \
        ("leadgen-backups.s3.eu-west-1.amazonaws.com", "/prod/a%20b%2Bc.json")
    # Dots would not match the certificate's wildcard; upper case is not a host name: path-style.
    assert aws.address("my.bucket", "k") == ("s3.eu-west-1.amazonaws.com", "/my.bucket/k")
    assert aws.address("Legacy_Bucket", "k") == ("s3.eu-west-1.amazonaws.com", "/Legacy_Bucket/k")
    custom = S3Config.custom("us-east-1", "http://127.0.0.1:5000")
    assert custom.address("leadgen-backups", "k/x") == ("127.0.0.1:5000", "/leadgen-backups/k/x")
    assert custom.address("leadgen-backups") == ("127.0.0.1:5000", "/leadgen-backups")


def test_keys_are_encoded_once_with_slashes_kept():
    assert quote_key("a b/c+d~e/ü%41") == "a%20b/c%2Bd~e/%C3%BC%2541"


# -- signatures a server checks -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def authed():
    """moto checking every signature, access key and session token after the set-up's six calls:
    an IAM user with a key, a role it may assume, and the bucket."""
    server = MotoServer(env={"INITIAL_NO_AUTH_ACTION_COUNT": "6"}).start()
    try:
        setup = dict(endpoint_url=server.url, aws_access_key_id="setup", aws_secret_access_key="setup",
                     region_name="us-east-1")
        iam = boto3.client("iam", **setup)
        allow = json.dumps({"Version": "2012-10-17",
                            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
        iam.create_user(UserName="pgbackup")
        iam.put_user_policy(UserName="pgbackup", PolicyName="all", PolicyDocument=allow)
        key = iam.create_access_key(UserName="pgbackup")["AccessKey"]
        trust = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
        role = iam.create_role(RoleName="pgbackup", AssumeRolePolicyDocument=trust)["Role"]
        iam.put_role_policy(RoleName="pgbackup", PolicyName="all", PolicyDocument=allow)
        boto3.client("s3", **setup).create_bucket(Bucket=BUCKET)
        sts = boto3.client("sts", endpoint_url=server.url, aws_access_key_id=key["AccessKeyId"],
                           aws_secret_access_key=key["SecretAccessKey"], region_name="us-east-1")
        session = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="pgbackup-test")["Credentials"]
        yield server, key, session
    finally:
        server.stop()


def _every_call(client: S3Client, prefix: str) -> None:
    """Each request the tool makes, with each header set it sends, on keys that need encoding."""
    for key in HOSTILE_KEYS:
        key = f"{prefix}/{key}"
        etag = client.put_object(Bucket=BUCKET, Key=key, Body=b'{"k": 1}', IfNoneMatch="*",
                                 ContentType="application/json")["ETag"]
        response = client.get_object(Bucket=BUCKET, Key=key, IfMatch=etag)
        assert response["Body"].read(100) == b'{"k": 1}' and response["ContentLength"] == 8
    client.page_size = 1  # a continuation token in every listing after the first
    pages = list(client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{prefix}/p/"))
    assert len(pages) == len(HOSTILE_KEYS)
    assert sorted(o["Key"] for page in pages for o in page["Contents"]) == \
        sorted(f"{prefix}/{key}" for key in HOSTILE_KEYS)
    key = f"{prefix}/p/dump one+two.pgcustom"
    upload = client.create_multipart_upload(Bucket=BUCKET, Key=key, ContentType="application/octet-stream",
                                            ServerSideEncryption="aws:kms", SSEKMSKeyId="alias/leadgen-backups")
    parts = [{"PartNumber": n, **client.upload_part(Bucket=BUCKET, Key=key, UploadId=upload["UploadId"],
                                                    PartNumber=n, Body=data)}
             for n, data in ((1, b"a" * MIN_PART_SIZE), (2, b"tail"))]
    client.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload["UploadId"], IfNoneMatch="*",
                                     MultipartUpload={"Parts": parts})
    assert client.get_object(Bucket=BUCKET, Key=key)["ContentLength"] == MIN_PART_SIZE + 4
    dropped = client.create_multipart_upload(Bucket=BUCKET, Key=key + ".dropped")["UploadId"]
    client.abort_multipart_upload(Bucket=BUCKET, Key=key + ".dropped", UploadId=dropped)


@pytest.mark.parametrize("sign_payload", [True, False], ids=["payload-sha256", "unsigned-payload"])
def test_moto_with_authentication_accepts_every_call_the_tool_makes(authed, sign_payload):
    server, key, _ = authed
    client = tool_client(server.url, key["AccessKeyId"], key["SecretAccessKey"])
    client.sign_payload = sign_payload  # UNSIGNED-PAYLOAD is what goes out over TLS
    _every_call(client, f"signed-{uuid.uuid4().hex[:8]}")


def test_moto_with_authentication_accepts_a_session_token_and_refuses_a_wrong_one(authed):
    server, _, session = authed
    client = tool_client(server.url, session["AccessKeyId"], session["SecretAccessKey"], session["SessionToken"])
    _every_call(client, f"session-{uuid.uuid4().hex[:8]}")
    forged = session["SessionToken"][:-4] + "AAAA"
    wrong = tool_client(server.url, session["AccessKeyId"], session["SecretAccessKey"], forged)
    with pytest.raises(S3Error) as info:
        wrong.get_object(Bucket=BUCKET, Key="anything")
    assert info.value.status in (400, 403) and info.value.code == "InvalidToken"
    assert forged not in str(info.value) and session["SecretAccessKey"] not in str(info.value)


def test_moto_with_authentication_refuses_a_wrong_secret_and_the_line_carries_no_secret(authed):
    server, key, _ = authed
    secret = "wrong" + key["SecretAccessKey"][5:]
    store = Store(BUCKET, "refused", client=tool_client(server.url, key["AccessKeyId"], secret))
    with pytest.raises(PgBackupError) as info:
        store.put_json("refused/x.json", {"a": 1})
    text = str(info.value)
    assert "SignatureDoesNotMatch" in text and text.startswith(f"S3 write failed for s3://{BUCKET}/refused/x.json")
    assert secret not in text and key["SecretAccessKey"] not in text and "Signature=" not in text
    with pytest.raises(PgBackupError, match=r"S3 list failed for .*\(SignatureDoesNotMatch: "):
        store.entries()


FIXED = datetime(2026, 11, 22, 2, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:5000", "https://s3.eu-west-1.amazonaws.com"])
@pytest.mark.parametrize("token", [None, "FQoGZXIvYXdzEBY//session+token/="])
def test_authorization_is_byte_for_byte_botocores(monkeypatch, endpoint, token):
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: FIXED.replace(tzinfo=None))
    config = S3Config.custom("eu-west-1", endpoint) if endpoint.startswith("http:") \
        else S3Config.from_env({"AWS_REGION": "eu-west-1"})
    client = S3Client(config, auth.AwsCredentialsProvider.new_static("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCY",
                                                                     token), clock=lambda: FIXED)
    body = b'{"a": 1}\n'
    cases = [
        ("GET", "leadgen-backups", "", [("encoding-type", "url"), ("list-type", "2"), ("prefix", "prod/a b+c/"),
                                        ("continuation-token", "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=")], {}, b""),
        ("GET", "leadgen-backups", "prod/ü/x y+z~.json", [], {"If-Match": '"0123abcd"'}, b""),
        ("PUT", "leadgen-backups", "prod/20261122T020000Z-1a2b3c4d/manifest.json", [],
         {"If-None-Match": "*", "Content-Type": "application/json", "x-amz-server-side-encryption": "aws:kms",
          "x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:eu-west-1:111122223333:key/abcd",
          "Content-MD5": "c2hvdWxkIGJlIGFuIG1kNQ=="}, body),
        ("POST", "leadgen-backups", "prod/dump.pgcustom", [("uploads", "")], {"Content-Type": "application/octet-stream"}, b""),
        ("PUT", "leadgen-backups", "prod/dump.pgcustom", [("partNumber", "3"), ("uploadId", "VXBsb2FkIElE+/=")],
         {"Content-MD5": "c2hvdWxkIGJlIGFuIG1kNQ=="}, body),
        ("POST", "leadgen-backups", "prod/dump.pgcustom", [("uploadId", "VXBsb2FkIElE+/=")],
         {"Content-Type": "application/xml", "If-None-Match": "*"}, body),
        ("DELETE", "leadgen-backups", "prod/dump.pgcustom", [("uploadId", "VXBsb2FkIElE+/=")], {}, b""),
    ]
    for method, bucket, key, query, headers, data in cases:
        host, target = client._target(bucket, key, query)
        object_data = method == "PUT"  # PutObject and UploadPart: botocore's streaming bodies
        ours = {name.lower(): value
                for name, value in client._sign(method, host, target, dict(headers), data, object_data)}
        request = AWSRequest(method=method, url=f"{config.endpoint.split('://')[0]}://{host}{target}",
                             headers={"Host": host, **headers}, data=data)
        request.context["has_streaming_input"] = object_data
        botocore.auth.S3SigV4Auth(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCY", token), "s3",
                                  "eu-west-1").add_auth(request)
        theirs = {name.lower(): value for name, value in request.headers.items()}
        assert ours == theirs, (method, target)
        assert ("x-amz-security-token" in ours) == (token is not None)
        assert (ours["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD") == (object_data and endpoint.startswith("https"))


# -- errors, retries and credentials against a scripted server ----------------------------------------
class Scripted:
    """A loopback HTTP server answering from a script: (status, headers, body), "reset" (close
    without a reply), ("short", body, declared length), or a function of the request returning
    one of those. Records every request it gets."""

    def __init__(self, tls=None):
        self.script: list = []
        self.requests: list[dict] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                outer.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                       "body": self.rfile.read(length) if length else b""})
                step = outer.script.pop(0) if outer.script else (200, {}, b"")
                if callable(step):
                    step = step(outer.requests[-1])
                if step == "reset":
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if step[0] == "short":
                    self.send_response(200)
                    self.send_header("Content-Length", str(step[2]))
                    self.end_headers()
                    self.wfile.write(step[1])
                    self.wfile.flush()
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                status, headers, body = step
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _answer

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        port = self.server.server_address[1]
        self.url = f"https://localhost:{port}" if tls else f"http://127.0.0.1:{port}"  # the name the cert carries

    def client(self, **credentials) -> S3Client:
        client = tool_client(self.url, **credentials)
        client._sleep = lambda seconds: None  # the backoff is not under test here
        return client


@pytest.fixture
def scripted():
    server = Scripted()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _xml_error(code: str, message: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
            "<RequestId>4442587FB7D0A2F9</RequestId></Error>").encode()


def test_error_replies_carry_status_code_and_message():
    error = error_from_reply(403, _xml_error("AccessDenied", "Access\n Denied"))
    assert (error.status, error.code, error.message, str(error)) == (403, "AccessDenied", "Access Denied",
                                                                     "AccessDenied: Access Denied")
    assert (error_from_reply(404, b"").code, error_from_reply(412, b"").code) == ("NotFound", "PreconditionFailed")
    assert error_from_reply(503, b"<html>busy</html>").code == "ServiceUnavailable"
    # XML 1.0 carries no ESC (such a body is no error document); what it can carry stays on one line.
    assert str(error_from_reply(400, _xml_error("Bad\x1b[2J", "x"))) == "BadRequest"
    assert str(error_from_reply(400, _xml_error("Bad", "forged&#13;line\u202etxt.exe"))) == \
        "Bad: forged line\\u202etxt.exe"


def test_a_5xx_and_throttling_are_retried_then_succeed(scripted):
    scripted.script = [(503, {}, _xml_error("SlowDown", "Please reduce your request rate.")),
                       (400, {}, _xml_error("RequestTimeout", "idle")),
                       (200, {"ETag": '"e"'}, b"document")]
    response = scripted.client().get_object(Bucket=BUCKET, Key="k")
    assert response["Body"].read() == b"document"
    assert len(scripted.requests) == 3


def test_three_attempts_then_the_error_and_a_client_error_is_not_retried(scripted):
    scripted.script = [(500, {}, _xml_error("InternalError", "try again"))] * 3
    with pytest.raises(S3Error, match="InternalError: try again"):
        scripted.client().put_object(Bucket=BUCKET, Key="k", Body=b"x")
    assert len(scripted.requests) == 3
    scripted.requests.clear()
    scripted.script = [(403, {}, _xml_error("AccessDenied", "Access Denied"))]
    with pytest.raises(S3Error, match="AccessDenied"):
        scripted.client().put_object(Bucket=BUCKET, Key="k", Body=b"x")
    assert len(scripted.requests) == 1


def test_a_missing_object_without_a_body_is_not_found(scripted):
    scripted.script = [(404, {}, b"")]
    assert Store(BUCKET, "p", client=scripted.client()).get_bytes("p/x.json", missing_ok=True) is None
    scripted.script = [(404, {}, b"")]
    with pytest.raises(PgBackupError, match=rf"^S3 read failed for s3://{BUCKET}/p/x.json \(NotFound\)$"):
        Store(BUCKET, "p", client=scripted.client()).get_bytes("p/x.json")


def test_a_200_carrying_an_error_on_completion_is_an_error(scripted):
    error = _xml_error("InternalError", "We encountered an internal error. Please try again.")
    done = (b'<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult><ETag>"e-2"</ETag>'
            b"</CompleteMultipartUploadResult>")
    client = scripted.client()
    scripted.script = [(200, {}, error), (200, {}, done)]
    assert client.complete_multipart_upload(Bucket=BUCKET, Key="k", UploadId="u", IfNoneMatch="*",
                                            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"a"'}]}) == \
        {"ETag": '"e-2"'}
    assert scripted.requests[0]["headers"]["If-None-Match"] == "*"
    assert b"<PartNumber>1</PartNumber><ETag>&quot;a&quot;</ETag>" in scripted.requests[0]["body"] or \
        b'<PartNumber>1</PartNumber><ETag>"a"</ETag>' in scripted.requests[0]["body"]
    scripted.script = [(200, {}, error)] * 3
    store = Store(BUCKET, "p", client=client)
    upload = store.multipart_upload("p/x/dump.pgcustom", part_size=4)
    upload.upload_id, upload.parts = "u", [{"PartNumber": 1, "ETag": '"a"'}]
    with pytest.raises(PgBackupError, match=r"S3 upload completion failed for .*\(InternalError: We encountered"):
        upload.complete()


def test_a_connection_reset_is_retried_and_an_unreachable_endpoint_named(scripted):
    scripted.script = ["reset", (200, {"ETag": '"e"'}, b"")]
    assert scripted.client().put_object(Bucket=BUCKET, Key="k", Body=b"x") == {"ETag": '"e"'}
    assert len(scripted.requests) == 2
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    client = tool_client(f"http://127.0.0.1:{port}")
    client._sleep = lambda seconds: None
    with pytest.raises(PgBackupError) as info:
        Store(BUCKET, "p", client=client).entries()
    assert str(info.value) == (f"S3 list failed for s3://{BUCKET}/p/ (cannot reach http://127.0.0.1:{port} "
                               "(connection refused))")


def test_a_body_cut_short_is_a_transport_error_not_a_short_object(scripted):
    scripted.script = [("short", b"0123456789", 100)]
    body = scripted.client().get_object(Bucket=BUCKET, Key="k")["Body"]
    with pytest.raises(S3TransportError, match="ended 90 bytes before its Content-Length"):
        list(body.iter_chunks(1024))


def test_session_token_from_the_environment_is_sent(scripted, monkeypatch, tmp_path):
    for name in ("AWS_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", scripted.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIAENVEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "env-session-token")
    scripted.script = [(200, {}, b"<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>")]
    assert Store(BUCKET, "p", client=S3Client.from_env()).entries() == []
    headers = {k.lower(): v for k, v in scripted.requests[0]["headers"].items()}
    assert headers["x-amz-security-token"] == "env-session-token"
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=ASIAENVEXAMPLE/")
    assert "/eu-west-1/s3/aws4_request" in headers["authorization"]
    assert "x-amz-security-token" in headers["authorization"].split("SignedHeaders=")[1]


def test_an_error_quoting_the_request_back_carries_no_token_nor_signature(scripted):
    token = "FQoGZXIvYXdzEBYaDLongSessionToken+/="
    client = scripted.client(session_token=token)
    scripted.script = [(400, {}, _xml_error("InvalidToken", f"token {token} rejected"))]
    with pytest.raises(S3Error) as info:
        client.get_object(Bucket=BUCKET, Key="k")
    sent = {k.lower(): v for k, v in scripted.requests[0]["headers"].items()}
    assert sent["x-amz-security-token"] == token
    assert str(info.value) == "InvalidToken: token [redacted] rejected"

    def quoting(request):
        signature = request["headers"]["Authorization"].rpartition("Signature=")[2]
        return 403, {}, _xml_error("SignatureDoesNotMatch", f"expected {'0' * 64}, got {signature}")
    scripted.script = [quoting]
    with pytest.raises(PgBackupError) as info:
        Store(BUCKET, "p", client=client).get_json("p/x.json")
    signature = scripted.requests[-1]["headers"]["Authorization"].rpartition("Signature=")[2]
    assert signature not in str(info.value) and str(info.value).endswith(f"expected {'0' * 64}, got [redacted])")


def test_no_credentials_is_one_line(scripted, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ROLE_ARN",
                 "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    client = S3Client(S3Config.custom("eu-west-1", scripted.url))
    with pytest.raises(PgBackupError) as info:
        Store(BUCKET, "p", client=client).get_json("p/x.json")
    assert str(info.value).startswith(f"S3 read failed for s3://{BUCKET}/p/x.json (no AWS credentials (")
    assert "\n" not in str(info.value) and scripted.requests == []
    with pytest.raises(S3CredentialsError):
        client.get_object(Bucket=BUCKET, Key="k")


def _self_signed(tmp_path):
    """A certificate for localhost, signed by itself: (server context, its PEM file)."""
    import ssl
    from datetime import timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    pem = tmp_path / "cert.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(pem, tmp_path / "key.pem")
    return server, pem


def test_over_tls_the_certificate_is_verified_and_object_bytes_carry_content_md5(tmp_path):
    import base64
    import ssl
    context, pem = _self_signed(tmp_path)
    server = Scripted(tls=context)
    try:
        client = server.client()
        with pytest.raises(S3TransportError, match="CERTIFICATE_VERIFY_FAILED"):
            client.put_object(Bucket=BUCKET, Key="k", Body=b"x")  # the system's CAs do not know it
        assert server.requests == []
        client._tls = ssl.create_default_context(cafile=str(pem))
        server.script = [(200, {"ETag": '"e"'}, b""), (200, {}, b"<CreateMultipartUploadResult><UploadId>u"
                                                             b"</UploadId></CreateMultipartUploadResult>")]
        assert client.put_object(Bucket=BUCKET, Key="a b", Body=b"object bytes") == {"ETag": '"e"'}
        client.create_multipart_upload(Bucket=BUCKET, Key="a b")
        put, create = ({k.lower(): v for k, v in r["headers"].items()} for r in server.requests)
        assert server.requests[0]["path"] == f"/{BUCKET}/a%20b" and server.requests[0]["body"] == b"object bytes"
        assert put["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
        assert put["content-md5"] == base64.b64encode(hashlib.md5(b"object bytes").digest()).decode()
        assert create["x-amz-content-sha256"] == hashlib.sha256(b"").hexdigest()
    finally:
        server.server.shutdown()
        server.server.server_close()


# -- through the fault proxy to moto --------------------------------------------------------------------
@pytest.mark.parametrize("fault", ["reset_reply_to", "lose_reply_to"])
def test_a_landed_put_whose_reply_was_lost_is_confirmed_by_reading_back(s3, clean_proxy, fault):
    prefix = f"lostreply/{uuid.uuid4().hex[:8]}"
    key = f"{prefix}/20261122T020000Z-00000001/manifest.json"
    setattr(clean_proxy, fault, "/manifest.json")
    client = tool_client(clean_proxy.url)
    client._sleep = lambda seconds: None
    store = Store(BUCKET, prefix, client=client)
    assert store.put_json(key, {"finished": True}) == "read-back"
    assert json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()) == {"finished": True}
    assert len(clean_proxy.puts_seen) >= 2  # the retry reached moto and met the object


def test_listing_follows_continuation_tokens(s3):
    prefix = f"pages/{uuid.uuid4().hex[:8]}"
    ids = [f"20261122T02{n:04d}Z-{n:08x}" for n in range(23)]
    for backup_id in ids:
        s3.put_object(Bucket=BUCKET, Key=f"{prefix}/{backup_id}/manifest.json", Body=b"{}")
    client = tool_client(s3.meta.endpoint_url)
    client.page_size = 5  # moto honours max-keys: five pages for 23 keys, as 1000 at a time from S3
    pages = []
    listing = client.list_objects_v2

    def counted(**kwargs):
        page = listing(**kwargs)
        pages.append(len(page["Contents"]))
        return page
    client.list_objects_v2 = counted
    entries = Store(BUCKET, prefix, client=client).entries()
    assert [e.backup_id for e in entries] == ids and pages == [5, 5, 5, 5, 3]
    assert all(e.manifest_modified.tzinfo == timezone.utc for e in entries)


# -- what the tool imports ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_url(pg):
    url = pg.create_database("s3client_tiny")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.t (id int PRIMARY KEY)")
        conn.execute("INSERT INTO public.t SELECT generate_series(1, 100)")
    return url


def test_backup_verify_restore_and_list_import_neither_botocore_nor_a_database_driver(tiny_url, verify_url, pg, run):
    """awscrt signs, http.client carries; psql, pg_dump and pg_restore talk to the server."""
    prefix = f"imports/{uuid.uuid4().hex[:8]}"
    common = ["--bucket", BUCKET, "--prefix", prefix]
    target = pg.create_database("s3client_tiny_restore")
    for args in (["backup", "--database-url", tiny_url], ["verify", "--scratch-url", verify_url], ["list"],
                 ["restore", "--target-url", target]):
        code, _, err = run(*args, *common, env={"PYTHONPROFILEIMPORTTIME": "1"})
        imported = [line.rsplit("|", 1)[-1].strip() for line in err.splitlines() if line.startswith("import time:")]
        assert code == 0, err[-2000:]
        assert "awscrt.auth" in imported, args[0]  # the S3 client was made: the check sees its imports
        assert [m for m in imported if m.split(".")[0] in ("botocore", "boto3", "psycopg", "psycopg_binary")] == [], \
            args[0]


def test_an_in_process_backup_through_the_tool_client_writes_what_boto3_reads(s3, tiny_url):
    prefix = f"inproc/{uuid.uuid4().hex[:8]}"
    client = tool_client(s3.meta.endpoint_url)
    result = backup.backup(DatabaseUrl.parse(tiny_url, "--database-url"), Store(BUCKET, prefix, client=client),
                           StepLog("backup", stream=io.StringIO()), MIN_PART_SIZE)
    key = f"{prefix}/{result['backup_id']}/dump.pgcustom"
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{prefix}/{result['backup_id']}/manifest.json")["Body"].read())
    assert hashlib.sha256(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).hexdigest() == manifest["dump"]["sha256"]
