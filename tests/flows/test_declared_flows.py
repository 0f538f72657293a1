"""Every declared flow (leadgen/flows.py) gets through what each stack renders: its NetworkPolicies,
namespaces and security groups, decided by leadgen/netpol.py."""
import copy
from functools import lru_cache

import pytest

from leadgen import flows as spec
from platformctl.render.flows import build, check, flows
from tests.helpers import run_program

STACKS = ("production", "staging", "dev", "production-dr")


@lru_cache(maxsize=None)
def _run(stack):
    return run_program(stack)


def resources(stack="production"):
    return copy.deepcopy(_run(stack).resources)


@pytest.mark.parametrize("stack", STACKS)
def test_every_declared_flow_is_allowed(stack):
    assert check(resources(stack)) == []


def test_every_declared_flow_names_something_production_runs():
    model = build(resources())
    for s in spec.FLOWS:
        concrete, problems = flows(model, [s])
        assert concrete and not problems, f"{s.source} -> {s.destination}:{s.port} resolves to nothing"


def _decided(stack, source_name, destination_name, port):
    model = build(resources(stack))
    concrete, _ = flows(model)
    found = [f for f in concrete if f.source.name == source_name and f.destination.name == destination_name
             and f.port == port]
    assert found, f"no flow {source_name} -> {destination_name}:{port}"
    return found


# The defects a first deploy met, each a flow that must exist and get through.
@pytest.mark.parametrize("source,destination,port", [
    ("cronjob/pgbackup-backup", "aws:sts (interface endpoint, private DNS)", 443),
    ("cronjob/pgbackup-verify", "aws:sts (interface endpoint, private DNS)", 443),
    ("kube-prometheus-stack prometheus", "nodes", 10249),
    ("api-server", "external-secrets webhook", 10250),
    ("api-server", "kube-prometheus-stack operator", 10250),
])
def test_first_deploy_flows_get_through(source, destination, port):
    assert _decided("production", source, destination, port)
    assert not [line for line in check(resources()) if f"{source} -> {destination}:{port}/" in line]


def test_sts_resolves_inside_the_vpc_where_an_interface_endpoint_has_private_dns():
    model = build(resources())
    assert all(a.startswith("10.0.") for a in model.services["sts"].addresses)


def _without_policy(rs, name):
    kept = [r for r in rs if not (r["type"] == "kubernetes:networking.k8s.io/v1:NetworkPolicy"
                                  and r["inputs"]["metadata"]["name"] == name)]
    assert len(kept) < len(rs), name
    return kept


def test_a_blocked_flow_fails_with_one_line_naming_it():
    lines = check(_without_policy(resources(), "allow-api-server-to-external-secrets-webhook"))
    assert len(lines) == 1, lines
    assert lines[0].startswith("blocked: api-server -> external-secrets webhook:10250/TCP (admission: "
                               "secretstore-validate, externalsecret-validate (failurePolicy Fail)): "
                               "ingress of monitoring/external-secrets webhook"), lines[0]


def test_the_interface_endpoint_rule_is_what_lets_pgbackup_reach_sts():
    lines = check(_without_policy(resources(), "allow-egress-aws-endpoints"))
    assert any(line.startswith("blocked: cronjob/pgbackup-backup -> aws:sts") for line in lines), lines


def test_a_security_group_that_blocks_a_flow_fails_it():
    rs = resources()
    for r in rs:
        if r["type"] == "aws:ec2/securityGroup:SecurityGroup" and r["name"].endswith("-endpoints"):
            r["inputs"]["ingress"] = [{**r["inputs"]["ingress"][0], "cidrBlocks": ["10.0.96.0/22"]}]
    lines = check(rs)
    assert lines and all("no ingress rule of leadgen-production-endpoints admits it" in line for line in lines), lines


def test_a_webhook_with_no_flow_fails():
    specs = [s for s in spec.FLOWS
             if not (s.source == "api-server" and s.destination == "pod:external-secrets/webhook")]
    assert check(resources(), specs) == [
        "webhook secretstore-validate, externalsecret-validate of release monitoring/external-secrets: "
        "no flow from the API server to webhook:10250"]


def test_a_chart_with_no_webhook_entry_fails():
    rs = resources()
    release = copy.deepcopy(next(r for r in rs if r["type"] == "kubernetes:helm.sh/v3:Release"))
    release["inputs"].update(name="kyverno", chart="kyverno", namespace="kyverno")
    assert check(rs + [release]) == [
        "release kyverno/kyverno: chart kyverno is not in leadgen.flows.WEBHOOKS (list its admission webhooks, or none)"]


def test_webhook_catalog_names_served_pods():
    for chart, hooks in spec.WEBHOOKS.items():
        for h in hooks:
            pod = spec.CHART_PODS[f"{chart}/{h.component}"]
            assert h.port in pod.ports.values(), f"{chart}: webhook port {h.port} is not a port of {h.component}"


def test_render_writes_every_flow_with_its_verdict(tmp_path):
    from platformctl.render import flows as extension

    (path,) = extension.render(resources(), tmp_path)
    lines = path.read_text().splitlines()
    assert path == tmp_path / "network" / "flows.txt"
    assert len(lines) == len(flows(build(resources()))[0]) and all(line.startswith("allowed: ") for line in lines)
    assert "allowed: api-server -> external-secrets webhook:10250/TCP" in "\n".join(lines)
