"""Reads and aliases reach the offline state as the engine records them: a StackReference (or any
`get`) is a resource marked external, and an alias given as a spec is resolved to the URN it names,
so an export shows what the stack reads and which old URNs its renamed components move from."""
import json
import textwrap

import pytest

from platformctl.program.engine import run_program
from platformctl.program.export import write_export

PREFIX = "urn:pulumi:test::readproj::"

PROGRAM = textwrap.dedent('''
    import pulumi


    class Renamed(pulumi.ComponentResource):
        def __init__(self, name, opts=None):
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                aliases=[pulumi.Alias(type_="old:module:Renamed")]))
            super().__init__("test:index:Renamed", name, None, opts)
            self.register_outputs({})


    Renamed("kept")
    pulumi.CustomResource("test:index:Thing", "moved", {}, pulumi.ResourceOptions(
        aliases=[pulumi.Alias(name="before"), "urn:pulumi:test::readproj::test:index:Thing::older"]))
    pulumi.CustomResource("test:index:Thing", "found", {}, pulumi.ResourceOptions(id="thing-1234"))
''')


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    root = tmp_path_factory.mktemp("readproj")
    (root / "Pulumi.yaml").write_text("name: readproj\nruntime: python\n")
    (root / "Pulumi.test.yaml").write_text("config: {}\n")
    (root / "__main__.py").write_text(PROGRAM)
    run = run_program("test", root=root, preview=False)
    export = json.loads(write_export(run, root / "state.json").read_text())
    return {r["name"]: r for r in run.resources}, {e["urn"]: e for e in export["deployment"]["resources"]}


def test_a_read_is_recorded_as_an_external_resource(state):
    by_name, entries = state
    found = by_name["found"]
    assert found["external"] is True and found["id"] == "thing-1234"
    assert entries[f"{PREFIX}test:index:Thing::found"]["external"] is True
    assert "external" not in entries[f"{PREFIX}test:index:Thing::moved"]


def test_alias_specs_resolve_to_the_urns_they_name(state):
    by_name, entries = state
    assert by_name["kept"]["aliases"] == [f"{PREFIX}old:module:Renamed::kept"]
    assert by_name["moved"]["aliases"] == [f"{PREFIX}test:index:Thing::before",
                                           f"{PREFIX}test:index:Thing::older"]
    assert entries[f"{PREFIX}test:index:Renamed::kept"]["aliases"] == [f"{PREFIX}old:module:Renamed::kept"]


def test_the_dr_stacks_reference_to_production_is_in_its_state(tmp_path):
    run = run_program("production-dr", preview=False)
    refs = [r for r in run.resources if r["type"] == "pulumi:pulumi:StackReference"]
    assert refs and all(r["external"] for r in refs)
    assert refs[0]["inputs"]["name"].endswith("production")
