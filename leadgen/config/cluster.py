"""The EKS cluster and its managed node groups."""
from __future__ import annotations

import re
from dataclasses import dataclass

from leadgen.cidr import CidrError, parse_network
from leadgen.config.base import Key, Values
from leadgen.config.network import LOG_RETENTION_DAYS

# EKS versions in standard support when this was written (2026-11): 1.34 until 2026-12-02,
# 1.35 until 2027-03-27 (docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html).
SUPPORTED_VERSIONS = ("1.34", "1.35")
DEFAULT_VERSION = "1.35"

NODE_GROUPS = ("general", "spot", "gpu")
NODE_GROUP_FIELDS = ("instanceTypes", "minSize", "maxSize", "desiredSize", "diskSizeGb", "enabled")

_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")

_DEFAULTS = {
    "general": (["m6i.large"], 2, 4, 2, 50),
    "spot": (["m6i.large", "m6a.large", "m5.large", "m7i.large"], 0, 6, 1, 50),
    "gpu": (["g5.xlarge"], 0, 2, 0, 100),
}
_PURPOSE = {
    "general": "on-demand nodes for the platform's steady workloads",
    "spot": "spot nodes for fault-tolerant work (several instance types for capacity)",
    "gpu": "GPU nodes, tainted nvidia.com/gpu=true:NoSchedule, for lead-scoring models",
}


def _group_keys(group: str) -> list[Key]:
    types, lo, hi, want, disk = _DEFAULTS[group]
    p = f"cluster.nodeGroups.{group}"
    what = _PURPOSE[group]
    return [
        Key(f"{p}.instanceTypes", "array", types, f"Instance types of the {group} group ({what}).",
            items="string"),
        Key(f"{p}.minSize", "integer", lo, f"Minimum nodes in the {group} group."),
        Key(f"{p}.maxSize", "integer", hi, f"Maximum nodes in the {group} group."),
        Key(f"{p}.desiredSize", "integer", want, f"Nodes the {group} group starts with; the "
            "autoscaler owns it afterwards (ignored as drift)."),
        Key(f"{p}.diskSizeGb", "integer", disk, f"Root volume of {group} nodes, GiB (gp3, KMS)."),
        Key(f"{p}.enabled", "boolean", True, f"Whether the {group} group exists."),
    ]


KEYS = [
    Key("cluster.version", "string", DEFAULT_VERSION, "Kubernetes version of the EKS control "
        "plane, pinned to one in EKS standard support.", choices=SUPPORTED_VERSIONS),
    Key("cluster.endpointPublicAccessCidrs", "array", [], "CIDRs allowed to reach the public API "
        "endpoint; empty keeps the endpoint private only.", items="string"),
    Key("cluster.adminRoleArns", "array", [], "IAM roles granted cluster-admin through EKS access "
        "entries.", items="string"),
    Key("cluster.logRetentionDays", "integer", 90, "Retention of the control-plane log group, days."),
    *[k for g in NODE_GROUPS for k in _group_keys(g)],
]


@dataclass(frozen=True)
class NodeGroupConfig:
    name: str
    instance_types: tuple[str, ...]
    min_size: int
    max_size: int
    desired_size: int
    disk_size_gb: int
    capacity_type: str  # ON_DEMAND | SPOT
    gpu: bool


@dataclass(frozen=True)
class ClusterConfig:
    version: str
    public_access_cidrs: tuple[str, ...]
    admin_role_arns: tuple[str, ...]
    log_retention_days: int
    node_groups: tuple[NodeGroupConfig, ...]


def build(values: Values) -> ClusterConfig:
    cidrs = values.get("cluster.endpointPublicAccessCidrs")
    for i, c in enumerate(cidrs):
        try:
            net = parse_network(c)
        except CidrError as e:
            raise values.error(f"cluster.endpointPublicAccessCidrs[{i}]", str(e)) from None
        if net.prefixlen == 0:
            raise values.error(f"cluster.endpointPublicAccessCidrs[{i}]",
                               f"({c}) opens the API endpoint to the internet; list your own ranges")
    for i, arn in enumerate(values.get("cluster.adminRoleArns")):
        if not _ROLE_ARN.match(arn):
            raise values.error(f"cluster.adminRoleArns[{i}]", f"({arn!r}) is not an IAM role ARN")
    days = values.get("cluster.logRetentionDays")
    if days not in LOG_RETENTION_DAYS:
        raise values.error("cluster.logRetentionDays", f"({days}) is not a CloudWatch retention period")
    groups = tuple(g for g in (_group(values, name) for name in NODE_GROUPS) if g is not None)
    if not any(g.name == "general" for g in groups):
        raise values.error("cluster.nodeGroups.general.enabled", "must be true: the platform's "
                           "system pods run on the general group")
    return ClusterConfig(values.get("cluster.version"), tuple(cidrs),
                         tuple(values.get("cluster.adminRoleArns")), days, groups)


def _group(values: Values, name: str) -> NodeGroupConfig | None:
    p = f"cluster.nodeGroups.{name}"
    if not values.get(f"{p}.enabled"):
        return None
    types = values.get(f"{p}.instanceTypes")
    if not types:
        raise values.error(f"{p}.instanceTypes", "must list at least one instance type")
    for i, t in enumerate(types):
        if not _INSTANCE_TYPE.match(t):
            raise values.error(f"{p}.instanceTypes[{i}]", f"({t!r}) is not an EC2 instance type")
    if name == "spot" and len(set(types)) < 2:
        raise values.error(f"{p}.instanceTypes", "needs at least 2 instance types: spot capacity "
                           "comes and goes per type")
    lo, hi, want = (values.get(f"{p}.{f}") for f in ("minSize", "maxSize", "desiredSize"))
    if lo < 0:
        raise values.error(f"{p}.minSize", f"({lo}) must be >= 0")
    if hi < 1:
        raise values.error(f"{p}.maxSize", f"({hi}) must be >= 1")
    if hi < lo:
        raise values.error(f"{p}.maxSize", f"({hi}) must be >= minSize ({lo})")
    if name == "gpu" and lo != 0:
        raise values.error(f"{p}.minSize", f"({lo}) must be 0: GPU nodes scale from zero")
    if not lo <= want <= hi:
        raise values.error(f"{p}.desiredSize", f"({want}) must lie between minSize ({lo}) and maxSize ({hi})")
    disk = values.get(f"{p}.diskSizeGb")
    if not 20 <= disk <= 2000:
        raise values.error(f"{p}.diskSizeGb", f"({disk}) must be between 20 and 2000")
    return NodeGroupConfig(name, tuple(types), lo, hi, want, disk,
                           "SPOT" if name == "spot" else "ON_DEMAND", name == "gpu")
