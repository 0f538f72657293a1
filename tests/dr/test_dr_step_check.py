"""`platformctl dr step-check`: the ten healthy minutes every failback update waits for, read from
a loopback Prometheus that answers as the SLO store does (recorded answers under fixtures/)."""
from __future__ import annotations

import contextlib
import copy
import http.server
import json
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from platformctl import dr_health
from platformctl.cli import main as cli

FIXTURES = Path(__file__).parent / "fixtures" / "prometheus"
BURN = json.loads((FIXTURES / "burn-healthy.json").read_text())
SAMPLES = json.loads((FIXTURES / "samples-healthy.json").read_text())


@contextlib.contextmanager
def store(answers: dict, status: int = 200, delay: float = 0.0):
    """A loopback Prometheus: `answers` maps a PromQL query to its JSON answer; `seen` the queries asked."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query).get("query", [""])[0]
            seen.append(query)
            if delay:
                time.sleep(delay)
            body = json.dumps(answers.get(query, {"status": "error", "error": "unknown query"})).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def with_value(doc: dict, slo: str, value: str) -> dict:
    doc = copy.deepcopy(doc)
    for s in doc["data"]["result"]:
        if s["metric"]["slo_name"] == slo:
            s["value"][1] = value
    return doc


def step_check(url: str, *extra: str) -> int:
    return cli(["dr", "step-check", "--stack", "production", "--prometheus", url, *extra])


def test_ten_healthy_minutes_let_the_next_step_start(capsys):
    with store({dr_health.BURN: BURN, dr_health.SAMPLES: SAMPLES}) as (url, seen):
        assert step_check(url) == 0
    assert seen == ['max_over_time(slo_error_budget_burn_rate{window="5m"}[10m])',
                    'count_over_time(slo_error_budget_burn_rate{window="5m"}[10m])']
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == [
        "ok   api-availability (api): highest 5-minute burn rate 0.416667 <= 1",
        "ok   api-latency (api): highest 5-minute burn rate 0.9 <= 1",
        "ok   backend-availability (backend): highest 5-minute burn rate 0 <= 1",
        "production: healthy for 10 minutes (3 SLOs): the next step may start"]


@pytest.mark.parametrize("burn, samples, line", [
    (with_value(BURN, "api-latency", "3.25"), SAMPLES,
     "FAIL api-latency (api): highest 5-minute burn rate 3.25 > 1: spending the budget too fast"),
    (with_value(BURN, "api-latency", "NaN"), SAMPLES, "FAIL api-latency (api): no traffic in the last 10 min"),
    (BURN, with_value(SAMPLES, "api-latency", "6"),
     "FAIL api-latency (api): 6 recordings in 10 min, want at least 10: not measured all along"),
    (BURN, {"status": "success", "data": {"resultType": "vector", "result": SAMPLES["data"]["result"][:1] +
                                          SAMPLES["data"]["result"][2:]}},
     "FAIL api-latency (api): 0 recordings in 10 min, want at least 10: not measured all along"),
])
def test_one_unhealthy_slo_holds_the_next_step(burn, samples, line, capsys):
    with store({dr_health.BURN: burn, dr_health.SAMPLES: samples}) as (url, _):
        assert step_check(url) == 2
    out = capsys.readouterr().out.splitlines()
    assert line in out
    assert out[-1] == "production: NOT healthy (1 of 3 SLOs): wait, or go back to the previous step"


@pytest.mark.parametrize("answers, status, delay, line", [
    ({}, 503, 0.0, "answered HTTP 503: unknown query"),
    ({dr_health.BURN: {"status": "success", "data": {"resultType": "vector", "result": []}},
      dr_health.SAMPLES: {"status": "success", "data": {"resultType": "vector", "result": []}}}, 200, 0.0,
     'has no slo_error_budget_burn_rate{window="5m"} series: no SLO is recorded'),
    ({dr_health.BURN: {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"slo_name": "api-availability"}, "value": [1, True]}]}}}, 200, 0.0, "returned a malformed sample"),
    ({dr_health.BURN: BURN, dr_health.SAMPLES: SAMPLES}, 200, 2.0, "did not answer within 0.3 s"),
])
def test_a_store_that_gives_no_usable_answer_is_not_healthy(answers, status, delay, line, capsys):
    with store(answers, status=status, delay=delay) as (url, _):
        assert step_check(url, "--timeout", "0.3") == 2
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("FAIL store: Prometheus at http://127.0.0.1:") and out[1].endswith(line), out[1]
    assert out[-1] == "production: NOT healthy: wait, or go back to the previous step"


def test_a_bad_url_is_one_line_and_exit_1(capsys):
    assert step_check("ftp://prometheus.internal") == 1
    err = capsys.readouterr().err
    assert err == "platformctl dr step-check: --prometheus 'ftp://prometheus.internal' is not an http(s) URL\n"
