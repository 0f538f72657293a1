"""The one Helm release helper: how a pinned chart becomes a `helm.v3.Release`."""
import pulumi
import pytest
from pulumi.runtime import settings
from pulumi.runtime.mocks import Mocks, set_mocks
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.helm import helm_release
from leadgen import versions


class _Recorder(Mocks):
    def __init__(self):
        self.inputs: dict[str, dict] = {}

    def new_resource(self, args):
        self.inputs[args.name] = args.inputs
        return f"{args.name}_id", args.inputs

    def call(self, args):
        return {}


def _release(**kw) -> dict:
    mocks = _Recorder()
    settings.set_root_resource(None)
    set_mocks(mocks, project="leadgen", stack="dev", preview=False)

    def build():
        owner = pulumi.ComponentResource("leadgen:test:Owner", "owner")
        helm_release("owner", "rel", namespace="ns", values={"a": 1},
                     opts=pulumi.ResourceOptions(parent=owner), **kw)

    _sync_await(run_pulumi_func(build))
    return mocks.inputs["owner-rel"]


def test_http_chart_comes_through_its_repository_atomically():
    inputs = _release(chart=versions.METRICS_SERVER)
    inputs.pop("compat", None)  # the SDK's own marker on every Release, not the helper's
    assert inputs == {
        "name": "rel", "chart": "metrics-server", "version": versions.METRICS_SERVER.version,
        "namespace": "ns", "values": {"a": 1}, "atomic": True, "cleanupOnFail": True,
        "repositoryOpts": {"repo": "https://kubernetes-sigs.github.io/metrics-server/"}}


def test_oci_chart_is_addressed_by_its_full_reference():
    inputs = _release(chart=versions.ENVOY_GATEWAY, create_namespace=True, skip_crds=False)
    assert inputs["chart"] == "oci://docker.io/envoyproxy/gateway-helm"
    assert "repositoryOpts" not in inputs
    # Options given are sent as given, False included; options not given are not sent.
    assert inputs["createNamespace"] is True and inputs["skipCrds"] is False


def test_options_not_given_are_not_sent():
    inputs = _release(chart=versions.CERT_MANAGER)
    assert "createNamespace" not in inputs and "skipCrds" not in inputs


def test_only_a_chart_pin_can_be_released():
    with pytest.raises(ValueError, match="owner-rel: pin vpc-cni has kind addon; only a chart can be released"):
        helm_release("owner", "rel", chart=versions.EKS_ADDON_PINS[0], namespace="ns", values={},
                     opts=pulumi.ResourceOptions())
