"""Offline URNs are the ones the Pulumi engine writes (pulumi/pulumi `sdk/go/common/resource/urn.go`
NewURN, given the parent URN's qualified type): the type part chains every ancestor component's
type, and a child of the root stack carries its own type alone. Exports, exemption patterns and
audits built offline then name the same resources as real state."""
import json
import textwrap

import pytest

from platformctl.program.engine import new_urn, run_program
from platformctl.program.export import write_export

PREFIX = "urn:pulumi:test::urnproj::"
OUTER = "test:index:Outer"
MIDDLE = f"{OUTER}$test:index:Middle"
INNER = f"{MIDDLE}$test:index:Inner"

CHAIN_PROGRAM = textwrap.dedent('''
    import pulumi


    class Inner(pulumi.ComponentResource):
        def __init__(self, name, provider, opts=None):
            super().__init__("test:index:Inner", name, None, opts)
            self.leaf = pulumi.CustomResource("test:index:Thing", f"{name}-leaf", {"size": 1},
                                              pulumi.ResourceOptions(parent=self, provider=provider))
            self.register_outputs({})


    class Middle(pulumi.ComponentResource):
        def __init__(self, name, opts=None):
            super().__init__("test:index:Middle", name, None, opts)
            provider = pulumi.ProviderResource("test", f"{name}-provider", {}, pulumi.ResourceOptions(parent=self))
            self.inner = Inner(f"{name}-inner", provider, pulumi.ResourceOptions(parent=self))
            self.register_outputs({})


    class Outer(pulumi.ComponentResource):
        def __init__(self, name, opts=None):
            super().__init__("test:index:Outer", name, None, opts)
            self.middle = Middle(f"{name}-middle", pulumi.ResourceOptions(parent=self))
            self.register_outputs({})


    outer = Outer("outer")
    leaf = outer.middle.inner.leaf
    pulumi.CustomResource("test:index:User", "user", {"leafId": leaf.id},
                          pulumi.ResourceOptions(depends_on=[leaf]))
''')


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    root = tmp_path_factory.mktemp("urnproj")
    (root / "Pulumi.yaml").write_text("name: urnproj\nruntime: python\n")
    (root / "Pulumi.test.yaml").write_text("config: {}\n")
    (root / "__main__.py").write_text(CHAIN_PROGRAM)
    run = run_program("test", root=root, preview=False)
    export = write_export(run, root / "state.json")
    return {r["name"]: r for r in run.resources}, json.loads(export.read_text())


def test_a_three_deep_component_chain_has_the_engines_urns(chain):
    by_name, _ = chain
    assert {name: r["urn"] for name, r in by_name.items()} == {
        "urnproj-test": f"{PREFIX}pulumi:pulumi:Stack::urnproj-test",
        "outer": f"{PREFIX}{OUTER}::outer",
        "outer-middle": f"{PREFIX}{MIDDLE}::outer-middle",
        "outer-middle-provider": f"{PREFIX}{MIDDLE}$pulumi:providers:test::outer-middle-provider",
        "outer-middle-inner": f"{PREFIX}{INNER}::outer-middle-inner",
        "outer-middle-inner-leaf": f"{PREFIX}{INNER}$test:index:Thing::outer-middle-inner-leaf",
        "user": f"{PREFIX}test:index:User::user",
    }
    assert by_name["outer"]["parent"] == f"{PREFIX}pulumi:pulumi:Stack::urnproj-test"
    assert by_name["outer-middle-inner-leaf"]["parent"] == f"{PREFIX}{INNER}::outer-middle-inner"


def test_references_carry_the_engines_urns_into_the_export(chain):
    by_name, export = chain
    leaf = f"{PREFIX}{INNER}$test:index:Thing::outer-middle-inner-leaf"
    provider = f"{PREFIX}{MIDDLE}$pulumi:providers:test::outer-middle-provider"
    entries = {e["urn"]: e for e in export["deployment"]["resources"]}
    assert entries[leaf]["parent"] == f"{PREFIX}{INNER}::outer-middle-inner"
    assert entries[leaf]["provider"] == f"{provider}::{by_name['outer-middle-provider']['id']}"
    user = entries[f"{PREFIX}test:index:User::user"]
    assert user["dependencies"] == [leaf]
    assert user["propertyDependencies"] == {"leafId": [leaf]}
    assert not [u for u in entries if "pulumi:pulumi:Stack$" in u]


@pytest.mark.parametrize("parent, typ, expected", [
    ("", "pulumi:pulumi:Stack", "urn:pulumi:s::p::pulumi:pulumi:Stack::n"),
    ("urn:pulumi:s::p::pulumi:pulumi:Stack::p-s", "leadgen:traffic:Traffic", "urn:pulumi:s::p::leadgen:traffic:Traffic::n"),
    ("urn:pulumi:s::p::leadgen:traffic:Traffic::t", "leadgen:certificates:Certificates",
     "urn:pulumi:s::p::leadgen:traffic:Traffic$leadgen:certificates:Certificates::n"),
    ("urn:pulumi:s::p::leadgen:traffic:Traffic$leadgen:certificates:Certificates::c",
     "kubernetes:cert-manager.io/v1:ClusterIssuer",
     "urn:pulumi:s::p::leadgen:traffic:Traffic$leadgen:certificates:Certificates$kubernetes:cert-manager.io/v1:ClusterIssuer::n"),
])
def test_new_urn_chains_the_parents_qualified_type(parent, typ, expected):
    assert new_urn("s", "p", parent, typ, "n") == expected


def test_the_whole_programs_export_chains_every_ancestor(tmp_path):
    run = run_program("production", preview=False)
    export = json.loads(write_export(run, tmp_path / "state.json").read_text())["deployment"]["resources"]
    by_urn = {e["urn"]: e for e in export}
    deep = 0
    for e in export:
        qualified = e["urn"].split("::")[2]
        assert not qualified.startswith("pulumi:pulumi:Stack$"), e["urn"]
        parent = by_urn.get(e.get("parent", ""))
        if parent is not None and parent["type"] != "pulumi:pulumi:Stack":
            assert qualified == parent["urn"].split("::")[2] + "$" + e["type"], e["urn"]
            deep += parent.get("parent") not in (None, run.stack_urn)
        else:
            assert qualified == e["type"], e["urn"]
        references = [e.get("parent"), *(e.get("dependencies") or []),
                      *(u for urns in (e.get("propertyDependencies") or {}).values() for u in urns),
                      (e.get("provider") or "").rsplit("::", 1)[0]]
        assert [u for u in references if u and u not in by_urn] == [], e["urn"]
    assert deep > 0, "the program has grandchildren of top-level components; none was checked"
