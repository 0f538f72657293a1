"""The EKS cluster and its managed node groups."""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

from leadgen import pack, versions
from leadgen.cidr import CidrError, parse_network
from leadgen.config.base import Key, Values
from leadgen.config.validate import public_access_error
from leadgen.config.network import LOG_RETENTION_DAYS

# The minors the platform can run: those its per-minor pins cover (leadgen/versions.py). Whether a
# minor is still in EKS standard support is read from the one table of end dates
# (policies/governance/aws/eks_versions.py) on the day the program runs: past its end, EKS upgrades
# a STANDARD-policy control plane by itself, outside any change window (or, in extended support,
# bills six times the hourly price). The default stays the older minor so a pin change never
# upgrades a running control plane unreviewed.
SUPPORTED_VERSIONS = versions.KUBERNETES_MINORS
eks_versions = pack.module("aws.eks_versions")
DEFAULT_VERSION = "1.35"

_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")

# --- node groups: data, as terraform-aws-eks's `eks_managed_node_groups` map -------------------
GROUPS = "cluster.nodeGroups.<name>"
CAPACITY_TYPES = ("ON_DEMAND", "SPOT")
# AL2023 only: EKS publishes no AL2 AMIs for Kubernetes 1.33 and later.
AMI_TYPES = ("AL2023_x86_64_STANDARD", "AL2023_ARM_64_STANDARD", "AL2023_x86_64_NVIDIA",
             "AL2023_ARM_64_NVIDIA", "AL2023_x86_64_NEURON")
TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE",
                 "NoExecute": "NO_EXECUTE"}
# Labels the platform sets on every group's nodes; workloads select on them.
GROUP_LABEL, CAPACITY_LABEL, GPU_LABEL = "leadgen.io/node-group", "leadgen.io/capacity-type", "nvidia.com/gpu.present"

# What a group declared only by name gets: terraform-aws-eks's eks-managed-node-group defaults
# (min 0, max 3, desired 1, ON_DEMAND).
NEW_GROUP = {"instanceTypes": None, "minSize": 0, "maxSize": 3, "desiredSize": 1, "diskSizeGb": 50,
             "capacityType": "ON_DEMAND", "amiType": "AL2023_x86_64_STANDARD", "gpu": False,
             "taints": [], "labels": [], "enabled": True}
# The groups every stack has unless it disables them, and where they differ from NEW_GROUP.
BUILT_IN = {
    # on-demand nodes for the platform's steady workloads (system pods run here)
    "general": {"instanceTypes": ["m6i.large"], "minSize": 2, "maxSize": 4, "desiredSize": 2},
    # spot nodes for fault-tolerant work; several instance types, as spot capacity comes and goes per type
    "spot": {"instanceTypes": ["m6i.large", "m6a.large", "m5.large", "m7i.large"], "minSize": 0,
             "maxSize": 6, "desiredSize": 1, "capacityType": "SPOT"},
    # GPU nodes for lead-scoring models, tainted so nothing else lands on them
    "gpu": {"instanceTypes": ["g5.xlarge"], "minSize": 0, "maxSize": 2, "desiredSize": 0,
            "diskSizeGb": 100, "amiType": "AL2023_x86_64_NVIDIA", "gpu": True,
            "taints": ["nvidia.com/gpu=true:NoSchedule"]},
}
_FIELDS = {  # field: (type, items, choices, description)
    "enabled": ("boolean", None, None, "Whether group `<name>` exists. general, spot and gpu exist "
                "unless disabled (general cannot be); any other name declares a new group."),
    "instanceTypes": ("array", "string", None, "EC2 instance types of group `<name>` (a new group must set "
                      "them); SPOT groups need at least 2, ARM AMI types need Graviton types (m7g, c7g...)."),
    "minSize": ("integer", None, None, "Minimum nodes in group `<name>`; 0 for GPU groups."),
    "maxSize": ("integer", None, None, "Maximum nodes in group `<name>`."),
    "desiredSize": ("integer", None, None, "Nodes group `<name>` starts with; the autoscaler owns it "
                    "afterwards (ignored as drift)."),
    "diskSizeGb": ("integer", None, None, "Root volume of group `<name>`'s nodes, GiB (gp3, KMS)."),
    "capacityType": ("string", None, CAPACITY_TYPES, "EKS capacity type of group `<name>`."),
    "amiType": ("string", None, AMI_TYPES, "EKS AMI type of group `<name>`: its architecture and "
                "drivers."),
    "gpu": ("boolean", None, None, "Group `<name>` runs GPU workloads: needs an NVIDIA AMI type, a "
            "NoSchedule or NoExecute taint and minSize 0; its nodes are labelled nvidia.com/gpu.present=true."),
    "taints": ("array", "string", None, "Taints on group `<name>`'s nodes, as kubectl writes them "
               "(`key=value:NoSchedule`, `key:NoExecute`)."),
    "labels": ("array", "string", None, "Extra Kubernetes labels on group `<name>`'s nodes, as "
               "`key=value`; leadgen.io/node-group and leadgen.io/capacity-type are always set."),
}
NODE_GROUP_FIELDS = tuple(_FIELDS)


