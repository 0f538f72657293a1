"""`platformctl change smoke`: the smoke tests of governance/smoke-tests.yaml as real HTTP requests,
here against a loopback server standing in for staging's public name."""
import http.server
import threading

import pytest
import yaml

from test_change_command import REPO, run


class _Staging(http.server.BaseHTTPRequestHandler):
    healthy = True

    def do_GET(self):
        if self.path == "/health" and self.headers.get("Host", "").startswith("127.0.0.1"):
            # One server plays both listeners: plain http is the redirect, the test's base URL https-less.
            status = 200 if _Staging.healthy else 503
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"ok")
            return
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture()
def staging():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Staging)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    _Staging.healthy = True


@pytest.fixture()
def project(tmp_path):
    (tmp_path / "governance").mkdir()
    (tmp_path / "governance" / "smoke-tests.yaml").write_text(yaml.safe_dump({"tests": [
        {"name": "api-health", "request": {"method": "GET", "path": "/health"}, "expect": {"status": 200}},
        {"name": "no-admin", "request": {"method": "GET", "path": "/admin"}, "expect": {"status": 404}}]}))
    (tmp_path / "Pulumi.staging.yaml").write_text("config:\n  leadgen:traffic.hostname: api.staging.example.com\n")
    return tmp_path


def test_every_test_passes_against_a_healthy_stack_and_the_passed_names_come_last(project, staging):
    code, out, err = run(project, "smoke", "--stack", "staging", "--base-url", staging)
    assert (code, err) == (0, "")
    assert out.splitlines() == ["  ok api-health", "  ok no-admin", "api-health no-admin"]


def test_a_failing_check_is_named_and_exits_2(project, staging):
    _Staging.healthy = False
    code, out, _ = run(project, "smoke", "--stack", "staging", "--base-url", staging)
    assert code == 2
    assert out.splitlines() == ["  FAIL api-health: GET /health answered 503, expected 200", "  ok no-admin", "no-admin"]


def test_nothing_listening_is_a_failure_not_a_crash(project):
    code, out, _ = run(project, "smoke", "--stack", "staging", "--base-url", "http://127.0.0.1:1")
    assert code == 2 and out.splitlines()[0].startswith("  FAIL api-health: GET http://127.0.0.1:1/health failed: ")


def test_a_bad_definition_is_one_line(project):
    (project / "governance" / "smoke-tests.yaml").write_text("tests:\n  - name: x\n    request: {method: DELETE, path: /}\n"
                                                            "    expect: {status: 200}\n")
    code, _, err = run(project, "smoke", "--stack", "staging")
    assert (code, err) == (1, "platformctl change smoke: governance/smoke-tests.yaml: tests[0].request needs a method "
                              "(GET, HEAD) and a path starting with /\n")


def test_the_repositorys_smoke_tests_are_the_ones_promotion_requires():
    from platformctl import smoke

    required = yaml.safe_load((REPO / "governance" / "approvers.yaml").read_text())["promotion"]["smoke_tests"]
    assert [t.name for t in smoke.load(REPO)] == required


def test_the_stack_is_named_by_pulumis_rule_before_its_file_is_looked_for(project):
    # A folder named like a stack file's prefix made `x/../staging` a path, not a refused name.
    (project / "Pulumi.x").mkdir()
    code, out, err = run(project, "smoke", "--stack", "x/../staging")
    assert (code, out) == (1, "")
    assert err.startswith("platformctl change smoke: --stack 'x/../staging' is not a stack name: ") and \
        err.count("\n") == 1, err
    code, _, err = run(project, "smoke", "--stack", "qa")
    assert (code, err) == (1, "platformctl change smoke: unknown stack 'qa': no Pulumi.qa.yaml (stacks: staging)\n")
