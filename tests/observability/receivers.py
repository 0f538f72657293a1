"""Loopback stand-ins for the receivers' services (PagerDuty, Slack, the heartbeat, an SMTP relay)
and a real Alertmanager started on a test copy of the rendered configuration.

The copy differs from what the cluster runs only where the outside world is: receiver URLs and
credential files point at loopback, the relay needs no TLS, and group_wait is short so a test
does not sit out the production 10-30 s. Routing, grouping, inhibition and templates are untouched.
"""
from __future__ import annotations

import contextlib
import copy
import email
import email.header
import http.server
import json
import os
import pathlib
import socket
import socketserver
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Iterator

from leadgen.observability.yamlout import dump
from tests.observability.tools import tool


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Captured:
    """Everything the stand-ins received, in arrival order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items: list[tuple[str, Any]] = []

    def add(self, kind: str, body: Any) -> None:
        with self._lock:
            self.items.append((kind, body))

    def of(self, kind: str) -> list[Any]:
        with self._lock:
            return [b for k, b in self.items if k == kind]

    def wait_for(self, done: Callable[["Captured"], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not done(self):
            assert time.monotonic() < deadline, f"receivers got only {self.items!r}"
            time.sleep(0.2)


SNS_PUBLISHED = (b'<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult>'
                 b'<MessageId>00000000-0000-0000-0000-000000000000</MessageId></PublishResult>'
                 b'<ResponseMetadata><RequestId>x</RequestId></ResponseMetadata></PublishResponse>')


def _http_server(captured: Captured) -> socketserver.BaseServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            kind = self.path.strip("/")
            if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                # SNS's query API: answered as SNS does, or the SDK retries.
                captured.add(kind, {"form": urllib.parse.parse_qs(body.decode()), "headers": dict(self.headers)})
                reply, content_type = SNS_PUBLISHED, "text/xml"
            else:
                captured.add(kind, {"json": json.loads(body), "headers": dict(self.headers)})
                reply, content_type = b'{"status":"success","message":"Event processed","dedup_key":"x"}', "application/json"
            # PagerDuty answers 202; Slack, webhooks and SNS 200.
            self.send_response(202 if self.path.startswith("/pagerduty") else 200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            pass

    return http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)


def _smtp_server(captured: Captured) -> socketserver.BaseServer:
    """Just enough SMTP for Alertmanager's client: no TLS, no AUTH advertised, so it sends plainly."""
    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            say = lambda line: self.wfile.write(line.encode() + b"\r\n")  # noqa: E731
            say("220 localhost ESMTP capture")
            while True:
                line = self.rfile.readline()
                if not line:
                    return
                verb = line.decode(errors="replace").strip().split(" ")[0].upper()
                if verb == "EHLO":
                    say("250-localhost")
                    say("250 8BITMIME")
                elif verb == "DATA":
                    say("354 go ahead")
                    data = b""
                    while not data.endswith(b"\r\n.\r\n"):
                        chunk = self.rfile.readline()
                        if not chunk:
                            return
                        data += chunk
                    message = email.message_from_bytes(data[:-5].replace(b"\r\n..", b"\r\n."))
                    subject = str(email.header.make_header(email.header.decode_header(message["Subject"] or "")))
                    captured.add("email", {"subject": subject, "to": message["To"]})
                    say("250 queued")
                elif verb == "QUIT":
                    say("221 bye")
                    return
                else:  # HELO, MAIL, RCPT, RSET, NOOP
                    say("250 ok")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    return server


def loopback_copy(config: dict, tmp: pathlib.Path, http_port: int, smtp_port: int, group_wait: str = "1s") -> dict:
    """The rendered configuration with the outside world replaced by loopback stand-ins."""
    config = copy.deepcopy(config)
    secret = tmp / "secret"
    secret.write_text("not-a-secret\n")
    base = f"http://127.0.0.1:{http_port}"
    slack_url = tmp / "slack-url"
    slack_url.write_text(f"{base}/slack\n")
    g = config["global"]
    g.update(smtp_smarthost=f"127.0.0.1:{smtp_port}", smtp_require_tls=False, smtp_auth_password_file=str(secret))
    for receiver in config["receivers"]:
        for pd in receiver.get("pagerduty_configs", []):
            pd.update(url=f"{base}/pagerduty", routing_key_file=str(secret))
        for slack in receiver.get("slack_configs", []):
            slack["api_url_file"] = str(slack_url)
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = f"{base}/{receiver['name']}"
        for sns in receiver.get("sns_configs", []):
            sns["api_url"] = f"{base}/{receiver['name']}"

    def shorten(route: dict) -> None:
        if "group_wait" in route or route is config["route"]:
            route["group_wait"] = group_wait
        for child in route.get("routes", []):
            shorten(child)

    shorten(config["route"])
    return config


@contextlib.contextmanager
def alertmanager(config: dict, tmp: pathlib.Path) -> Iterator[tuple[str, Captured]]:
    """A real Alertmanager on `config` (rewritten by `loopback_copy`) and what its receivers got."""
    captured = Captured()
    servers = [_http_server(captured), _smtp_server(captured)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    http_port, smtp_port = (s.server_address[1] for s in servers)
    path = tmp / "alertmanager.yaml"
    path.write_text(dump(loopback_copy(config, tmp, http_port, smtp_port)))
    (tmp / "data").mkdir()
    port = free_port()
    process = subprocess.Popen(
        [tool("prometheus-alertmanager"), f"--config.file={path}", f"--storage.path={tmp / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=(tmp / "alertmanager.log").open("w"),
        # SigV4 for the SNS receiver: the pod's IRSA role in the cluster, dummy keys here.
        env={**os.environ, "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "example",
             "AWS_EC2_METADATA_DISABLED": "true"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp / "alertmanager.log").read_text()
            try:
                urllib.request.urlopen(f"{url}/-/ready", timeout=2).close()
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "Alertmanager did not become ready"
                time.sleep(0.2)
        yield url, captured
    finally:
        process.terminate()
        process.wait(timeout=30)
        for server in servers:
            server.shutdown()
            server.server_close()


def post_alerts(url: str, alerts: list[dict]) -> None:
    body = json.dumps([{"labels": a["labels"], "annotations": a.get("annotations", {})} for a in alerts]).encode()
    request = urllib.request.Request(f"{url}/api/v2/alerts", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).close()


def alerts_in(url: str) -> list[dict]:
    with urllib.request.urlopen(f"{url}/api/v2/alerts", timeout=10) as response:
        return json.loads(response.read())
