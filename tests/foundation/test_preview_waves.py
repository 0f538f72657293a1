"""The first-deploy order: dependency waves from the recorded preview, pure first, then the real
program (what a reviewer reads as "the CNI, then the nodes, then ..."), then the command."""
import json

import pytest

from platformctl.program.waves import CycleError, is_step, wave_numbers, waves
from tests.helpers import run_program

PROJECT = "leadgen"
STACK_URN = "urn:pulumi:production::leadgen::pulumi:pulumi:Stack::leadgen-production"


def rec(name, typ="aws:ec2/vpc:Vpc", deps=(), parent=STACK_URN, provider="", custom=True):
    return {"urn": f"urn:pulumi:production::leadgen::{typ}::{name}", "type": typ, "name": name, "custom": custom,
            "parent": parent, "dependencies": list(deps), "provider": provider}


def stack():
    return {"urn": STACK_URN, "type": "pulumi:pulumi:Stack", "name": "leadgen-production", "custom": False,
            "parent": "", "dependencies": [], "provider": ""}


# --- pure ----------------------------------------------------------------------------------------
def test_a_resource_is_one_wave_after_the_latest_it_waits_for():
    a, b = rec("a"), rec("b")
    c = rec("c", deps=(a["urn"],))
    d = rec("d", deps=(b["urn"], c["urn"]))
    numbers = wave_numbers([stack(), a, b, c, d], PROJECT)
    assert [numbers[r["urn"]] for r in (a, b, c, d)] == [0, 0, 1, 2]


def test_a_parent_and_a_provider_are_waited_for_like_dependencies():
    provider = rec("k8s", typ="pulumi:providers:kubernetes")
    cluster = rec("cluster", typ="aws:eks/cluster:Cluster")
    provider["dependencies"] = [cluster["urn"]]
    ns = rec("ns", typ="kubernetes:core/v1:Namespace", provider=provider["urn"] + "::0c2f5a9e")
    child = rec("child", typ="kubernetes:core/v1:ConfigMap", parent=ns["urn"])
    numbers = wave_numbers([stack(), cluster, provider, ns, child], PROJECT)
    assert [numbers[r["urn"]] for r in (cluster, provider, ns, child)] == [0, 1, 2, 3]


def test_the_programs_own_components_add_no_wave_but_provider_components_do():
    component = rec("network", typ="leadgen:network:Network", custom=False)
    vpc = rec("vpc", parent=component["urn"])
    crds = rec("crds", typ="kubernetes:yaml/v2:ConfigFile", custom=False)
    gateway = rec("gw", typ="kubernetes:gateway.networking.k8s.io/v1:Gateway", deps=(crds["urn"],))
    records = [stack(), component, vpc, crds, gateway]
    numbers = wave_numbers(records, PROJECT)
    assert numbers[vpc["urn"]] == 0 and numbers[gateway["urn"]] == 1
    assert [is_step(r, PROJECT) for r in records] == [False, False, True, True, True]
    assert [[r["name"] for r in w.resources] for w in waves(records, PROJECT)] == [["vpc", "crds"], ["gw"]]


def test_waves_are_numbered_densely():
    a = rec("a")
    group = rec("group", typ="leadgen:node_group:NodeGroup", custom=False, deps=(a["urn"],))
    b = rec("b", parent=group["urn"])
    assert [(w.number, [r["name"] for r in w.resources]) for w in waves([stack(), a, group, b], PROJECT)] == [
        (0, ["a"]), (1, ["b"])]


def test_a_cycle_is_refused_by_name():
    a, b = rec("a"), rec("b")
    a["dependencies"], b["dependencies"] = [b["urn"]], [a["urn"]]
    with pytest.raises(CycleError, match="dependency cycle through urn:pulumi:production::leadgen::aws:ec2/vpc:Vpc::"):
        wave_numbers([stack(), a, b], PROJECT)


def test_a_deep_chain_needs_no_recursion():
    chain = [rec("r0")]
    for i in range(1, 5000):
        chain.append(rec(f"r{i}", deps=(chain[-1]["urn"],)))
    assert wave_numbers([stack(), *chain], PROJECT)[chain[-1]["urn"]] == 4999


