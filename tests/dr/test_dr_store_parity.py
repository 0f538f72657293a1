"""The error-budget gate and `platformctl dr step-check` read the SLO store through one reader: a
table of hostile URLs and hostile answers, each put to both, must be refused by both with the same
line (only the name of the setting the URL came from differs) and, for a URL, before anything is
sent."""
from __future__ import annotations

import contextlib
import json
import urllib.parse

import pytest

from platformctl import dr_health
from platformctl.pack import error_budget, signed_http
from tests.prometheus_stub import serving

TIMEOUT = 0.3
GOOD = json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
    {"metric": {"slo_name": "api-availability", "service": "api"}, "value": [1, "42"]}]}}).encode()
AMP = "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-0123abcd"


def gate(url: str, transport) -> str:
    with pytest.raises(error_budget.BudgetUnavailable) as err:
        error_budget.query(url, TIMEOUT, transport=transport)
    return str(err.value).replace(error_budget.SETTING, "<setting>")


def step_check(url: str, transport) -> str:
    # The step check's own query, so its line names it; the gate's names its metric.
    with pytest.raises(dr_health.Unhealthy) as err:
        dr_health.instant(url, error_budget.METRIC, TIMEOUT, transport=transport)
    return str(err.value).replace(dr_health.SETTING, "<setting>")


READERS = {"gate": gate, "dr step-check": step_check}


@contextlib.contextmanager
def loopback(**reply):
    """The shared stub, and a transport that opens every connection to it whatever the URL's host,
    so a reader that sent anything to a refused URL would be seen doing it."""
    with serving(**reply) as stub:
        target = urllib.parse.urlparse(stub.url)
        yield stub, lambda parsed, deadline: signed_http.connection(target, deadline)


@pytest.mark.parametrize("url, line", [
    ("https://reader:s3cret@prometheus.example", "<setting> 'https://***@prometheus.example' has credentials in it "
     "(user:password@): a URL is printed in every error line, so none is sent; the store is reached signed (AWS) "
     "or through a loopback proxy"),
    (AMP.replace("https://", "https://AKIDEXAMPLE:s3cret@"), f"<setting> '{AMP.replace('https://', 'https://***@')}' "
     "has credentials in it (user:password@): a URL is printed in every error line, so none is sent; the store is "
     "reached signed (AWS) or through a loopback proxy"),
    ("http://prometheus.monitoring.svc:9090", "<setting> 'http://prometheus.monitoring.svc:9090' is plain http to "
     "prometheus.monitoring.svc, which is not this machine: queried over https only (http to a loopback address)"),
    (AMP.replace("https://", "http://"), f"<setting> '{AMP.replace('https://', 'http://')}' is plain http to "
     "aps-workspaces.us-east-1.amazonaws.com, which is not this machine: queried over https only (http to a "
     "loopback address)"),
    ("ftp://prometheus.example", "<setting> 'ftp://prometheus.example' is not an http(s) URL"),
    ("https://prometheus.example/api?token=s3cret", "<setting> 'https://prometheus.example/api?***' has a query or "
     "fragment (?... or #...): a store is named by its scheme, host and path, and nothing after them is sent"),
    ("https://prometheus.example:x/", "<setting> 'https://prometheus.example:x/' is not an http(s) URL"),
    ("prometheus.example:9090", "<setting> 'prometheus.example:9090' is not an http(s) URL"),
])
def test_both_refuse_the_same_urls_with_the_same_line_and_send_nothing(url, line):
    with loopback(body=GOOD) as (stub, transport):
        lines = {name: read(url, transport) for name, read in READERS.items()}
        assert stub.seen == []
    assert lines == {"gate": line, "dr step-check": line}
    assert "s3cret" not in json.dumps(lines)


