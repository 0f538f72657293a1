"""The credentials a stack's config carries never reach `platformctl gate` or `platformctl cost`
output, in any format.

The URL patterns redact `user:pass@` and `?token=` only while the credential is one unbroken run of
characters; a password with a space in it, or a URL quoted into a resource name, needs the report
to know the config's secrets by value, as preview's report does.
"""
from __future__ import annotations

import argparse
import shutil
import textwrap

import pytest

from platformctl import reports
from platformctl.project import ROOT

# Port 9 (discard) on loopback refuses at once: the error-budget gate names the URL it could not reach.
PROM_URL = "https://reader:hunter2 pw@127.0.0.1:9/api?token=tok 99"
LEAKS = ("hunter2", "pw@", "tok 99", " 99")


def _assert_no_credentials(text: str, where: str) -> None:
    for leak in LEAKS:
        assert leak not in text, f"{where}: {leak!r} in\n{text}"


@pytest.fixture()
def gated_root(tmp_path):
    """The project files a gate reads, with production's Prometheus URL carrying credentials."""
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copy(ROOT / "Pulumi.production.yaml", tmp_path / "Pulumi.production.yaml")
    # A protected stack's SLO store is the CAB's setting (governance/gates.yaml), not its stack file's.
    (tmp_path / "governance").mkdir()
    (tmp_path / "governance" / "gates.yaml").write_text(
        f'stacks:\n  production:\n    prometheus_url: "{PROM_URL}"\n')
    return tmp_path


@pytest.mark.parametrize("fmt", reports.FORMATS)
def test_gate_output_never_shows_the_prometheus_credentials(gated_root, fmt):
    from platformctl.commands import gate

    report = gate.evaluate("production", project_root=gated_root, env={})
    # The URL is refused before any gate asks it, by a line that names it: the test is not vacuous.
    messages = [v.message for v in report.violations if v.policy == "governance-gate-settings"]
    assert messages == ["governance/gates.yaml: stacks.production.prometheus_url ('https://***@127.0.0.1:9/api?***') "
                        "has credentials in it (user:password@): a URL is printed in every error line, so none is "
                        "sent; the store is reached signed (AWS) or through a loopback proxy"], messages
    # The budget gate fails closed, naming the key to fix: gates.yaml's, not one the stack file may not set.
    assert [v.message for v in report.violations if v.policy == "error-budget-gate"] == [
        "Prometheus is not configured for production (governance/gates.yaml stacks.production.prometheus_url is not "
        "set, or was refused); failing closed (only an emergency change with a cto approval passes)"]
    _assert_no_credentials(reports.render(report, fmt), f"gate --format {fmt}")


# A program that names a NAT gateway after the proxy URL it reads from config: a URN is one more
# place a config value (and so its credentials) can reach a report.
COST_PROGRAM = textwrap.dedent('''
    import pulumi

    url = pulumi.Config("leadgen").require("governance.prometheusUrl")
    pulumi.CustomResource("aws:ec2/natGateway:NatGateway", f"egress for {url}", {"subnetId": "subnet-1"})
''')


@pytest.fixture()
def cost_root(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: leadgen\nruntime: python\n")
    (tmp_path / "Pulumi.test.yaml").write_text(
        f'config:\n  leadgen:governance.prometheusUrl: "{PROM_URL}"\n')
    (tmp_path / "__main__.py").write_text(COST_PROGRAM)
    return tmp_path


@pytest.mark.parametrize("fmt", ["table", "json", "markdown"])
def test_cost_output_never_shows_the_prometheus_credentials(cost_root, monkeypatch, tmp_path, fmt):
    from platformctl.commands import cost
    from platformctl.program.engine import run_program

    assert fmt in cost.FORMATS
    monkeypatch.setattr(cost, "run_stack", lambda stack, preview=True: run_program(
        stack, preview=preview, root=cost_root))
    out = tmp_path / f"cost.{fmt}"
    assert cost.run(argparse.Namespace(stack="test", against=None, format=fmt, out=str(out))) == 0
    text = out.read_text()
    # The gateway is priced and listed: its name reached the output, its credentials did not.
    assert "egress for https://" in text and "127.0.0.1:9" in text, text
    _assert_no_credentials(text, f"cost --format {fmt}")
