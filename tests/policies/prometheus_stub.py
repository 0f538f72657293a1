"""A Prometheus that answers every query with one error-budget sample, for tests of the pack over
its own process boundary (the real Prometheus, backfilled, is in tests/helpers.py)."""
from __future__ import annotations

import contextlib
import dataclasses
import http.server
import json
import threading
from typing import Iterator


@contextlib.contextmanager
def serving(status: int = 200, body: bytes = b"") -> Iterator["Stub"]:
    """A loopback server answering every GET with `stub.reply` (change it between requests) and
    keeping each request it got (path and lower-cased headers) in `stub.seen`."""
    stub = Stub(reply={"status": status, "body": body}, seen=[])

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            stub.seen.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}})
            body = stub.reply["body"]
            self.send_response(stub.reply["status"])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()


@dataclasses.dataclass
class Stub:
    reply: dict
    seen: list
    url: str = ""


@contextlib.contextmanager
def answering(remaining_percent: str, **labels: str) -> Iterator[str]:
    """The URL of a server whose every answer is `slo_error_budget_remaining` = `remaining_percent`
    for the series with `labels`."""
    body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": labels, "value": [0, remaining_percent]}]}}).encode()
    with serving(body=body) as stub:
        yield stub.url