@pytest.mark.parametrize("reply, ending", [
    # A redirect is an answer, never followed (the target would be a server nobody configured).
    ({"status": 302, "body": b"", "headers": {"Location": "https://elsewhere.example/api/v1/query"}},
     " answered HTTP 302"),
    ({"status": 200, "body": b" " * (signed_http.MAX_BODY + 1)}, " answered more than 4 MiB"),
    ({"status": 200, "body": GOOD, "delay": 2.0}, f" did not answer within {TIMEOUT:g} s"),
    ({"status": 503, "body": b'{"status": "error", "error": "overloaded"}'}, " answered HTTP 503: overloaded"),
    ({"status": 403, "body": b'{"message": "not authorized to perform: aps:QueryMetrics"}'},
     " answered HTTP 403: not authorized to perform: aps:QueryMetrics"),
    ({"status": 200, "body": b"<html>proxy login</html>"}, " returned a body that is not strict JSON"),
    ({"status": 200, "body": b'{"status": "success", "status": "success", "data": {}}'},
     " returned a body that is not strict JSON"),
    ({"status": 200, "body": b'{"status": "error", "error": "bad"}'},
     " did not report success for slo_error_budget_remaining"),
    ({"status": 200, "body": b'{"status": "success", "data": {"resultType": "matrix", "result": []}}'},
     " returned no instant vector for slo_error_budget_remaining"),
    ({"status": 200, "body": b'{"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}}]}}'},
     " returned a malformed slo_error_budget_remaining sample"),
    ({"status": 200, "body": b'{"status": "success", "data": {"resultType": "vector", "result": ['
                             b'{"metric": {"slo_name": "api"}, "value": [1, true]}]}}'},
     ' returned slo_error_budget_remaining{slo_name="api"} = true, not a number'),
    ({"status": 200, "body": b'{"status": "success", "data": {"resultType": "vector", "result": ['
                             b'{"metric": {"slo_name": "api"}, "value": [1, "+Inf"]}]}}'},
     ' returned slo_error_budget_remaining{slo_name="api"} = "+Inf", not a number'),
])
def test_both_refuse_the_same_answers_with_the_same_line(reply, ending):
    with loopback(**reply) as (stub, transport):
        lines = {name: read(stub.url, transport) for name, read in READERS.items()}
    assert lines == {name: f"Prometheus at {stub.url}{ending}" for name in READERS}


def test_a_redirect_target_is_never_asked():
    with serving(body=GOOD) as target:
        with serving(302, headers={"Location": f"{target.url}/api/v1/query?query=up"}) as origin:
            for read in READERS.values():
                assert read(origin.url, signed_http.connection).endswith(" answered HTTP 302")
            assert len(origin.seen) == 2
        assert target.seen == []


def test_both_read_a_good_answer_alike():
    with loopback(body=GOOD) as (stub, transport):
        budget = error_budget.query(stub.url, TIMEOUT, transport=transport)
        rows = dr_health.instant(stub.url, error_budget.METRIC, TIMEOUT, transport=transport)
    assert (budget.remaining, budget.slo) == (42.0, 'slo_name="api-availability"')
    assert rows == [({"slo_name": "api-availability", "service": "api"}, "42")]


@pytest.mark.parametrize("url", [
    "https://reader:s3cret@prometheus.example", "http://prometheus.monitoring.svc:9090",
    AMP.replace("https://", "http://"), "ftp://prometheus.example",
])
def test_the_weekly_report_refuses_the_same_store_urls_for_the_same_reason(url):
    # The weekly report asks the same store (and Loki) through its own fetch; its URLs are refused
    # for the gate's reasons, each line naming the source instead of a setting.
    from platformctl.weekly import sources
    from platformctl.weekly.model import Unreachable

    with loopback(body=GOOD) as (_, transport):
        line = gate(url, transport)
    fetch = sources.LiveFetch(stack="production", region="us-east-1", prometheus_url=url, loki_url=url)
    for service, name in (("prometheus", "Prometheus"), ("loki", "Loki")):
        with pytest.raises(Unreachable) as err:
            fetch(service, "query", {"query": "up"})
        assert str(err.value) == line.replace("<setting> ", f"{name}: "), service


@pytest.mark.parametrize("body", [
    b'{"status": "error", "error": "bad"}',
    b'{"status": "success", "data": {"resultType": "matrix", "result": []}}',
    b'{"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}}]}}',
    b'{"status": "success", "data": {"resultType": "vector", "result": [{"metric": {"slo_name": "api"}, '
    b'"value": [1, true]}]}}',
    b'{"status": "success", "data": {"resultType": "vector", "result": [{"metric": {"slo_name": "api"}, '
    b'"value": [1, "+Inf"]}]}}',
])
def test_the_weekly_report_reads_the_stores_answers_as_the_gate_does(body):
    # The weekly report gets its answers decoded (live or recorded); their shape and values are
    # judged by the gate's reader, in the gate's words, the store named as the report names it.
    from platformctl.weekly import promql
    from platformctl.weekly.model import Unreachable

    with loopback(status=200, body=body) as (stub, transport):
        line = READERS["gate"](stub.url, transport)
    with pytest.raises(Unreachable) as err:
        promql.vector(json.loads(body), error_budget.METRIC)
    assert str(err.value) == line.replace(f"Prometheus at {stub.url}", promql.WHERE)
