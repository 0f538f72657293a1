"""A loopback Prometheus for the tests of every reader of the SLO store (the error-budget gate, the
pack over its own process boundary, `platformctl dr step-check`, the runbook blocks). The real
Prometheus, backfilled, is in tests/helpers.py."""
from __future__ import annotations

import contextlib
import dataclasses
import http.server
import json
import threading
import time
import urllib.parse
from typing import Iterator, Mapping, Optional


@dataclasses.dataclass
class Stub:
    reply: dict
    seen: list
    url: str = ""
    answers: Optional[Mapping[str, object]] = None  # PromQL -> JSON answer, instead of `reply`'s body
    delay: float = 0.0  # seconds before answering

    @property
    def queries(self) -> list[str]:
        """The PromQL of each request, in order."""
        return [urllib.parse.parse_qs(urllib.parse.urlsplit(s["path"]).query).get("query", [""])[0]
                for s in self.seen]


@contextlib.contextmanager
def serving(status: int = 200, body: bytes = b"", *, answers: Optional[Mapping[str, object]] = None,
            delay: float = 0.0, headers: Optional[Mapping[str, str]] = None) -> Iterator[Stub]:
    """A loopback server answering every GET with `stub.reply` (change it between requests), or,
    given `answers`, with the answer to the request's `query` (an "unknown query" error for any
    other), after `delay` seconds, with `headers` besides; it keeps each request it got (path and
    lower-cased headers) in `stub.seen`."""
    stub = Stub(reply={"status": status, "body": body, "headers": dict(headers or {})}, seen=[],
                answers=answers, delay=delay)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            stub.seen.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}})
            if stub.delay:
                time.sleep(stub.delay)
            body = stub.reply["body"]
            if stub.answers is not None:
                asked = stub.queries[-1]
                body = json.dumps(stub.answers.get(asked, {"status": "error", "error": "unknown query"})).encode()
            self.send_response(stub.reply["status"])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in stub.reply.get("headers", {}).items():
                self.send_header(name, value)
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the reader stopped at its cap or its deadline

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def answering(remaining_percent: str, **labels: str) -> Iterator[str]:
    """The URL of a server whose every answer is `slo_error_budget_remaining` = `remaining_percent`
    for the series with `labels`."""
    body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": labels, "value": [0, remaining_percent]}]}}).encode()
    with serving(body=body) as stub:
        yield stub.url
