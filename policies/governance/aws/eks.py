"""EKS guardrails: clusters encrypt secrets, log the control plane, restrict their public endpoint and
run a minor in standard support; node groups use our launch template, allow no SSH and taint GPU
nodes. Pure predicates over a resource's inputs."""
from __future__ import annotations

import ipaddress

from ..cidrs import OPEN_CIDRS
from ..model import Context, Resource
from ..values import Unknown, as_list, get, has_unknown, is_unknown, truthy
from . import eks_versions
from .keys import names_key


EKS_CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
EKS_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
GPU_FAMILIES = ("g", "gr", "p", "inf", "trn", "dl")


def node_group_launch_template(r: Resource, ctx: Context) -> list[str]:
    # Without our launch template a node group gets EKS's default one, which neither requires
    # IMDSv2 nor encrypts the root volume with our key.
    if get(r.props, "launchTemplate") is None:
        return [f"{r.name}: launchTemplate must be set so nodes require IMDSv2 and encrypt their volumes"]
    return []


def is_gpu_instance(instance_type: str) -> bool:
    """g4dn, g5, p4d, inf2, trn1...: an accelerator family letter followed by its generation."""
    family = instance_type.split(".", 1)[0]
    return any(family.startswith(p) and family[len(p):len(p) + 1].isdigit() for p in GPU_FAMILIES)


def node_group_gpu_tainted(r: Resource, ctx: Context) -> list[str]:
    types = [t for t in as_list(get(r.props, "instanceTypes"))]
    if any(is_unknown(t) for t in types):
        raise Unknown("instanceTypes")
    ami = str(get(r.props, "amiType", "") or "")
    if not (any(is_gpu_instance(t) for t in types) or "GPU" in ami.upper() or "NVIDIA" in ami.upper()):
        return []
    taints = as_list(get(r.props, "taints"))
    if not any(get(t, "effect") in ("NO_SCHEDULE", "NO_EXECUTE") for t in taints):
        return [f"{r.name}: a GPU node group needs a NO_SCHEDULE taint so only GPU workloads land on its nodes"]
    return []


def eks_secrets_encrypted(r: Resource, ctx: Context) -> list[str]:
    config = get(r.props, "encryptionConfig")
    if isinstance(config, list):  # older provider schemas used a one-element list
        config = config[0] if config else None
    if not config or "secrets" not in as_list(get(config, "resources")):
        return [f"{r.name}: encryptionConfig must encrypt \"secrets\" with a KMS key"]
    if not names_key(config, "provider.keyArn"):
        return [f"{r.name}: encryptionConfig.provider.keyArn must name the KMS key"]
    return []


def eks_control_plane_logs(r: Resource, ctx: Context) -> list[str]:
    enabled = set(as_list(get(r.props, "enabledClusterLogTypes")))
    missing = [t for t in EKS_LOG_TYPES if t not in enabled]
    if missing:
        return [f"{r.name}: enabledClusterLogTypes is missing {', '.join(missing)}"]
    return []


def eks_endpoint_restricted(r: Resource, ctx: Context) -> list[str]:
    # The provider's defaults are a public endpoint open to 0.0.0.0/0, so absence is a violation.
    if not truthy(get(r.props, "vpcConfig.endpointPublicAccess", True)):
        return []
    cidrs = as_list(get(r.props, "vpcConfig.publicAccessCidrs"))
    if not cidrs:
        return [f"{r.name}: vpcConfig.publicAccessCidrs must list the admin networks when the public endpoint is on"]
    if has_unknown(cidrs):
        raise Unknown("vpcConfig.publicAccessCidrs")
    open_ = [c for c in cidrs if c in OPEN_CIDRS]
    if open_:
        return [f"{r.name}: vpcConfig.publicAccessCidrs must not contain {open_[0]}"]
    why = _public_ranges_problem(cidrs)
    return [f"{r.name}: vpcConfig.publicAccessCidrs {why}"] if why else []


# More public addresses than one /8 in all is "the internet", however it is split.
MAX_PUBLIC_ADDRESSES = {4: 2 ** 24, 6: 2 ** 104}


def _public_ranges_problem(cidrs: list) -> str | None:
    """Judged by the union of the ranges, not by their spelling: 0.0.0.0/1 + 128.0.0.0/1 is 0.0.0.0/0."""
    networks: dict[int, list] = {4: [], 6: []}
    for c in cidrs:
        try:
            net = ipaddress.ip_network(str(c), strict=False)
        except ValueError:
            return f"holds {c!r}, which is not a CIDR"
        networks[net.version].append(net)
    for version, nets in networks.items():
        union = list(ipaddress.collapse_addresses(nets))
        if any(n.prefixlen == 0 for n in union):
            return f"together cover every IPv{version} address ({', '.join(map(str, union))})"
        if sum(n.num_addresses for n in union) > MAX_PUBLIC_ADDRESSES[version]:
            return f"together cover more than a /{8 if version == 4 else 24} ({', '.join(map(str, union))})"
    return None


def node_group_no_remote_access(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_AWS_100: EKS node groups allow no SSH (remoteAccess); nodes are reached with SSM."""
    access = get(r.props, "remoteAccess")
    if access:
        return [f"{r.name}: remoteAccess opens SSH to the nodes; remove it (use SSM Session Manager)"]
    return []


def eks_supported_version(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_AWS_339 / AWS Config EKS_CLUSTER_SUPPORTED_VERSION: a minor in standard support on
    the day the pack judges it (`eks_versions`: the release calendar's dates, not a constant)."""
    version = get(r.props, "version")
    if version is None:
        return []  # EKS picks its current default minor, which is supported
    minor = eks_versions.parse_minor(version)
    oldest = eks_versions.oldest_supported(ctx.clock.now.date())
    if minor is None:
        return [f"{r.name}: version {version!r} is not a Kubernetes minor such as {oldest}"]
    if minor < eks_versions.parse_minor(oldest):
        return [f"{r.name}: Kubernetes {version} is past EKS standard support; run {oldest} or newer"]
    return []
