"""The first update of a protected stack creates the SLO store the error-budget gate reads: the
named exception `first-deploy-no-slo-store`, only for a change request that says so, only for a
stack with no prior state, and nothing else of the gate weakened."""
from __future__ import annotations

import dataclasses
import functools

import pytest

from policy_baseline import context
from tests.prometheus_stub import serving

from governance import changes, config, error_budget, first_deploy, gates
from governance.model import Resource

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's unknown string at preview
WORKSPACE = "ws-0123abcd-4567-89ef-0123-456789abcdef"
AMP = f"https://aps-workspaces.us-east-1.amazonaws.com/workspaces/{WORKSPACE}"
CLOSED = "; failing closed (only an emergency change with a cto approval passes)"
EMPTY = b'{"status": "success", "data": {"resultType": "vector", "result": []}}'


def write_change(tmp_path, keyring, **fields):
    doc = {"id": "CR-2026-014", "title": "first deploy", "description": "d", "service": "api-service",
           "change_type": "standard", "risk_level": "low", "impact_analysis": "a new stack",
           "rollback_plan": ["pulumi destroy of the new stack"], "requested_by": "dev@example.com",
           "approvals": [{"by": "team-lead@example.com", "role": "team-lead", "at": "2026-11-20T10:00:00Z"}],
           "window": {"start": "2026-12-15T02:00:00Z", "duration": "1h"}, "stacks": ["production"], **fields}
    keyring.write(tmp_path, doc)


def ctx_for(tmp_path, keyring, *, dry_run, url=config.STACK_AMP_WORKSPACE, **fields):
    write_change(tmp_path, keyring, **fields)
    ctx = context(changeRequest="CR-2026-014", **{"governance.prometheusUrl": url})
    return dataclasses.replace(ctx, project_root=tmp_path, dry_run=dry_run)


def resource(typ, name, **props):
    return Resource(typ, f"urn:pulumi:production::leadgen::{typ}::{name}", name, props)


def fresh_stack():
    """A first preview as the CLI shows it: nothing exists, every arn and the endpoint unknown."""
    return [resource("aws:ec2/vpc:Vpc", "leadgen-production-vpc", arn=UNKNOWN),
            resource(error_budget.AMP_WORKSPACE, "leadgen-production-obs-amp-workspace", arn=UNKNOWN,
                     prometheusEndpoint=UNKNOWN)]


def existing_stack():
    return [resource("aws:ec2/vpc:Vpc", "leadgen-production-vpc", arn="arn:aws:ec2:us-east-1:1:vpc/vpc-1"),
            resource(error_budget.AMP_WORKSPACE, "leadgen-production-obs-amp-workspace", arn=UNKNOWN,
                     prometheusEndpoint=UNKNOWN)]


def created_stack():
    """The same stack as the update's AnalyzeStack sees it: created, the workspace empty."""
    return [resource("aws:ec2/vpc:Vpc", "leadgen-production-vpc", arn="arn:aws:ec2:us-east-1:1:vpc/vpc-1"),
            resource(error_budget.AMP_WORKSPACE, "leadgen-production-obs-amp-workspace",
                     arn=f"arn:aws:aps:us-east-1:1:workspace/{WORKSPACE}", prometheusEndpoint=AMP + "/")]


@pytest.fixture()
def empty_workspace():
    with serving(body=EMPTY) as stub:
        import urllib.parse
        loopback = urllib.parse.urlparse(stub.url)
        yield functools.partial(error_budget.query,
                                transport=lambda parsed, deadline: error_budget._connection(loopback, deadline))


@pytest.fixture()
def aws_env(monkeypatch, tmp_path):
    for name in ("AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE0000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")


