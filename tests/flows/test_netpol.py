"""The evaluator's Kubernetes NetworkPolicy and security-group semantics, one rule per test, each
from a compliant baseline (the flow gets through) changed in one place."""
import copy

import pytest

from leadgen.netpol import (Endpoint, Flow, SecurityGroup, SgRule, decide, decide_policies,
                            decide_security_groups, selector_matches)

VPC = "10.0.0.0/16"
PODS = ("10.0.0.0/19", "10.0.32.0/19")
API = Endpoint(name="api-server", addresses=("10.0.0.0/19",), security_groups=("sg-cluster",))
WEBHOOK = Endpoint(name="webhook", addresses=PODS, namespace="monitoring",
                   labels={"app.kubernetes.io/name": "external-secrets-webhook"}, ports={"webhook": 10250},
                   security_groups=("sg-cluster",))
CLIENT = Endpoint(name="client", addresses=PODS, namespace="production", labels={"app": "api"},
                  security_groups=("sg-cluster",))
NS_LABELS = {"monitoring": {"team": "platform"}, "production": {"tier": "apps"}}


def policy(name, namespace, spec):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


DENY = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def baseline():
    """monitoring and production isolated both ways; the webhook takes the API server's calls on
    its port; the client may reach the webhook's namespace on 10250."""
    return [
        policy("default-deny", "monitoring", DENY),
        policy("default-deny", "production", DENY),
        policy("allow-api-server", "monitoring", {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "external-secrets-webhook"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"ipBlock": {"cidr": VPC}}], "ports": [{"protocol": "TCP", "port": 10250}]}]}),
        policy("allow-from-production", "monitoring", {
            "podSelector": {}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"tier": "apps"}}}],
                         "ports": [{"protocol": "TCP", "port": 10250}]}]}),
        policy("allow-to-monitoring", "production", {
            "podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Egress"],
            "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
                                "podSelector": {"matchExpressions": [
                                    {"key": "app.kubernetes.io/name", "operator": "In",
                                     "values": ["external-secrets-webhook"]}]}}],
                        "ports": [{"protocol": "TCP", "port": 10250}]}]}),
    ]


def allowed(flow, policies):
    return decide_policies(flow, policies, NS_LABELS).allowed


def api_call(port=10250):
    return Flow(source=API, destination=WEBHOOK, port=port, why="admission")


def client_call(port=10250, protocol="TCP"):
    return Flow(source=CLIENT, destination=WEBHOOK, port=port, why="test", protocol=protocol)


def test_baseline_admits_both_flows():
    assert allowed(api_call(), baseline())
    assert allowed(client_call(), baseline())


def test_default_deny_alone_blocks_everything_and_no_policy_admits_everything():
    assert not allowed(api_call(), [policy("default-deny", "monitoring", DENY)])
    assert allowed(api_call(), [])


def test_default_deny_blocks_the_api_server_like_the_monitoring_namespace_did():
    policies = [p for p in baseline() if p["metadata"]["name"] != "allow-api-server"]
    verdict = decide_policies(api_call(), policies, NS_LABELS)
    assert not verdict.allowed and "ingress of monitoring/webhook" in verdict.reason


def test_policies_are_a_union():
    split = baseline()
    split[2]["spec"]["ingress"][0]["from"] = [{"ipBlock": {"cidr": "10.0.0.0/20"}}]
    assert not allowed(api_call(), split)  # half the control plane's subnet
    split.append(policy("other-half", "monitoring", {
        "podSelector": {}, "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.16.0/20"}}]}]}))
    assert allowed(api_call(), split)


def test_ip_block_except_carves_out_addresses():
    p = baseline()
    p[2]["spec"]["ingress"][0]["from"] = [{"ipBlock": {"cidr": VPC, "except": ["10.0.8.0/24"]}}]
    assert not allowed(api_call(), p)


def test_ip_block_outside_the_vpc_does_not_admit_vpc_addresses():
    p = baseline()
    p[2]["spec"]["ingress"][0]["from"] = [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [VPC]}}]
    assert not allowed(api_call(), p)


def test_selectors_never_match_the_api_server():
    p = baseline()
    p[2]["spec"]["ingress"][0]["from"] = [{"namespaceSelector": {}}]
    assert not allowed(api_call(), p)


def test_ports_number_range_and_name():
    p = baseline()
    assert not allowed(api_call(port=443), p)  # the Service's port is not what the pod sees
    p[2]["spec"]["ingress"][0]["ports"] = [{"protocol": "TCP", "port": 10000, "endPort": 10300}]
    assert allowed(api_call(), p)
    p[2]["spec"]["ingress"][0]["ports"] = [{"protocol": "TCP", "port": 10000, "endPort": 10200}]
    assert not allowed(api_call(), p)
    p[2]["spec"]["ingress"][0]["ports"] = [{"protocol": "TCP", "port": "webhook"}]
    assert allowed(api_call(), p)
    p[2]["spec"]["ingress"][0]["ports"] = [{"protocol": "TCP", "port": "metrics"}]
    assert not allowed(api_call(), p)


def test_protocol_defaults_to_tcp():
    p = baseline()
    p[2]["spec"]["ingress"][0]["ports"] = [{"port": 10250}]
    assert allowed(api_call(), p)
    p[2]["spec"]["ingress"][0]["ports"] = [{"protocol": "UDP", "port": 10250}]
    assert not allowed(api_call(), p)


def test_rule_without_peers_or_ports_admits_all():
    p = baseline()
    p[2]["spec"]["ingress"] = [{"ports": [{"port": 10250}]}]
    assert allowed(api_call(), p)
    p[2]["spec"]["ingress"] = [{}]
    assert allowed(api_call(port=1), p)