def _group_key(field_: str) -> Key:
    t, items, choices, what = _FIELDS[field_]
    default = NEW_GROUP[field_]
    built_in = [f"{g} `{json.dumps(d[field_])}`" for g, d in BUILT_IN.items() if field_ in d]
    if built_in:
        what += " Built in: " + ", ".join(built_in) + "."
    return Key(f"{GROUPS}.{field_}", t, default, what, items=items, choices=choices,
               required=default is None)


KEYS = [
    Key("cluster.version", "string", DEFAULT_VERSION, "Kubernetes version of the EKS control "
        "plane, pinned to a minor in EKS standard support on the day of the update (a minor past its "
        "end of standard support is refused).",
        choices=SUPPORTED_VERSIONS),
    Key("cluster.deployerRoleArn", "string", None, "IAM role `pulumi up` runs as (the bootstrap "
        "project's `deployerRoleArns.<env>` output): granted cluster-admin through an EKS access entry, "
        "which every Kubernetes resource waits for.", required=True),
    Key("cluster.endpointPublicAccessCidrs", "array", [], "Public CIDRs allowed to reach the public API "
        "endpoint; empty keeps the endpoint private only (CI reaches it from a runner inside the VPC). "
        "Documentation, private and reserved ranges are refused.", items="string"),
    Key("cluster.adminRoleArns", "array", [], "IAM roles granted cluster-admin through EKS access "
        "entries.", items="string"),
    # A year: audit logs answer "who changed what" long after the change (checkov CKV_AWS_338).
    Key("cluster.logRetentionDays", "integer", 365, "Retention of the control-plane log group, days."),
    *[_group_key(f) for f in NODE_GROUP_FIELDS],
]


@dataclass(frozen=True)
class NodeTaint:
    key: str
    value: str | None
    effect: str  # as EKS spells it: NO_SCHEDULE | PREFER_NO_SCHEDULE | NO_EXECUTE


@dataclass(frozen=True)
class NodeGroupConfig:
    name: str  # the EKS node group name (the runbook's --nodegroup-name) and its label
    instance_types: tuple[str, ...]
    min_size: int
    max_size: int
    desired_size: int
    disk_size_gb: int
    capacity_type: str  # ON_DEMAND | SPOT
    ami_type: str
    gpu: bool
    taints: tuple[NodeTaint, ...]
    labels: dict[str, str]  # every label the nodes carry: the platform's and the declared ones


@dataclass(frozen=True)
class ClusterConfig:
    version: str
    deployer_role_arn: str
    public_access_cidrs: tuple[str, ...]
    admin_role_arns: tuple[str, ...]
    log_retention_days: int
    node_groups: tuple[NodeGroupConfig, ...]


def version_error(version: str, today: dt.date) -> str | None:
    """Why `version` cannot run on `today`: past its end of EKS standard support."""
    end = eks_versions.end_of_standard_support(version)
    if end is None:
        return f"({version!r}) is not in the EKS release calendar table (policies/governance/aws/eks_versions.py)"
    if today >= end:
        return (f"({version!r}) left EKS standard support on {end.isoformat()}; "
                f"run {eks_versions.oldest_supported(today)} or newer")
    return None