def test_the_first_preview_and_update_pass_the_budget_gate_and_log_the_exception(
        tmp_path, keyring, aws_env, empty_workspace, capsys):
    preview = ctx_for(tmp_path, keyring, dry_run=True, first_deploy=True)
    assert list(gates.error_budget_gate(fresh_stack(), preview)) == []
    assert list(gates.update_forecast(fresh_stack(), preview)) == []
    update = dataclasses.replace(preview, dry_run=False)
    assert list(gates.error_budget_gate(created_stack(), update, query=empty_workspace)) == []
    logged = capsys.readouterr().err
    assert "first-deploy-no-slo-store: CR-2026-014 is the first deploy of production; its SLO store " \
           "'leadgen-production-obs-amp-workspace' is created by this update" in logged


def test_without_the_claim_the_first_update_still_fails_closed(tmp_path, keyring, aws_env, empty_workspace):
    update = ctx_for(tmp_path, keyring, dry_run=False)
    assert list(gates.error_budget_gate(created_stack(), update, query=empty_workspace)) == [
        f"Prometheus at {AMP} has no slo_error_budget_remaining series: no SLO reports its error budget" + CLOSED]


def test_a_claim_on_a_stack_with_state_is_a_violation_of_the_preview(tmp_path, keyring):
    preview = ctx_for(tmp_path, keyring, dry_run=True, first_deploy=True)
    (line,) = gates.error_budget_gate(existing_stack(), preview)
    assert line == ("changes/CR-2026-014.yaml: first_deploy is set, but stack production already has state: "
                    "1 AWS resources exist (leadgen-production-vpc...); a first deploy has none")


def test_the_claim_does_not_apply_to_a_budget_read_elsewhere(tmp_path, keyring):
    preview = ctx_for(tmp_path, keyring, dry_run=False, url="http://127.0.0.1:1/?token=tok-99", first_deploy=True)
    (line,) = gates.error_budget_gate(fresh_stack(), preview, query=lambda url, services=(): (_ for _ in ()).throw(
        error_budget.BudgetUnavailable("Prometheus at http://127.0.0.1:1/?*** is unreachable")))
    # The line says why the claim does not count, and shows the URL as every reader does.
    assert line == (f"Prometheus at http://127.0.0.1:1/?*** is unreachable{CLOSED} (changes/CR-2026-014.yaml: "
                    "first_deploy is set, but the budget is read from http://127.0.0.1:1/?***, not the stack's own "
                    "SLO store (amp:stack); the exception does not apply)")
    assert "tok-99" not in line


def test_a_readable_budget_is_judged_even_with_the_claim():
    judged = first_deploy.judge([], stack="production", prometheus_url=config.STACK_AMP_WORKSPACE, dry_run=True,
                                change=None, unavailable="x")
    assert judged is None  # no request, no exception: the gate's own path decides


def test_the_claim_is_flagged_in_every_report(tmp_path, keyring):
    ctx = ctx_for(tmp_path, keyring, dry_run=True, first_deploy=True)
    (line,) = gates.emergency_in_use(fresh_stack(), ctx)
    assert line.startswith("changes/CR-2026-014.yaml: FIRST DEPLOY change CR-2026-014 (first deploy)")
    assert "first-deploy-no-slo-store" in line


def test_first_deploy_is_a_strict_boolean_of_the_request(tmp_path):
    path = tmp_path / "changes" / "CR-2026-014.yaml"
    path.parent.mkdir()
    text = ("id: CR-2026-014\ntitle: t\ndescription: d\nservice: s\nchange_type: normal\nrisk_level: low\n"
            "impact_analysis: i\nrollback_plan: [r]\nrequested_by: a@example.com\napprovals: []\n"
            "window: {start: \"2026-12-15T02:00:00Z\", duration: 1h}\nstacks: [production]\n")
    path.write_text(text + "first_deploy: \"yes\"\n")
    loaded = changes.load(tmp_path, "changes", "CR-2026-014")
    assert loaded.change is None and any("first_deploy" in p and "must be true or false" in p for p in loaded.problems)
    path.write_text(text + "first_deploy: true\n")
    assert changes.load(tmp_path, "changes", "CR-2026-014").change.first_deploy is True
