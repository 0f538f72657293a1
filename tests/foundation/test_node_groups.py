"""Node groups are data: a stack file declares any group by name; nothing follows from the name.

The built-in general, spot and gpu groups are defaults of the same declaration; an ARM group and a
second GPU group below are config only, registered with exactly the inputs they declare and
judged by the pack's own GPU guardrail.
"""
import json

import pytest
import yaml

from leadgen.config import ConfigError
from leadgen.config.cluster import is_arm
from platformctl.pack import catalog, model
from tests.helpers import run_program

NG_TYPE = "aws:eks/nodeGroup:NodeGroup"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}

# What an operator adds to Pulumi.production.yaml: one group as flat keys, one as the object
# `pulumi config set --path` writes. No code changes with it.
STACK_ADDITIONS = yaml.safe_load("""
leadgen:cluster.nodeGroups.arm.instanceTypes: [m7g.large, c7g.large]
leadgen:cluster.nodeGroups.arm.amiType: AL2023_ARM_64_STANDARD
leadgen:cluster.nodeGroups.arm.labels: [leadgen.io/arch=arm64]
leadgen:cluster:
  nodeGroups:
    gpu2:
      instanceTypes: [g6.xlarge, g5.xlarge]
      capacityType: SPOT
      amiType: AL2023_x86_64_NVIDIA
      gpu: true
      taints: ["nvidia.com/gpu=true:NoSchedule", "leadgen.io/batch:NoExecute"]
      minSize: 0
      desiredSize: 0
      maxSize: 4
      diskSizeGb: 200
""")


def gpu_guardrail(inputs: dict, name: str = "ng") -> list[str]:
    """The pack's aws-eks-node-group-gpu-tainted verdict on one node group's inputs."""
    spec = next(s for s in catalog.SPECS if s.name == "aws-eks-node-group-gpu-tainted")
    resource = model.Resource(type=NG_TYPE, urn=f"urn:pulumi:production::leadgen::{NG_TYPE}::{name}",
                              name=name, props=inputs)
    return catalog.check_resource(spec, resource, None)  # this policy reads no context


@pytest.fixture(scope="module")
def extended():
    return run_program("production", STACK_ADDITIONS)


def _ng(run, group):
    return run.one(NG_TYPE, f"leadgen-production-{group}-ng")["inputs"]


def test_built_in_groups_are_declared_defaults(extended):
    """general, spot and gpu keep the inputs they had when their kind followed from their name."""
    want = {
        "general": ("ON_DEMAND", "AL2023_x86_64_STANDARD", None,
                    {"leadgen.io/node-group": "general", "leadgen.io/capacity-type": "on_demand"}),
        "spot": ("SPOT", "AL2023_x86_64_STANDARD", None,
                 {"leadgen.io/node-group": "spot", "leadgen.io/capacity-type": "spot"}),
        "gpu": ("ON_DEMAND", "AL2023_x86_64_NVIDIA", [GPU_TAINT],
                {"leadgen.io/node-group": "gpu", "leadgen.io/capacity-type": "on_demand",
                 "nvidia.com/gpu.present": "true"}),
    }
    for run in (run_program("production"), extended):
        for group, (capacity, ami, taints, labels) in want.items():
            ng = _ng(run, group)
            assert (ng["capacityType"], ng["amiType"], ng.get("taints"), ng["labels"]) == \
                (capacity, ami, taints, labels), group
            assert ng["nodeGroupName"] == group


def test_an_arm_group_is_config_only(extended):
    ng = _ng(extended, "arm")
    assert ng["nodeGroupName"] == "arm"
    assert ng["instanceTypes"] == ["m7g.large", "c7g.large"]
    assert (ng["capacityType"], ng["amiType"]) == ("ON_DEMAND", "AL2023_ARM_64_STANDARD")
    assert "taints" not in ng
    assert ng["labels"] == {"leadgen.io/node-group": "arm", "leadgen.io/capacity-type": "on_demand",
                            "leadgen.io/arch": "arm64"}
    # A new group's sizes are terraform-aws-eks's defaults.
    assert ng["scalingConfig"] == {"minSize": 0, "maxSize": 3, "desiredSize": 1}
    assert gpu_guardrail(ng) == []
    lt = extended.one("aws:ec2/launchTemplate:LaunchTemplate", "leadgen-production-arm-lt")["inputs"]
    assert lt["metadataOptions"]["httpTokens"] == "required"
    assert extended.one("leadgen:node_group:NodeGroup", "leadgen-production-arm")


