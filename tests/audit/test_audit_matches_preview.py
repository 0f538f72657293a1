"""An audit of the state an update leaves and the preview of that update judge the same program:
they must give the same verdicts. Both here run the real pack over gRPC, on one run of production
(outputs resolved, as `preview --update` and `preview --export` run it): the preview hands the pack
the run's records, the audit reads them back from the `pulumi stack export` file written from the
same run. The update gates are left out (an audit has no update to gate) and so are the audit's own
notes about state (coverage, pending operations).

They disagreed on the Gateway API and Envoy Gateway CRD files (`kubernetes:yaml/v2:ConfigFile`):
the audit said `kubernetes-after-cluster-access`, the preview did not. The preview was right. A
ConfigFile is a component the Kubernetes provider constructs: the engine records it with its
`dependsOn` as dependencies and no provider (it never calls the API server), and registers each
object of the file as its child, parented to it and using the provider it inherits, with no
dependencies of its own (pulumi-kubernetes provider/pkg/provider/yaml/v2/configfile.go registers
them with `pulumi.Parent(comp)` only). The rule judged the component by a provider the engine
never records for one."""
from __future__ import annotations

import datetime as dt

import pytest

from platformctl import policy_client, state_audit
from platformctl.pack import PACK_DIR
from platformctl.program.export import write_export
from tests.helpers import run_program

AUDIT_ONLY = {state_audit.PENDING_POLICY, state_audit.COVERAGE_POLICY}


@pytest.fixture(scope="module")
def run():
    return run_program("production", preview=False)


def _verdicts(violations) -> set[tuple[str, str, str]]:
    gates = set(state_audit.update_gates())
    return {(v.policy, v.urn, v.message) for v in violations if v.policy not in gates | AUDIT_ONLY}


@pytest.fixture(scope="module")
def both(run, tmp_path_factory):
    preview = policy_client.analyze(run.resources, PACK_DIR, project=run.project, stack=run.stack,
                                    config=run.config, dry_run=False)
    export = write_export(run, tmp_path_factory.mktemp("export") / "production.json")
    audit = state_audit.judge_state(export, state_audit.pack_analyzer, [], dt.date.today(), with_cost=False)
    return _verdicts(preview), _verdicts(audit.report.violations)


def test_the_audit_of_the_state_an_update_leaves_agrees_with_its_preview(both):
    preview, audit = both
    assert audit - preview == set(), "the audit alone finds"
    assert preview - audit == set(), "the preview alone finds"


def test_the_crd_files_reach_the_cluster_after_its_access_in_both(both, run):
    files = [r["urn"] for r in run.resources if r["type"] == "kubernetes:yaml/v2:ConfigFile"]
    assert len(files) == 2
    for verdicts in both:
        assert not [v for v in verdicts if v[0] == "kubernetes-after-cluster-access"]


CRD = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"


def _with_file_objects(export: dict, provider: str) -> dict:
    """The export as the real engine writes it: each ConfigFile's objects as its children (custom,
    parented to it, through `provider`, no dependencies of their own)."""
    resources = export["deployment"]["resources"]
    for f in [r for r in resources if r["type"] == "kubernetes:yaml/v2:ConfigFile"]:
        for n, name in enumerate(("gatewayclasses.gateway.networking.k8s.io", "httproutes.gateway.networking.k8s.io")):
            urn = f"{f['urn'].rsplit('::', 1)[0]}${CRD}::{f['urn'].rsplit('::', 1)[1]}-{name}"
            resources.append({"urn": urn, "custom": True, "id": name, "type": CRD, "parent": f["urn"],
                              "provider": provider, "inputs": {"metadata": {"name": name}},
                              "outputs": {"metadata": {"name": name}}})
    return export


def _access_verdicts(run, tmp_path, provider_of) -> list:
    import json

    from platformctl.program.export import to_export

    export = to_export(run.project, run.stack, run.resources, run.outputs)
    resources = export["deployment"]["resources"]
    (k8s,) = [r for r in resources if r["type"] == "pulumi:providers:kubernetes"]
    export = _with_file_objects(export, provider_of(export, k8s))
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export))
    audit = state_audit.judge_state(path, state_audit.catalog_analyzer, [], dt.date.today(), with_cost=False)
    return [v for v in audit.report.violations if v.policy == "kubernetes-after-cluster-access"]


def test_file_objects_through_the_clusters_provider_wait_for_its_access(run, tmp_path):
    assert _access_verdicts(run, tmp_path, lambda export, k8s: f"{k8s['urn']}::{k8s['id']}") == []


def test_file_objects_through_a_provider_that_waits_for_nothing_are_found(run, tmp_path):
    def stray(export, k8s):
        # A second provider for the same cluster that waits for no access entry.
        other = dict(k8s, urn=k8s["urn"].rsplit("::", 1)[0] + "::stray", id="stray", dependencies=[],
                     inputs=dict(k8s.get("inputs") or {}, context="stray"),
                     outputs=dict(k8s.get("outputs") or {}, context="stray"))
        export["deployment"]["resources"].append(other)
        return f"{other['urn']}::stray"
    (found,) = _access_verdicts(run, tmp_path, stray)
    assert found.message.startswith("4 Kubernetes resources (CustomResourceDefinition default/gatewayclasses.")
    assert "through provider stray before any aws:eks access entry" in found.message
