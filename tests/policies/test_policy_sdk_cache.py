"""The per-request conversion cache (policies/governance/sdk_cache.py): it applies to the pinned
pulumi_policy, it is scoped to one call, and the pack reports exactly the same with it on and off."""
import copy
import json
import pathlib

import pytest

import pulumi_policy.policy as sdk
from policy_baseline import PROJECT, STACK, baseline, set_path, urn

from governance import sdk_cache
from platformctl.policy_client import PolicyClient

PACK = pathlib.Path(__file__).resolve().parents[2] / "policies"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SECRET_SIG = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}


def test_the_pinned_sdk_still_has_what_the_cache_relies_on():
    # An upgrade that renames these makes `install` a no-op: correct but slow again, so fail here.
    assert sdk_cache.supported(sdk)
    pinned = (PACK / "requirements.txt").read_text()
    from pulumi_policy.version import VERSION
    assert f"pulumi-policy=={VERSION}\n" in pinned


def test_a_memo_lives_for_one_call_only():
    seen = []
    convert = sdk_cache._memoised(lambda value: {"copy": value}, "test")

    class Servicer:
        def Analyze(self, request, context):
            first, again = convert(request), convert(request)
            seen.append((sdk_cache.request_memo() is not None, first is again))
            return first

    Servicer.Analyze = sdk_cache._scoped(Servicer.Analyze, lambda self, request: (self, request))
    request = object()
    one, two = Servicer().Analyze(request, None), Servicer().Analyze(request, None)
    assert seen == [(True, True), (True, True)]
    assert one is not two and one == two  # nothing is carried from one call to the next
    assert sdk_cache.request_memo() is None


def test_an_exception_closes_the_scope():
    def fail(self, request, context):
        raise RuntimeError("policy blew up")
    with pytest.raises(RuntimeError):
        sdk_cache._scoped(fail, lambda self, request: (self, request))(None, None, None)
    assert sdk_cache.request_memo() is None


def test_the_switch_turns_it_off():
    assert sdk_cache.install(environ={sdk_cache.DISABLE_ENV: "0"}) is False


def varied() -> list[dict]:
    """Two copies of the baseline with violations, unknowns and a secret spread over both."""
    out = baseline()
    second = [copy.deepcopy(r) for r in baseline() if not r["type"].startswith(("pulumi:pulumi:Stack", "pulumi:providers:"))]
    for r in second:
        r["urn"] += "-b"
        r["name"] += "-b"
        r["dependencies"] = [d + "-b" for d in r["dependencies"]]
    out += second
    set_path(out, "aws:rds/instance:Instance", "leads", "publiclyAccessible", True)
    set_path(out, "aws:rds/instance:Instance", "leads-b", "storageEncrypted", UNKNOWN)
    set_path(out, "aws:eks/cluster:Cluster", "leadgen-b", "vpcConfig.publicAccessCidrs", ["0.0.0.0/0"])
    volume = next(r["name"] for r in second if r["type"] == "aws:ebs/volume:Volume")
    set_path(out, "aws:ebs/volume:Volume", volume, "encrypted", False)
    deployment = next(r for r in second if r["type"] == "kubernetes:apps/v1:Deployment")
    deployment["inputs"]["spec"]["template"]["spec"]["containers"][0]["image"] = "api:latest"
    deployment["outputs"]["metadata"]["name"] = "api-b"  # no HPA, no PDB selects it by name
    secret = next(r for r in second if r["type"] == "aws:iam/rolePolicy:RolePolicy")
    secret["inputs"]["policy"] = {**SECRET_SIG, "value": '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'}
    return out


def run(resources, env):
    config = {"leadgen:governance.protectedStacks": "[]"}
    with PolicyClient(PACK, project=PROJECT, stack=STACK, config=config, env=env) as client:
        return client.analyze(resources)


def test_the_pack_reports_the_same_with_and_without_the_cache():
    resources = varied()
    cached, plain = run(resources, {}), run(resources, {sdk_cache.DISABLE_ENV: "0"})
    assert cached == plain
    fired = {(v.policy, v.urn) for v in cached}
    assert {("aws-rds-not-publicly-accessible", urn("aws:rds/instance:Instance", "leads")),
            ("aws-eks-cluster-endpoint-restricted", urn("aws:eks/cluster:Cluster", "leadgen-b")),
            ("aws-ebs-volume-encrypted", urn("aws:ebs/volume:Volume", "scratch-b")),
            ("aws-iam-no-admin-statement", urn("aws:iam/rolePolicy:RolePolicy", secret_name(resources))),
            ("kubernetes-container-image-tag-pinned", urn("kubernetes:apps/v1:Deployment", "api-b")),
            ("kubernetes-deployment-hpa-min-replicas", urn("kubernetes:apps/v1:Deployment", "api-b"))} <= fired
    # The unknown storageEncrypted of leads-b is skipped, never reported.
    assert not [v for v in cached if v.urn.endswith("::leads-b") and v.policy == "aws-rds-storage-encrypted"]


def secret_name(resources) -> str:
    return next(r["name"] for r in resources
                if r["type"] == "aws:iam/rolePolicy:RolePolicy" and isinstance(r["inputs"].get("policy"), dict))


def test_struct_conversion_matches_json_format():
    from google.protobuf import json_format, struct_pb2

    value = {"b": [1.0, "x", None, True, {"z": [], "a": {"k": -2.5}}], "a": {}, "n": None, "s": "", "f": False,
             "deep": {"list": [[1.0], [{"q": "r"}]]}, UNKNOWN: UNKNOWN}
    struct = struct_pb2.Struct()
    struct.update(value)
    struct.fields["unset"]  # noqa: B018 - a Value with no kind set: json_format gives None
    fast = sdk_cache.struct_to_dict(struct, json_format.MessageToDict)
    slow = json_format.MessageToDict(struct)
    assert fast == slow and json.dumps(fast) == json.dumps(slow)  # same values, same key order
    assert fast["unset"] is None

    struct.fields["bad"].number_value = float("inf")  # JSON cannot carry it: json_format's own error
    with pytest.raises(ValueError, match="Infinity"):
        sdk_cache.struct_to_dict(struct, json_format.MessageToDict)


def test_a_remediate_level_still_goes_through_remediate_and_reports_as_mandatory():
    resources = varied()
    level = {"aws-rds-not-publicly-accessible": "remediate"}
    config = {"leadgen:governance.protectedStacks": "[]"}
    with PolicyClient(PACK, project=PROJECT, stack=STACK, config=config, levels=level) as client:
        assert client._remediating
        remediated = client.analyze(resources)
    # The policy cannot remediate, so the SDK reports it as mandatory, as it did before.
    assert remediated == run(resources, {})