# --- the real program ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def prod():
    run = run_program("production")
    return run, wave_numbers(run.resources, run.project)


def _wave(prod, typ, name_suffix):
    run, numbers = prod
    found = [numbers[r["urn"]] for r in run.resources if r["type"] == typ and r["name"].endswith(name_suffix)]
    assert found, (typ, name_suffix)
    return found


def test_every_step_comes_after_everything_it_waits_for(prod):
    run, numbers = prod
    steps = {r["urn"] for r in run.resources if is_step(r, run.project)}
    for r in run.resources:
        for dep in r["dependencies"]:
            if dep in steps:
                assert numbers[dep] < numbers[r["urn"]], (r["urn"], dep)


def test_the_cni_then_the_nodes_then_what_runs_on_them(prod):
    cni = max(_wave(prod, "aws:eks/addon:Addon", "vpc-cni"))
    nodes = _wave(prod, "aws:eks/nodeGroup:NodeGroup", "-ng")
    assert len(nodes) == 3 and cni < min(nodes)
    for addon in ("coredns", "aws-ebs-csi-driver"):
        assert max(nodes) < min(_wave(prod, "aws:eks/addon:Addon", addon)), addon
    assert max(nodes) < min(_wave(prod, "kubernetes:helm.sh/v3:Release", "kube-prometheus-stack"))


def test_the_deployers_access_before_any_kubernetes_object(prod):
    run, numbers = prod
    access = max(_wave(prod, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "deployer"))
    k8s = [numbers[r["urn"]] for r in run.resources if r["type"].startswith("kubernetes:")]
    assert len(k8s) > 20 and access < min(k8s)


def test_crds_before_their_custom_resources(prod):
    crds = max(_wave(prod, "kubernetes:yaml/v2:ConfigFile", "gateway-api-crds"))
    assert crds < min(_wave(prod, "kubernetes:gateway.networking.k8s.io/v1:Gateway", ""))
    kps = max(_wave(prod, "kubernetes:helm.sh/v3:Release", "kube-prometheus-stack"))
    assert kps < min(_wave(prod, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor", ""))


# --- the command -------------------------------------------------------------------------------
def test_preview_waves_prints_the_order_by_type_and_name(capsys):
    from platformctl.cli import main

    assert main(["preview", "--stack", "production", "--waves", "--no-policy"]) == 0
    out = capsys.readouterr().out
    assert "First-deploy order: " in out and 'Names without "leadgen-production-".' in out
    blocks = out.split("\nWave ")[1:]
    assert blocks and all(b.split(" ", 1)[0].isdigit() for b in blocks)
    assert [int(b.split(" ", 1)[0]) for b in blocks] == list(range(len(blocks)))

    def wave_of(fragment):
        return next(i for i, b in enumerate(blocks) if fragment in b)

    assert wave_of("addons-vpc-cni") < wave_of("aws:eks:NodeGroup") < wave_of("addons-coredns")
    assert wave_of("aws:eks:AccessPolicyAssociation") < wave_of("pulumi:providers:kubernetes") \
        < wave_of("kubernetes:core:Namespace")
    line = next(li for li in out.splitlines() if "aws:eks:NodeGroup" in li)
    assert line.split() == ["3", "aws:eks:NodeGroup", "general-ng,", "gpu-ng,", "spot-ng"]


def test_preview_json_carries_the_waves(capsys):
    from platformctl.cli import main

    assert main(["preview", "--stack", "dev", "--waves", "--no-policy", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    urns = {r["urn"]: r for r in doc["resources"]}
    flat = [u for wave in doc["waves"] for u in wave]
    assert len(flat) == len(set(flat)) and set(flat) <= set(urns)
    position = {u: i for i, wave in enumerate(doc["waves"]) for u in wave}
    node_groups = [u for u in flat if urns[u]["type"] == "aws:eks/nodeGroup:NodeGroup"]
    cni = [u for u in flat if urns[u]["type"] == "aws:eks/addon:Addon" and u.endswith("vpc-cni")]
    assert node_groups and cni and position[cni[0]] < min(position[u] for u in node_groups)