def test_a_second_gpu_group_is_config_only_and_passes_the_gpu_guardrail(extended):
    ng = _ng(extended, "gpu2")
    assert ng["nodeGroupName"] == "gpu2"
    assert (ng["capacityType"], ng["amiType"]) == ("SPOT", "AL2023_x86_64_NVIDIA")
    assert ng["taints"] == [GPU_TAINT, {"key": "leadgen.io/batch", "effect": "NO_EXECUTE"}]
    assert ng["labels"] == {"leadgen.io/node-group": "gpu2", "leadgen.io/capacity-type": "spot",
                            "nvidia.com/gpu.present": "true"}
    assert ng["scalingConfig"] == {"minSize": 0, "maxSize": 4, "desiredSize": 0}
    lt = extended.one("aws:ec2/launchTemplate:LaunchTemplate", "leadgen-production-gpu2-lt")["inputs"]
    assert lt["blockDeviceMappings"][0]["ebs"]["volumeSize"] == 200
    assert gpu_guardrail(ng) == []
    # The guardrail does judge these inputs: without the taints they fail it.
    untainted = {k: v for k, v in ng.items() if k != "taints"}
    assert gpu_guardrail(untainted, "gpu2") == [
        "gpu2: a GPU node group needs a NO_SCHEDULE taint so only GPU workloads land on its nodes"]


def test_every_registered_group_passes_the_gpu_guardrail(extended):
    groups = extended.by_type(NG_TYPE)
    assert {g["inputs"]["nodeGroupName"] for g in groups} == {"general", "spot", "gpu", "arm", "gpu2"}
    assert all(gpu_guardrail(g["inputs"], g["name"]) == [] for g in groups)


def test_flat_keys_and_a_path_object_declare_the_same_group(extended):
    gpu2 = STACK_ADDITIONS["leadgen:cluster"]["nodeGroups"]["gpu2"]
    flat = {k: v for k, v in STACK_ADDITIONS.items() if k != "leadgen:cluster"}
    flat.update({f"leadgen:cluster.nodeGroups.gpu2.{k}": v for k, v in gpu2.items()})
    run = run_program("production", flat)
    for group in ("arm", "gpu2"):
        assert _ng(run, group) == _ng(extended, group)


def test_a_built_in_group_can_be_redeclared():
    """The built-ins are defaults, not code paths: spot can become on-demand, gpu can move to ARM."""
    run = run_program("production", {
        "leadgen:cluster.nodeGroups.spot.capacityType": "ON_DEMAND",
        "leadgen:cluster.nodeGroups.gpu.instanceTypes": ["g5g.xlarge"],
        "leadgen:cluster.nodeGroups.gpu.amiType": "AL2023_ARM_64_NVIDIA"})
    spot, gpu = _ng(run, "spot"), _ng(run, "gpu")
    assert spot["capacityType"] == "ON_DEMAND" and spot["labels"]["leadgen.io/capacity-type"] == "on_demand"
    assert (gpu["amiType"], gpu["taints"]) == ("AL2023_ARM_64_NVIDIA", [GPU_TAINT])


@pytest.mark.parametrize("instance_type,arm", [
    ("m7g.large", True), ("c6gn.xlarge", True), ("r8gd.2xlarge", True), ("t4g.small", True),
    ("g5g.xlarge", True), ("im4gn.large", True), ("a1.medium", True),
    ("m6i.large", False), ("m6a.large", False), ("g5.xlarge", False), ("g4dn.xlarge", False),
    ("p4d.24xlarge", False), ("inf2.xlarge", False), ("m7i-flex.large", False)])
def test_arm_instance_types_are_told_by_family(instance_type, arm):
    assert is_arm(instance_type) is arm


NG = "leadgen:cluster.nodeGroups"
ARM = {f"{NG}.arm.instanceTypes": ["m7g.large"], f"{NG}.arm.amiType": "AL2023_ARM_64_STANDARD"}
GPU2 = {f"{NG}.gpu2.instanceTypes": ["g6.xlarge"], f"{NG}.gpu2.amiType": "AL2023_x86_64_NVIDIA",
        f"{NG}.gpu2.gpu": "true", f"{NG}.gpu2.minSize": "0", f"{NG}.gpu2.desiredSize": "0",
        f"{NG}.gpu2.taints": ["nvidia.com/gpu=true:NoSchedule"]}
F = " in Pulumi.production.yaml"