def build(values: Values) -> ClusterConfig:
    why = version_error(values.get("cluster.version"), eks_versions.today())
    if why:
        raise values.error("cluster.version", why)
    cidrs = values.get("cluster.endpointPublicAccessCidrs")
    networks = []
    for i, c in enumerate(cidrs):
        try:
            net = parse_network(c)
        except CidrError as e:
            raise values.error(f"cluster.endpointPublicAccessCidrs[{i}]", str(e)) from None
        if net.prefixlen == 0:
            raise values.error(f"cluster.endpointPublicAccessCidrs[{i}]",
                               f"({c}) opens the API endpoint to the internet; list your own ranges")
        if not net.is_global:
            raise values.error(f"cluster.endpointPublicAccessCidrs[{i}]",
                               f"({c}) is a documentation, private or reserved range that no client "
                               "reaches the public endpoint from; list your runners' public egress ranges")
        networks.append(net)
    why = public_access_error(networks)
    if why:
        raise values.error("cluster.endpointPublicAccessCidrs", why)
    deployer = values.get("cluster.deployerRoleArn")
    if not _ROLE_ARN.fullmatch(deployer):
        raise values.error("cluster.deployerRoleArn", f"({deployer!r}) is not an IAM role ARN")
    for i, arn in enumerate(values.get("cluster.adminRoleArns")):
        if not _ROLE_ARN.fullmatch(arn):
            raise values.error(f"cluster.adminRoleArns[{i}]", f"({arn!r}) is not an IAM role ARN")
        if arn == deployer:
            # EKS takes one access entry per principal: a second would fail the update.
            raise values.error(f"cluster.adminRoleArns[{i}]", f"({arn!r}) is cluster.deployerRoleArn, "
                               "which already has its access entry")
    days = values.get("cluster.logRetentionDays")
    if days not in LOG_RETENTION_DAYS:
        raise values.error("cluster.logRetentionDays", f"({days}) is not a CloudWatch retention period")
    # Built-in groups first, in their usual order, then the stack's own groups by name.
    names = [*BUILT_IN, *(n for n in values.names(GROUPS) if n not in BUILT_IN)]
    groups = tuple(g for g in (_group(values, name) for name in names) if g is not None)
    if not any(g.name == "general" for g in groups):
        raise values.error("cluster.nodeGroups.general.enabled", "must be true: the platform's "
                           "system pods run on the general group")
    return ClusterConfig(values.get("cluster.version"), deployer, tuple(cidrs),
                         tuple(values.get("cluster.adminRoleArns")), days, groups)


# EKS node group names: alphanumerics, '-' and '_', up to 63 (CreateNodegroup); the name is also a
# Kubernetes label value, which must end alphanumeric.
_GROUP_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$")
_LABEL_NAME = r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)"
_DNS_SUBDOMAIN = r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)"
_LABEL_KEY = re.compile(rf"^({_DNS_SUBDOMAIN}/)?{_LABEL_NAME}$")
_LABEL_VALUE = re.compile(rf"^{_LABEL_NAME}?$")


def _read(values: Values, name: str, field_: str):
    """A group's field: the stack's value, else the built-in group's default, else a new group's."""
    path = f"cluster.nodeGroups.{name}.{field_}"
    if not values.is_set(path) and field_ in BUILT_IN.get(name, {}):
        return BUILT_IN[name][field_]
    return values.get(path)


def is_arm(instance_type: str) -> bool:
    """Graviton families carry a `g` right after the generation (m7g, c6gn, r8gd, t4g, g5g, im4gn); a1 is the first."""
    family = instance_type.split(".", 1)[0]
    return family == "a1" or re.match(r"^[a-z]+\d+g", family) is not None


