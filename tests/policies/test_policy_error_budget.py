"""The error-budget gate against a real Prometheus (Debian's) loaded with series at each band of
the runbook's matrix, and against servers that hang, drip, refuse or answer garbage."""
import dataclasses
import socket
import threading
import time

import pytest

from policy_baseline import context
from tests.prometheus_stub import serving

from governance import error_budget, gates
from tests.helpers import PROMETHEUS, PROMTOOL, free_port, start_prometheus, wait_ready
F = "changes/CR-2026-014.yaml"
# Lowest budget per server: one per band, plus the boundaries the table names.
BANDS = {"monitor": 77.0, "edge50": 50.0, "optimize": 42.5, "mitigate": 12.0, "edge10": 10.0, "freeze": 4.2}


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    assert PROMETHEUS and PROMTOOL, "install the Debian package prometheus (scripts/install-system-deps.sh)"
    servers = {}
    try:
        for band, lowest in BANDS.items():
            servers[band] = start_prometheus(tmp_path_factory.mktemp(band), lowest)
        for proc, url in servers.values():
            wait_ready(url, proc)
        yield {band: url for band, (_, url) in servers.items()}
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=10)


@pytest.fixture()
def hanging_server():
    """Accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


@pytest.fixture()
def answering_server():
    """Serves whatever body/status the test sets."""
    with serving() as stub:
        yield stub.reply, stub.url


def change(tmp_path, change_type="standard", roles=("team-lead",), service="api-service"):
    from signed import Keyring  # noqa: F401  (the keyring fixture signs)

    doc = {"id": "CR-2026-014", "title": "t", "description": "d", "service": service, "change_type": change_type,
           "risk_level": "low", "impact_analysis": "small", "rollback_plan": ["pulumi up on the previous commit"],
           "requested_by": "dev@example.com",
           "approvals": [{"by": f"{r}@example.com", "role": r, "at": "2026-11-20T10:00:00Z"} for r in roles],
           "window": {"start": "2026-12-15T02:00:00Z", "duration": "1h"}, "stacks": ["production"]}
    KEYRING[0].write(tmp_path, doc)


KEYRING = []


@pytest.fixture(autouse=True)
def _keys(keyring):
    KEYRING[:] = [keyring]


def run_gate(tmp_path, url):
    ctx = dataclasses.replace(context(changeRequest="CR-2026-014", **{"governance.prometheusUrl": url}),
                              project_root=tmp_path)
    return list(gates.error_budget_gate([], ctx))


def test_band_boundaries():
    assert [error_budget.band(v).role for v in (50.01, 50, 30, 29.99, 10, 9.99, 0, -5)] == [
        None, "team-lead", "team-lead", "engineering-manager", "engineering-manager", "cto", "cto", "cto"]
    assert [error_budget.band(v).action for v in (0.01, 0, -5)] == [
        "feature freeze", "error budget exhausted (overspent), feature freeze",
        "error budget exhausted (overspent), feature freeze"]
    assert error_budget.satisfies(frozenset({"cto"}), "team-lead")
    assert not error_budget.satisfies(frozenset({"team-lead", "cab"}), "engineering-manager")


SLO = 'slo_name="api_availability"'


@pytest.mark.parametrize("band,change_type,roles,expected", [
    ("monitor", "standard", (), []),
    ("edge50", "standard", (), [f'slo_error_budget_remaining{{{SLO}}} of api-service is 50 % (optimize): {F} needs a team-lead approval']),
    ("optimize", "standard", (), [f'slo_error_budget_remaining{{{SLO}}} of api-service is 42.5 % (optimize): {F} needs a team-lead approval']),
    ("optimize", "standard", ("team-lead",), []),
    ("optimize", "standard", ("engineering-manager",), []),
    ("mitigate", "standard", ("team-lead",), [f'slo_error_budget_remaining{{{SLO}}} of api-service is 12 % (mitigate): {F} needs a engineering-manager approval']),
    ("mitigate", "standard", ("engineering-manager",), []),
    ("edge10", "standard", ("engineering-manager",), []),
    ("freeze", "standard", ("cto",), [f'slo_error_budget_remaining{{{SLO}}} of api-service is 4.2 %: feature freeze, only an emergency change with a cto approval passes ({F})']),
    ("freeze", "emergency", ("engineering-manager",), [f'slo_error_budget_remaining{{{SLO}}} of api-service is 4.2 %: feature freeze, only an emergency change with a cto approval passes ({F})']),
    ("freeze", "emergency", ("cto",), []),
])
def test_matrix_against_real_prometheus(prometheus, tmp_path, band, change_type, roles, expected):
    change(tmp_path, change_type, roles)
    assert run_gate(tmp_path, prometheus[band]) == expected


def test_lowest_slo_is_read_from_prometheus(prometheus):
    budget = error_budget.query(prometheus["mitigate"])
    assert (budget.remaining, budget.slo, budget.series) == (12.0, SLO, 3)
    assert budget.describe() == f"lowest slo_error_budget_remaining{{{SLO}}}"


def test_the_budget_is_the_named_services_with_the_lowest_as_a_said_fallback(answering_server, tmp_path):
    reply, url = answering_server
    reply.update(body=b'{"status": "success", "data": {"resultType": "vector", "result": ['
                      b'{"metric": {"slo_name": "api_availability", "service": "api-service"}, "value": [1, "77"]},'
                      b'{"metric": {"slo_name": "lead_delivery", "service": "leads"}, "value": [1, "12"]}]}}')
    change(tmp_path, roles=())
    assert run_gate(tmp_path, url) == []  # api-service has 77 %: the other service's 12 % is not its budget
    change(tmp_path, roles=(), service="billing")
    assert run_gate(tmp_path, url) == [
        'lowest slo_error_budget_remaining{slo_name="lead_delivery"} (no series names service billing, so the '
        f"lowest of all) is 12 % (mitigate): {F} needs a engineering-manager approval"]


def deployment(app: str):
    from governance.model import Resource

    return Resource("kubernetes:apps/v1:Deployment", f"urn:pulumi:production::leadgen::kubernetes:apps/v1:Deployment::{app}",
                    app, {"metadata": {"name": app, "labels": {"app": app}}})


TWO = (b'{"status": "success", "data": {"resultType": "vector", "result": ['
       b'{"metric": {"slo_name": "billing_availability", "service": "billing"}, "value": [1, "77"]},'
       b'{"metric": {"slo_name": "api_availability", "service": "api"}, "value": [1, "4"]}]}}')


def test_the_budget_is_the_lowest_of_every_service_the_change_touches_not_the_one_it_names(answering_server,
                                                                                            tmp_path):
    # Naming a healthy service in `service:` once passed while api, deployed by the same update, was
    # frozen at 4 %.
    reply, url = answering_server
    reply.update(body=TWO)
    change(tmp_path, roles=("team-lead",), service="billing")
    ctx = dataclasses.replace(context(changeRequest="CR-2026-014", **{"governance.prometheusUrl": url}),
                              project_root=tmp_path)
    assert list(gates.error_budget_gate([deployment("api"), deployment("billing")], ctx)) == [
        'slo_error_budget_remaining{slo_name="api_availability"} of api, billing is 4 %: feature freeze, only an '
        f"emergency change with a cto approval passes ({F})"]


def test_an_slo_without_traffic_is_its_own_state_and_never_fails_another_services_gate(answering_server, tmp_path):
    # A standby region or a new SLO with no requests reads NaN (0/0); the gate once failed closed on it
    # for every change.
    reply, url = answering_server
    reply.update(body=b'{"status": "success", "data": {"resultType": "vector", "result": ['
                      b'{"metric": {"slo_name": "api_availability", "service": "api"}, "value": [1, "42"]},'
                      b'{"metric": {"slo_name": "quotes_availability", "service": "quotes"}, "value": [1, "NaN"]}]}}')
    change(tmp_path, roles=(), service="api")
    ctx = dataclasses.replace(context(changeRequest="CR-2026-014", **{"governance.prometheusUrl": url}),
                              project_root=tmp_path)
    assert list(gates.error_budget_gate([deployment("api")], ctx)) == [
        f'slo_error_budget_remaining{{slo_name="api_availability"}} of api is 42 % (optimize): {F} needs a team-lead '
        "approval"]
    budget = error_budget.query(url, services=("api", "quotes"))
    assert (budget.remaining, budget.no_traffic) == (42.0, ('slo_name="quotes_availability"',))
    assert budget.describe().endswith('(no traffic: slo_name="quotes_availability")')
    quiet = error_budget.query(url, services=("quotes",))
    assert quiet.remaining is None and quiet.describe() == (
        'slo_error_budget_remaining has no traffic for slo_name="quotes_availability"')
    change(tmp_path, roles=(), service="quotes")
    assert list(gates.error_budget_gate([deployment("quotes")], ctx)) == []


@pytest.mark.parametrize("value,band", [("0", "error budget exhausted (overspent), feature freeze"),
                                        ("-12.5", "error budget exhausted (overspent), feature freeze"),
                                        ("4", "feature freeze")])
def test_an_overspent_budget_is_the_freeze_not_a_broken_prometheus(answering_server, tmp_path, value, band):
    reply, url = answering_server
    reply.update(body=b'{"status": "success", "data": {"resultType": "vector", "result": ['
                      b'{"metric": {"slo_name": "api_availability", "service": "api-service"}, "value": [1, "'
                      + value.encode() + b'"]}]}}')
    change(tmp_path)
    assert run_gate(tmp_path, url) == [
        f'slo_error_budget_remaining{{slo_name="api_availability"}} of api-service is {float(value):g} %: {band}, '
        f"only an emergency change with a cto approval passes ({F})"]
    change(tmp_path, "emergency", ("cto",))
    assert run_gate(tmp_path, url) == []


@pytest.fixture()
def dripping_server():
    """Answers a valid response one byte per second: every read succeeds well within any per-read
    timeout, so only a deadline for the whole exchange stops it."""
    body = (b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 120\r\n\r\n'
            + b'{"status": "success", "data": {"resultType": "vector", "result": []}}'.ljust(120))
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    stop = threading.Event()

    def serve():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.settimeout(0.2)
            try:
                conn.recv(4096)
                for i in range(len(body)):
                    if stop.wait(1.0):
                        break
                    conn.sendall(body[i:i + 1])
            except OSError:
                pass
            finally:
                conn.close()
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(timeout=5)
    server.close()


def test_a_prometheus_that_drips_one_byte_a_second_is_cut_at_the_deadline(dripping_server, tmp_path):
    change(tmp_path)
    started = time.monotonic()
    got = run_gate(tmp_path, dripping_server)
    elapsed = time.monotonic() - started
    assert got == [f"Prometheus at {dripping_server} did not answer within 3 s; failing closed "
                   "(only an emergency change with a cto approval passes)"]
    # The message says the deadline cut the drip (a whole body would parse); this says not before it.
    assert elapsed >= 2.9


def test_hanging_prometheus_fails_closed_after_three_seconds(hanging_server, tmp_path):
    change(tmp_path)
    assert run_gate(tmp_path, hanging_server) == [
        f"Prometheus at {hanging_server} did not answer within 3 s; failing closed "
        "(only an emergency change with a cto approval passes)"]


def test_hanging_prometheus_lets_an_approved_emergency_through(hanging_server, tmp_path):
    change(tmp_path, "emergency", ("cto",))
    assert run_gate(tmp_path, hanging_server) == []


def test_refused_and_unconfigured(tmp_path):
    change(tmp_path)
    port = free_port()  # nothing listens there any more
    assert run_gate(tmp_path, f"http://127.0.0.1:{port}") == [
        f"Prometheus at http://127.0.0.1:{port} is unreachable ([Errno 111] Connection refused); failing closed "
        "(only an emergency change with a cto approval passes)"]
    assert run_gate(tmp_path, "") == [
        "Prometheus is not configured for production (leadgen:governance.prometheusUrl is not set, or was "
        "refused); failing closed "
        "(only an emergency change with a cto approval passes)"]


@pytest.mark.parametrize("status,body,why", [
    (200, b"<html>proxy login</html>", "returned a body that is not strict JSON"),
    (200, b'{"status": "success", "status": "success", "data": {}}', "returned a body that is not strict JSON"),
    (200, b'{"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1, NaN]}]}}',
     "returned a body that is not strict JSON"),
    # A JSON true used to be read as 1 %.
    (200, b'{"status": "success", "data": {"resultType": "vector", "result": [{"metric": {"slo_name": "api"}, "value": [1, true]}]}}',
     'returned slo_error_budget_remaining{slo_name="api"} = true, not a number'),
    (200, b'{"status": "success", "data": {"resultType": "vector", "result": [{"metric": {"slo_name": "api"}, "value": [1, 42]}]}}',
     'returned slo_error_budget_remaining{slo_name="api"} = 42, not a number'),
    (200, b'{"status": "success", "data": {"resultType": "vector", "result": [{"metric": {"slo_name": "api"}, "value": [1, "0x1p3"]}]}}',
     'returned slo_error_budget_remaining{slo_name="api"} = "0x1p3", not a number'),
    (200, b'{"status": "error", "error": "bad"}', "did not report success for slo_error_budget_remaining"),
    (200, b'{"status": "success", "data": {"resultType": "matrix", "result": []}}',
     "returned no instant vector for slo_error_budget_remaining"),
    (200, b'{"status": "success", "data": {"resultType": "vector", "result": []}}',
     "has no slo_error_budget_remaining series: no SLO reports its error budget"),
    (200, b'{"status": "success", "data": {"resultType": "vector", "result": [{"metric": {"slo_name": "api"}, "value": [1, "+Inf"]}]}}',
     'returned slo_error_budget_remaining{slo_name="api"} = "+Inf", not a number'),
    (200, b'{"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1, "250"]}]}}',
     "returned slo_error_budget_remaining{} = 250, outside -1000-100 %"),
    (200, b'{"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": "x"}]}}',
     "returned a malformed slo_error_budget_remaining sample"),
    (503, b'{"status": "error", "error": "overloaded"}', "answered HTTP 503: overloaded"),
])
def test_garbage_fails_closed(answering_server, tmp_path, status, body, why):
    reply, url = answering_server
    reply.update(status=status, body=body)
    change(tmp_path)
    assert run_gate(tmp_path, url) == [
        f"Prometheus at {url} {why}; failing closed (only an emergency change with a cto approval passes)"]


def test_an_outage_at_the_edge_freezes_the_service_through_the_stores_own_rules(tmp_path):
    """The long-term store's rules, as the program generates them, evaluated by a real Prometheus
    over counters backfilled as the cluster remote-writes them: the api pods answered every request
    they saw, but Envoy answered 0.095 % of the route's requests with its own 503s. The gate takes
    the lowest budget of the services the change touches, the edge twin included: 5 % left, the
    freeze. When the store counted the pods' SLI only, the same change passed at 100 %."""
    import json
    import subprocess
    import urllib.request

    import yaml

    from leadgen.observability.slo import parse_slos, slo_window_rule_file

    assert PROMETHEUS and PROMTOOL, "install the Debian package prometheus (scripts/install-system-deps.sh)"
    slos = parse_slos([{"name": "api-availability", "service": "api", "objective": 99.9, "sli": "availability"}])
    rules = slo_window_rule_file(slos, edge_routes={"api": "production/api"})
    for group in rules["groups"]:
        group["interval"] = "1s"  # the store evaluates hourly; the test cannot wait an hour
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules))
    now = int(time.time())
    lines = ["# TYPE http_requests_total gauge", "# TYPE envoy_cluster_upstream_rq_xx gauge"]
    route = 'envoy_cluster_name="httproute/production/api/rule/0"'
    for step in range(24):
        at = now - 7200 + step * 300
        lines.append(f'http_requests_total{{service="api",code="200",pod="api-1"}} {step * 999_050} {at}')
        lines.append(f'envoy_cluster_upstream_rq_xx{{{route},envoy_response_code_class="2"}} {step * 999_050} {at}')
        lines.append(f'envoy_cluster_upstream_rq_xx{{{route},envoy_response_code_class="5"}} {step * 950} {at}')
    lines.sort(key=lambda line: not line.startswith("#"))
    (tmp_path / "series.om").write_text("\n".join(lines) + "\n# EOF\n")
    subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", str(tmp_path / "series.om"),
                    str(tmp_path / "data")], check=True, capture_output=True)
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(
        {"global": {"evaluation_interval": "1s"}, "rule_files": [str(tmp_path / "rules.yaml")]}))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}",
                             f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(url, proc)
        for _ in range(600):  # the first evaluations, on a machine that may be busy
            with urllib.request.urlopen(f"{url}/api/v1/query?query=slo_error_budget_remaining", timeout=5) as r:
                if len(json.load(r)["data"]["result"]) == 2:
                    break
            time.sleep(0.1)
        budget = error_budget.query(url, services=("api",))
        assert (budget.slo, round(budget.remaining, 1)) == ('slo_name="api-availability-edge"', 5.0)
        assert error_budget.band(budget.remaining).freeze
        change(tmp_path, roles=("team-lead",), service="api")
        ctx = dataclasses.replace(context(changeRequest="CR-2026-014", **{"governance.prometheusUrl": url}),
                                  project_root=tmp_path)
        (finding,) = gates.error_budget_gate([deployment("api")], ctx)
        assert finding.startswith('slo_error_budget_remaining{slo_name="api-availability-edge"} of api is 5')
        assert "feature freeze, only an emergency change with a cto approval passes" in finding
    finally:
        proc.terminate()
        proc.wait(timeout=30)