def test_namespace_selector_uses_namespace_labels():
    # Without the API server's ipBlock, which admits every VPC address (pods' too, as the VPC CNI matches it).
    p = [q for q in baseline() if q["metadata"]["name"] != "allow-api-server"]
    p[2]["spec"]["ingress"][0]["from"] = [{"namespaceSelector": {"matchLabels": {"tier": "other"}}}]
    assert not allowed(client_call(), p)


def test_namespace_and_pod_selector_together_must_both_match():
    p = baseline()
    p[4]["spec"]["egress"][0]["to"][0]["podSelector"]["matchExpressions"][0]["values"] = ["grafana"]
    verdict = decide_policies(client_call(), p, NS_LABELS)
    assert not verdict.allowed and "egress of production/client" in verdict.reason


def test_pod_selector_alone_means_the_policy_namespace():
    p = baseline()
    p[4]["spec"]["egress"][0]["to"] = [{"podSelector": {}}]
    assert not allowed(client_call(), p)


def test_policy_types_decide_the_direction():
    p = baseline()
    # An Ingress-only deny leaves egress open: the client's egress is then not isolated.
    p[1]["spec"] = {"podSelector": {}, "policyTypes": ["Ingress"]}
    p[4]["spec"]["policyTypes"] = ["Ingress"]
    p[4]["spec"]["ingress"] = []
    assert allowed(client_call(), p)
    # Without policyTypes a spec with `egress` isolates egress too.
    q = baseline()
    q[1]["spec"] = {"podSelector": {}, "egress": []}
    q[4]["spec"].pop("policyTypes")
    assert allowed(client_call(), q)
    q[4]["spec"]["egress"] = []
    assert not allowed(client_call(), q)


def test_host_network_pods_are_not_isolated_and_are_reached_as_addresses():
    host = Endpoint(name="kube-proxy", addresses=PODS, namespace="kube-system", host_network=True)
    p = baseline() + [policy("default-deny", "kube-system", DENY)]
    scrape = Flow(source=CLIENT, destination=host, port=10249, why="metrics")
    p[4]["spec"]["egress"].append({"to": [{"namespaceSelector": {}}]})
    assert not allowed(scrape, p)  # a namespace selector never matches a host address
    p[4]["spec"]["egress"].append({"to": [{"ipBlock": {"cidr": VPC}}], "ports": [{"port": 10249}]})
    assert allowed(scrape, p)


def test_selector_operators():
    labels = {"a": "1"}
    assert selector_matches({}, labels)
    assert selector_matches({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, labels)
    assert selector_matches({"matchExpressions": [{"key": "b", "operator": "NotIn", "values": ["1"]}]}, labels)
    with pytest.raises(ValueError, match="Equals"):
        selector_matches({"matchExpressions": [{"key": "a", "operator": "Equals"}]}, labels)


# --- security groups ---------------------------------------------------------------------------
ENDPOINT = Endpoint(name="aws:sts", addresses=("10.0.0.0/19",), security_groups=("sg-endpoints",))


def groups():
    return {
        "sg-cluster": SecurityGroup(id="sg-cluster", name="cluster", ingress=(
            SgRule(protocol="-1", from_port=0, to_port=65535, groups=("sg-cluster",)),),
            egress=(SgRule(protocol="-1", from_port=0, to_port=65535, cidrs=("0.0.0.0/0",)),)),
        "sg-endpoints": SecurityGroup(id="sg-endpoints", name="endpoints", ingress=(
            SgRule(protocol="tcp", from_port=443, to_port=443, cidrs=(VPC,)),)),
    }


def test_security_groups_baseline_and_self_reference():
    assert decide_security_groups(Flow(source=CLIENT, destination=ENDPOINT, port=443, why="sts"), groups()).allowed
    assert decide_security_groups(api_call(), groups()).allowed


def test_security_group_ingress_must_cover_every_source_address_and_port():
    g = groups()
    g["sg-endpoints"] = SecurityGroup(id="sg-endpoints", name="endpoints", ingress=(
        SgRule(protocol="tcp", from_port=443, to_port=443, cidrs=("10.0.0.0/19",)),))
    verdict = decide_security_groups(Flow(source=CLIENT, destination=ENDPOINT, port=443, why="sts"), g)
    assert not verdict.allowed and "endpoints" in verdict.reason
    assert not decide_security_groups(Flow(source=CLIENT, destination=ENDPOINT, port=8443, why="x"), groups()).allowed


def test_security_group_egress_is_checked_and_undeclared_groups_fail():
    g = groups()
    g["sg-cluster"] = SecurityGroup(id="sg-cluster", name="cluster", ingress=g["sg-cluster"].ingress,
                                    egress=(SgRule(protocol="tcp", from_port=53, to_port=53, cidrs=(VPC,)),))
    verdict = decide_security_groups(Flow(source=CLIENT, destination=ENDPOINT, port=443, why="sts"), g)
    assert not verdict.allowed and "egress" in verdict.reason
    del g["sg-endpoints"]
    assert "not declared" in decide_security_groups(
        Flow(source=CLIENT, destination=ENDPOINT, port=443, why="sts"), g).reason


def test_decide_needs_both_layers():
    flow = api_call()
    assert decide(flow, baseline(), NS_LABELS, groups()).allowed
    g = copy.deepcopy(groups())
    g["sg-cluster"] = SecurityGroup(id="sg-cluster", name="cluster", ingress=(), egress=g["sg-cluster"].egress)
    assert not decide(flow, baseline(), NS_LABELS, g).allowed