def _group(values: Values, name: str) -> NodeGroupConfig | None:
    p = f"cluster.nodeGroups.{name}"
    if not _GROUP_NAME.fullmatch(name):
        raise values.error(p, "is not a valid node group name: AWS and Kubernetes take letters, digits, "
                           "'-' and '_', starting and ending with a letter or digit, at most 63 characters")
    if not _read(values, name, "enabled"):
        return None
    types = _read(values, name, "instanceTypes")
    if not types:
        raise values.error(f"{p}.instanceTypes", "must list at least one instance type")
    for i, t in enumerate(types):
        if not _INSTANCE_TYPE.fullmatch(t):
            raise values.error(f"{p}.instanceTypes[{i}]", f"({t!r}) is not an EC2 instance type")
    capacity = _read(values, name, "capacityType")
    if capacity == "SPOT" and len(set(types)) < 2:
        raise values.error(f"{p}.instanceTypes", "needs at least 2 instance types: spot capacity "
                           "comes and goes per type")
    ami = _read(values, name, "amiType")
    arm_ami = "_ARM_64_" in ami
    for i, t in enumerate(types):
        if is_arm(t) != arm_ami:
            arch, want = ("an ARM (Graviton)", "x86_64") if is_arm(t) else ("an x86_64", "ARM (Graviton)")
            raise values.error(f"{p}.instanceTypes[{i}]", f"({t!r}) is {arch} type; amiType {ami} runs on "
                               f"{want} types only")
    gpu = _read(values, name, "gpu")
    taints = tuple(_taint(values, f"{p}.taints[{i}]", t) for i, t in enumerate(_read(values, name, "taints")))
    if gpu and "NVIDIA" not in ami:
        raise values.error(f"{p}.amiType", f"({ami}) has no NVIDIA driver; a gpu group needs "
                           "AL2023_x86_64_NVIDIA or AL2023_ARM_64_NVIDIA")
    if "NVIDIA" in ami and not gpu:
        raise values.error(f"{p}.gpu", f"must be true with amiType {ami}, so the group is tainted and "
                           "labelled as GPU nodes")
    if gpu and not any(t.effect in ("NO_SCHEDULE", "NO_EXECUTE") for t in taints):
        raise values.error(f"{p}.taints", "needs a NoSchedule or NoExecute taint (e.g. "
                           "nvidia.com/gpu=true:NoSchedule) when gpu is true, so only GPU workloads "
                           "land on its nodes")
    lo, hi, want = (_read(values, name, f) for f in ("minSize", "maxSize", "desiredSize"))
    if lo < 0:
        raise values.error(f"{p}.minSize", f"({lo}) must be >= 0")
    if hi < 1:
        raise values.error(f"{p}.maxSize", f"({hi}) must be >= 1")
    if hi < lo:
        raise values.error(f"{p}.maxSize", f"({hi}) must be >= minSize ({lo})")
    if gpu and lo != 0:
        raise values.error(f"{p}.minSize", f"({lo}) must be 0: GPU nodes scale from zero")
    if not lo <= want <= hi:
        raise values.error(f"{p}.desiredSize", f"({want}) must lie between minSize ({lo}) and maxSize ({hi})")
    disk = _read(values, name, "diskSizeGb")
    if not 20 <= disk <= 2000:
        raise values.error(f"{p}.diskSizeGb", f"({disk}) must be between 20 and 2000")
    labels = {GROUP_LABEL: name, CAPACITY_LABEL: capacity.lower()}
    if gpu:
        labels[GPU_LABEL] = "true"
    for i, entry in enumerate(_read(values, name, "labels")):
        where = f"{p}.labels[{i}]"
        key, sep, value = entry.partition("=")
        if not sep or not _LABEL_KEY.fullmatch(key) or len(key) > 316 or not _LABEL_VALUE.fullmatch(value):
            raise values.error(where, f"({entry!r}) is not a Kubernetes label as key=value")
        if key in labels:
            why = "set by the platform" if key in (GROUP_LABEL, CAPACITY_LABEL, GPU_LABEL) else "given twice"
            raise values.error(where, f"({entry!r}) sets {key}, which is {why}")
        labels[key] = value
    return NodeGroupConfig(name=name, instance_types=tuple(types), min_size=lo, max_size=hi,
                           desired_size=want, disk_size_gb=disk, capacity_type=capacity, ami_type=ami,
                           gpu=gpu, taints=taints, labels=labels)


def _taint(values: Values, where: str, text: str) -> NodeTaint:
    """`key=value:Effect` or `key:Effect`, as `kubectl taint` writes it."""
    head, _, effect = text.rpartition(":")
    key, sep, value = head.partition("=")
    if effect not in TAINT_EFFECTS or not _LABEL_KEY.fullmatch(key) or (sep and not _LABEL_VALUE.fullmatch(value)):
        raise values.error(where, f"({text!r}) is not a taint as key=value:Effect (Effect one of "
                           f"{', '.join(TAINT_EFFECTS)})")
    return NodeTaint(key=key, value=value if sep else None, effect=TAINT_EFFECTS[effect])
