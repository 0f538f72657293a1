"""`platformctl dr step-check`: the ten healthy minutes every failback update waits for, read from
a loopback Prometheus (tests/prometheus_stub.py, the one the gate's tests use) that answers as the
SLO store does (recorded answers under fixtures/)."""
from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path

import pytest

from platformctl import dr_health
from platformctl.cli import main as cli
from tests.prometheus_stub import serving

FIXTURES = Path(__file__).parent / "fixtures" / "prometheus"
BURN = json.loads((FIXTURES / "burn-healthy.json").read_text())
SAMPLES = json.loads((FIXTURES / "samples-healthy.json").read_text())


@contextlib.contextmanager
def store(answers: dict, status: int = 200, delay: float = 0.0):
    """The shared stub answering each PromQL query of `answers`; yields its URL and the stub."""
    with serving(status, answers=answers, delay=delay) as stub:
        yield stub.url, stub


def with_value(doc: dict, slo: str, value: str) -> dict:
    doc = copy.deepcopy(doc)
    for s in doc["data"]["result"]:
        if s["metric"]["slo_name"] == slo:
            s["value"][1] = value
    return doc


def step_check(url: str, *extra: str) -> int:
    return cli(["dr", "step-check", "--stack", "production", "--prometheus", url, *extra])


def test_ten_healthy_minutes_let_the_next_step_start(capsys):
    with store({dr_health.BURN: BURN, dr_health.SAMPLES: SAMPLES}) as (url, stub):
        assert step_check(url) == 0
    assert stub.queries == ['max_over_time(slo_error_budget_burn_rate{window="5m"}[10m])',
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
        {"metric": {"slo_name": "api-availability"}, "value": [1, True]}]}}}, 200, 0.0,
     'returned max_over_time(slo_error_budget_burn_rate{window="5m"}[10m]){slo_name="api-availability"} = true, '
     'not a number'),
    ({dr_health.BURN: {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"slo_name": "api-availability"}, "value": [1]}]}}}, 200, 0.0,
     'returned a malformed max_over_time(slo_error_budget_burn_rate{window="5m"}[10m]) sample'),
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


@pytest.mark.parametrize("url, line", [
    ("https://reader:s3cret@prometheus.example/api", "--prometheus 'https://***@prometheus.example/api' has "
     "credentials in it (user:password@): a URL is printed in every error line, so none is sent; the store is "
     "reached signed (AWS) or through a loopback proxy"),
    ("http://prometheus.monitoring.svc:9090", "--prometheus 'http://prometheus.monitoring.svc:9090' is plain http "
     "to prometheus.monitoring.svc, which is not this machine: queried over https only (http to a loopback address)"),
])
def test_a_url_the_gate_refuses_is_refused_before_anything_is_printed(url, line, capsys):
    assert step_check(url) == 1
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"platformctl dr step-check: {line}\n")
    assert "s3cret" not in out + err


def test_an_amp_workspace_without_credentials_is_one_line_not_a_traceback(monkeypatch, tmp_path, capsys):
    # The copy of the gate's exchange called a signing helper the gate no longer had: every AMP
    # store (the one CI reads) ended in an AttributeError before a request was made.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    amp = "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-0123abcd"
    assert step_check(amp) == 2
    out = capsys.readouterr().out.splitlines()
    assert out[1] == (f"FAIL store: Prometheus at {amp} needs AWS credentials to sign the query "
                      "(SigV4, service aps): none found")
