"""The error-budget gate against Amazon Managed Service for Prometheus: SigV4-signed queries
(service aps, the region from the host), checked by a loopback server standing in for the workspace
that recomputes the signature from the request it received; the exact host check; credentials
missing; and `amp:stack`, the workspace the stack itself declares."""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import hmac
import json
import re
import urllib.parse

import pytest

from policy_baseline import context
from tests.prometheus_stub import serving

from governance import config, error_budget, gates
from governance.model import Resource

F = "changes/CR-2026-014.yaml"
KEY_ID, SECRET, TOKEN = "AKIDEXAMPLE0000000", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token-1"
WORKSPACE = "ws-0123abcd-4567-89ef-0123-456789abcdef"
AMP = f"https://aps-workspaces.us-east-1.amazonaws.com/workspaces/{WORKSPACE}"
FIXED = dt.datetime(2026, 12, 15, 2, 30, 0)
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
HEALTHY = json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
    {"metric": {"slo_name": "api_availability", "service": "api-service", "cluster": "leadgen-production"},
     "value": [1767225600, "81.5"]}]}}).encode()


@pytest.fixture()
def aws_env(monkeypatch, tmp_path):
    """Fixed credentials in the environment (as CI's OIDC step exports them), nothing else of the
    chain reachable, and botocore's clock fixed."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    import botocore.auth
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: FIXED)
    return monkeypatch


@pytest.fixture()
def workspace():
    """A loopback HTTP server answering as AMP does; records each request it gets."""
    with serving(body=HEALTHY) as stub:
        loopback = urllib.parse.urlparse(stub.url)
        opened: list[str] = []

        def transport(parsed, deadline):
            # The gate's own bounded connection, opened to the loopback server instead of AWS.
            opened.append(parsed.hostname)
            return error_budget._connection(loopback, deadline)
        yield type("Workspace", (), {"seen": stub.seen, "reply": stub.reply, "transport": staticmethod(transport),
                                     "opened": opened, "url": loopback.geturl()})


def expected_signature(request: dict, region: str, service: str = "aps") -> str:
    """SigV4 recomputed from the request as received, by the published algorithm (not botocore)."""
    path, _, query = request["path"].partition("?")
    headers = request["headers"]
    signed = re.search(r"SignedHeaders=([^,]+)", headers["authorization"]).group(1).split(";")
    amz_date = headers["x-amz-date"]
    canonical = "\n".join(["GET", path, query, *[f"{h}:{headers[h].strip()}" for h in signed], "",
                           ";".join(signed), EMPTY_SHA256])
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + SECRET).encode()
    for part in (amz_date[:8], region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def test_an_amp_query_is_signed_for_aps_in_the_hosts_region(aws_env, workspace):
    budget = error_budget.query(AMP, services=("api-service",), transport=workspace.transport)
    assert (budget.remaining, budget.slo) == (81.5, 'slo_name="api_availability"')
    (request,) = workspace.seen
    headers = request["headers"]
    assert request["path"] == f"/workspaces/{WORKSPACE}/api/v1/query?query=slo_error_budget_remaining"
    assert headers["host"] == "aps-workspaces.us-east-1.amazonaws.com"  # the host signed, not the loopback's
    assert headers["x-amz-date"] == "20261215T023000Z" and headers["x-amz-security-token"] == TOKEN
    auth = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=([^,]+), SignedHeaders=([^,]+), Signature=([0-9a-f]{64})",
                        headers["authorization"])
    assert auth, headers["authorization"]
    assert auth.group(1) == f"{KEY_ID}/20261215/us-east-1/aps/aws4_request"
    assert {"host", "x-amz-date", "x-amz-security-token"} <= set(auth.group(2).split(";"))
    assert auth.group(3) == expected_signature(request, "us-east-1")


def test_the_region_is_the_hosts(aws_env, workspace):
    error_budget.query(AMP.replace("us-east-1", "eu-west-2"), transport=workspace.transport)
    headers = workspace.seen[0]["headers"]
    assert f"{KEY_ID}/20261215/eu-west-2/aps/aws4_request" in headers["authorization"]
    assert re.search(r"Signature=([0-9a-f]{64})", headers["authorization"]).group(1) == expected_signature(
        workspace.seen[0], "eu-west-2")


@pytest.mark.parametrize("url", [
    "https://aps-workspaces.us-east-1.amazonaws.com.evil.com/workspaces/ws-1",
    "https://evil-aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1",
    "https://aps-workspaces.evil.amazonaws.com/workspaces/ws-1",
    "https://xaps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1",
])
def test_only_the_exact_amp_host_gets_a_signed_request(aws_env, workspace, url):
    assert error_budget.amp_region(url) is None
    error_budget.query(url, transport=workspace.transport)
    assert "authorization" not in workspace.seen[0]["headers"]
    assert not any(h.startswith("x-amz-") for h in workspace.seen[0]["headers"])


def test_a_self_hosted_prometheus_is_queried_unsigned_as_before(aws_env, workspace):
    error_budget.query(workspace.url)
    assert "authorization" not in workspace.seen[0]["headers"]


def test_no_credentials_is_one_line_and_no_connection(aws_env, workspace):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        aws_env.delenv(name)
    with pytest.raises(error_budget.BudgetUnavailable) as err:
        error_budget.query(AMP, transport=workspace.transport)
    assert str(err.value) == (f"Prometheus at {AMP} needs AWS credentials to sign the query (SigV4, service aps): "
                              "none found")
    assert workspace.opened == [] and workspace.seen == []


def test_amp_over_plain_http_is_refused_before_signing(aws_env, workspace):
    url = AMP.replace("https://", "http://")
    with pytest.raises(error_budget.BudgetUnavailable, match="queried over https only"):
        error_budget.query(url, transport=workspace.transport)
    assert workspace.opened == []


def test_amps_403_is_an_answer_with_its_message(aws_env, workspace):
    workspace.reply.update(status=403, body=b'{"message": "User: arn:aws:sts::123456789012:assumed-role/ci/x '
                                            b'is not authorized to perform: aps:QueryMetrics"}')
    with pytest.raises(error_budget.BudgetUnavailable) as err:
        error_budget.query(AMP, transport=workspace.transport)
    assert str(err.value) == (f"Prometheus at {AMP} answered HTTP 403: User: arn:aws:sts::123456789012:assumed-role/"
                              "ci/x is not authorized to perform: aps:QueryMetrics")


# -- amp:stack: the workspace this stack declares -------------------------------------------------
def write_change(tmp_path, keyring):
    doc = {"id": "CR-2026-014", "title": "t", "description": "d", "service": "api-service", "change_type": "standard",
           "risk_level": "low", "impact_analysis": "small", "rollback_plan": ["pulumi up on the previous commit"],
           "requested_by": "dev@example.com",
           "approvals": [{"by": "team-lead@example.com", "role": "team-lead", "at": "2026-11-20T10:00:00Z"}],
           "window": {"start": "2026-12-15T02:00:00Z", "duration": "1h"}, "stacks": ["production"]}
    keyring.write(tmp_path, doc)


def amp_workspace(name="leadgen-production-obs-amp-workspace", endpoint=AMP + "/"):
    props = {"alias": "leadgen-production-obs-amp", "arn": f"arn:aws:aps:us-east-1:123456789012:workspace/{WORKSPACE}"}
    if endpoint is not None:
        props["prometheusEndpoint"] = endpoint
    return Resource(error_budget.AMP_WORKSPACE, f"urn:pulumi:production::leadgen::{error_budget.AMP_WORKSPACE}::{name}", name, props)


def stack_ctx(tmp_path, keyring, dry_run=False):
    write_change(tmp_path, keyring)
    ctx = context(changeRequest="CR-2026-014", **{"governance.prometheusUrl": config.STACK_AMP_WORKSPACE})
    assert ctx.config.problems == ()
    return dataclasses.replace(ctx, project_root=tmp_path, dry_run=dry_run)


def test_amp_stack_queries_the_declared_workspaces_endpoint_signed(aws_env, workspace, tmp_path, keyring):
    query = functools.partial(error_budget.query, transport=workspace.transport)
    assert list(gates.error_budget_gate([amp_workspace()], stack_ctx(tmp_path, keyring), query=query)) == []
    (request,) = workspace.seen
    assert request["path"] == f"/workspaces/{WORKSPACE}/api/v1/query?query=slo_error_budget_remaining"
    assert workspace.opened == ["aps-workspaces.us-east-1.amazonaws.com"]
    assert re.search(r"Signature=([0-9a-f]{64})", request["headers"]["authorization"]).group(1) == (
        expected_signature(request, "us-east-1"))


UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's unknown string at preview
NOT_YET = (f"the SLO store does not exist yet: leadgen:governance.prometheusUrl is amp:stack, and the "
           f"aws:amp/workspace:Workspace 'leadgen-production-obs-amp-workspace' has no prometheusEndpoint until "
           f"it is created")
CLOSED = "; failing closed (only an emergency change with a cto approval passes)"


@pytest.mark.parametrize("resources,why", [
    # A first deploy (or a change that replaces the workspace): the endpoint is not known yet.
    ([amp_workspace(endpoint=UNKNOWN)], NOT_YET),
    ([amp_workspace(endpoint=None)], NOT_YET),
    # A change that deletes the workspace: the stack no longer declares one.
    ([], "the SLO store does not exist: leadgen:governance.prometheusUrl is amp:stack, and the stack declares "
         "no aws:amp/workspace:Workspace"),
    ([amp_workspace(), amp_workspace("second")],
     "leadgen:governance.prometheusUrl is amp:stack, but the stack declares 2 aws:amp/workspace:Workspace "
     "('leadgen-production-obs-amp-workspace', 'second'); it must declare exactly one"),
    # Only an AMP endpoint is taken from the stack (and queried signed).
    ([amp_workspace(endpoint="http://127.0.0.1:9090/")],
     "leadgen:governance.prometheusUrl is amp:stack, but the aws:amp/workspace:Workspace "
     "'leadgen-production-obs-amp-workspace' has prometheusEndpoint 'http://127.0.0.1:9090/', not an Amazon "
     "Managed Prometheus query URL"),
])
def test_amp_stack_without_a_usable_workspace_blocks_the_update(aws_env, workspace, tmp_path, keyring,
                                                                 resources, why):
    query = functools.partial(error_budget.query, transport=workspace.transport)
    assert list(gates.error_budget_gate(resources, stack_ctx(tmp_path, keyring), query=query)) == [why + CLOSED]
    assert workspace.opened == []


def test_a_replaced_workspace_is_empty_and_blocks_the_update(aws_env, workspace, tmp_path, keyring):
    # At the update the new workspace exists but has recorded nothing: the change cannot bring its
    # own healthy budget by swapping the store.
    workspace.reply.update(body=b'{"status": "success", "data": {"resultType": "vector", "result": []}}')
    query = functools.partial(error_budget.query, transport=workspace.transport)
    assert list(gates.error_budget_gate([amp_workspace()], stack_ctx(tmp_path, keyring), query=query)) == [
        f"Prometheus at {AMP} has no slo_error_budget_remaining series: no SLO reports its error budget" + CLOSED]


def test_at_preview_a_workspace_not_created_yet_is_the_updates_forecast(aws_env, tmp_path, keyring):
    ctx = stack_ctx(tmp_path, keyring, dry_run=True)
    resources = [amp_workspace(endpoint=UNKNOWN)]
    assert list(gates.error_budget_gate(resources, ctx)) == []
    assert list(gates.update_forecast(resources, ctx)) == [
        NOT_YET + ": the update will read the workspace again and is blocked unless it exists and answers "
                  "slo_error_budget_remaining"]


@pytest.mark.parametrize("value,problems", [
    ("amp:stack", ()),
    (AMP, ()),
    ("amp:elsewhere", ("leadgen:governance.prometheusUrl ('amp:elsewhere') must be an http(s) URL or amp:stack "
                       "(the stack's own AMP workspace)",)),
])
def test_the_setting_accepts_the_stacks_workspace_literal(value, problems):
    assert config.from_mapping({"leadgen:governance.prometheusUrl": value}).problems == problems


@pytest.mark.parametrize("url", [AMP.replace("https://", "https://reader:pw@"),
                                 "https://aps-workspaces.us-east-1.amazonaws.com@evil.com/workspaces/ws-1"])
def test_user_info_in_an_amp_url_is_refused_unsent_and_unshown(aws_env, workspace, url):
    # A URL with user:password@ is refused whole (tests/dr/test_dr_store_parity.py holds the table every
    # reader of the store shares): nothing signed, nothing sent, the credentials never in the line.
    with pytest.raises(error_budget.BudgetUnavailable, match="has credentials in it") as err:
        error_budget.query(url, transport=workspace.transport)
    assert workspace.opened == [] and workspace.seen == []
    assert "pw" not in str(err.value) and "https://***@" in str(err.value)


def test_a_port_that_is_not_a_number_is_one_line_not_a_crash():
    with pytest.raises(error_budget.BudgetUnavailable, match="is not an http.s. URL"):
        error_budget.query("https://aps-workspaces.us-east-1.amazonaws.com:x/workspaces/ws-1")