INVALID = [
    ({**ARM, f"{NG}.arm.capacityType": "SPOTTY"},
     f'{NG}.arm.capacityType ("SPOTTY") must be one of: ON_DEMAND, SPOT{F}'),
    ({**ARM, f"{NG}.arm.amiType": "AL2_ARM_64"},
     f'{NG}.arm.amiType ("AL2_ARM_64") must be one of: AL2023_x86_64_STANDARD, AL2023_ARM_64_STANDARD, '
     f"AL2023_x86_64_NVIDIA, AL2023_ARM_64_NVIDIA, AL2023_x86_64_NEURON{F}"),
    ({**ARM, f"{NG}.arm.instanceTypes": ["m7g.large", "m6i.large"]},
     f"{NG}.arm.instanceTypes[1] ('m6i.large') is an x86_64 type; amiType AL2023_ARM_64_STANDARD runs on "
     f"ARM (Graviton) types only{F}"),
    ({f"{NG}.arm.instanceTypes": ["m7g.large"]},
     f"{NG}.arm.instanceTypes[0] ('m7g.large') is an ARM (Graviton) type; amiType AL2023_x86_64_STANDARD "
     f"runs on x86_64 types only{F}"),
    ({**GPU2, f"{NG}.gpu2.taints": []},
     f"{NG}.gpu2.taints needs a NoSchedule or NoExecute taint (e.g. nvidia.com/gpu=true:NoSchedule) when "
     f"gpu is true, so only GPU workloads land on its nodes{F}"),
    ({**GPU2, f"{NG}.gpu2.taints": ["nvidia.com/gpu=true:PreferNoSchedule"]},
     f"{NG}.gpu2.taints needs a NoSchedule or NoExecute taint (e.g. nvidia.com/gpu=true:NoSchedule) when "
     f"gpu is true, so only GPU workloads land on its nodes{F}"),
    ({f"{NG}.gpu.taints": []},
     f"{NG}.gpu.taints needs a NoSchedule or NoExecute taint (e.g. nvidia.com/gpu=true:NoSchedule) when "
     f"gpu is true, so only GPU workloads land on its nodes{F}"),
    ({**GPU2, f"{NG}.gpu2.amiType": "AL2023_x86_64_STANDARD"},
     f"{NG}.gpu2.amiType (AL2023_x86_64_STANDARD) has no NVIDIA driver; a gpu group needs "
     f"AL2023_x86_64_NVIDIA or AL2023_ARM_64_NVIDIA{F}"),
    ({**GPU2, f"{NG}.gpu2.gpu": "false"},
     f"{NG}.gpu2.gpu must be true with amiType AL2023_x86_64_NVIDIA, so the group is tainted and labelled "
     f"as GPU nodes{F}"),
    ({**GPU2, f"{NG}.gpu2.minSize": "1", f"{NG}.gpu2.desiredSize": "1"},
     f"{NG}.gpu2.minSize (1) must be 0: GPU nodes scale from zero{F}"),
    ({**GPU2, f"{NG}.gpu2.taints": ["nvidia.com/gpu=true"]},
     f"{NG}.gpu2.taints[0] ('nvidia.com/gpu=true') is not a taint as key=value:Effect (Effect one of "
     f"NoSchedule, PreferNoSchedule, NoExecute){F}"),
    ({f"{NG}.-gpu.instanceTypes": ["g5.xlarge"]},
     f"{NG}.-gpu is not a valid node group name: AWS and Kubernetes take letters, digits, '-' and '_', "
     f"starting and ending with a letter or digit, at most 63 characters{F}"),
    ({f"{NG}.gpu_.instanceTypes": ["g5.xlarge"]},
     f"{NG}.gpu_ is not a valid node group name: AWS and Kubernetes take letters, digits, '-' and '_', "
     f"starting and ending with a letter or digit, at most 63 characters{F}"),
    ({f"{NG}.{'b' * 64}.instanceTypes": ["m6i.large"]},
     f"{NG}.{'b' * 64} is not a valid node group name: AWS and Kubernetes take letters, digits, '-' and '_', "
     f"starting and ending with a letter or digit, at most 63 characters{F}"),
    ({f"{NG}.batch.instanceTypes": ["m6i.large"], f"{NG}.batch.capacityType": "SPOT"},
     f"{NG}.batch.instanceTypes needs at least 2 instance types: spot capacity comes and goes per type{F}"),
    ({**ARM, f"{NG}.arm.labels": ["team"]},
     f"{NG}.arm.labels[0] ('team') is not a Kubernetes label as key=value{F}"),
    ({**ARM, f"{NG}.arm.labels": ["leadgen.io/node-group=general"]},
     f"{NG}.arm.labels[0] ('leadgen.io/node-group=general') sets leadgen.io/node-group, which is set by "
     f"the platform{F}"),
    ({**ARM, "leadgen:cluster": json.dumps({"nodeGroups": {"arm": {"labels": {"team": "ml"}}}})},
     f'{NG}.arm.labels ({{"team": "ml"}}) must be a list of strings{F}'),
    ({**ARM, f"{NG}.arm.instanceType": ["m7g.large"]},
     f"{NG}.arm.instanceType is not a node group field (known: enabled, instanceTypes, minSize, maxSize, "
     f"desiredSize, diskSizeGb, capacityType, amiType, gpu, taints, labels){F}"),
]


@pytest.mark.parametrize("overrides,message", INVALID, ids=[f"#{i}" for i in range(len(INVALID))])
def test_invalid_group_names_the_key_and_registers_nothing(overrides, message):
    with pytest.raises(ConfigError) as caught:
        run_program("production", overrides)
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)
    assert caught.value.registered == []
