"""The recovery region's probe of the primary: the code the function runs records 1 for a healthy
answer and 0 for an error status or no answer at all, in the namespace its alarm watches."""
from __future__ import annotations

import http.server
import sys
import threading
import types

import pytest

from components import dr_probe


class _Status(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):  # noqa: N802 the stdlib's name
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture()
def probe(monkeypatch):
    sent = []
    fake = types.ModuleType("boto3")
    fake.client = lambda name: types.SimpleNamespace(put_metric_data=lambda **kw: sent.append(kw))
    monkeypatch.setitem(sys.modules, "boto3", fake)
    server = http.server.HTTPServer(("127.0.0.1", 0), _Status)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def run(url_path: str = "/health", *, down: bool = False):
        port = server.server_address[1] if not down else 1
        env = {"PRIMARY_HEALTH_URL": f"http://127.0.0.1:{port}{url_path}", "PRIMARY_ORIGIN": "api-use1.example",
               "TIMEOUT_S": "2", "NAMESPACE": dr_probe.NAMESPACE, "METRIC": dr_probe.METRIC}
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        module: dict = {}
        exec(compile(dr_probe.CODE, "probe.py", "exec"), module)
        return module["handler"]({}, None), sent[-1]
    yield run
    server.shutdown()


def test_a_healthy_primary_records_one(probe):
    _Status.status = 200
    value, sent = probe()
    assert value == 1
    assert sent == {"Namespace": "Leadgen/DR", "MetricData": [{
        "MetricName": "PrimaryHealthy", "Dimensions": [{"Name": "Origin", "Value": "api-use1.example"}],
        "Value": 1, "Unit": "Count"}]}


def test_an_error_status_or_no_answer_records_zero(probe):
    _Status.status = 503
    assert probe()[0] == 0
    _Status.status = 200
    assert probe(down=True)[0] == 0
