"""Network guardrails: who can reach what. Pure predicates over a resource's inputs, the same
shape as `aws.py`; each names the public check it mirrors so an auditor can map it."""
from __future__ import annotations

from typing import Iterator

from .model import Context, Resource
from .values import Unknown, as_list, get, is_unknown, truthy

OPEN_CIDRS = ("0.0.0.0/0", "::/0")
# Ports the world may reach through a security group: the public load balancers' web ports.
# Everything else open to 0.0.0.0/0 (SSH 22, RDP 3389, databases, all ports) is a finding.
WORLD_PORTS = frozenset({80, 443})
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SECURITY_GROUP_TYPES = (SECURITY_GROUP, SG_RULE, SG_INGRESS_RULE)
VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
SUBNET = "aws:ec2/subnet:Subnet"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
# The oldest EKS minor still in standard support on 2026-11-30 (1.34 until 2026-12-02, when EKS
# upgrades it unattended; leadgen/versions.py pins 1.35 and 1.36). Raise it as AWS retires minors.
OLDEST_SUPPORTED_EKS = (1, 34)


def _ports(rule: dict, protocol_key: str) -> tuple[str, int, int]:
    protocol = str(get(rule, protocol_key, "tcp")).lower()
    if protocol in ("-1", "all"):
        return protocol, 0, 65535
    low, high = get(rule, "fromPort", 0), get(rule, "toPort", 65535)
    return protocol, int(float(low)), int(float(high))


def _open_cidrs(rule: dict, keys: tuple[str, ...]) -> list[str]:
    out = []
    for key in keys:
        for cidr in as_list(get(rule, key)):
            if is_unknown(cidr):
                raise Unknown(key)
            if cidr in OPEN_CIDRS:
                out.append(cidr)
    return out


def _world_rule(where: str, rule: dict, protocol_key: str, cidr_keys: tuple[str, ...]) -> list[str]:
    cidrs = _open_cidrs(rule, cidr_keys)
    if not cidrs:
        return []
    protocol, low, high = _ports(rule, protocol_key)
    if protocol not in ("-1", "all") and low == high and low in WORLD_PORTS:
        return []
    span = "every port" if (low, high) == (0, 65535) else (f"port {low}" if low == high else f"ports {low}-{high}")
    return [f"{where} lets {cidrs[0]} reach {span} ({protocol}); open only 80/443 to the world, "
            "reach the rest through the VPC or a bastion"]


def security_group_no_world_ingress(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_AWS_24 (22), CKV_AWS_25 (3389), CKV_AWS_260 (80 is allowed here: it redirects),
    CKV_AWS_277 (all ports); AWSGuard INCOMING_SSH_DISABLED / RESTRICTED_INCOMING_TRAFFIC."""
    if r.type == SECURITY_GROUP:
        out = []
        for i, rule in enumerate(as_list(get(r.props, "ingress"))):
            out += _world_rule(f"{r.name}: ingress[{i}]", rule, "protocol", ("cidrBlocks", "ipv6CidrBlocks"))
        return out
    if r.type == SG_RULE:
        if get(r.props, "type") != "ingress":
            return []
        return _world_rule(f"{r.name}:", r.props, "protocol", ("cidrBlocks", "ipv6CidrBlocks"))
    return _world_rule(f"{r.name}:", r.props, "ipProtocol", ("cidrIpv4", "cidrIpv6"))


def subnet_no_public_ip(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_AWS_130: subnets do not give instances public IPs on launch."""
    if truthy(get(r.props, "mapPublicIpOnLaunch", False)):
        return [f"{r.name}: mapPublicIpOnLaunch must be false; instances get public addresses only "
                "through a load balancer or NAT"]
    return []


def instance_no_public_ip(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_AWS_88: EC2 instances (and the nodes a launch template starts) have no public IP."""
    out = []
    if r.type == INSTANCE and truthy(get(r.props, "associatePublicIpAddress", False)):
        out.append(f"{r.name}: associatePublicIpAddress must be false")
    for i, nic in enumerate(as_list(get(r.props, "networkInterfaces"))):
        if truthy(get(nic, "associatePublicIpAddress", False)):
            out.append(f"{r.name}: networkInterfaces[{i}].associatePublicIpAddress must be false; "
                       "nodes stay in the private subnets")
    return out


def node_group_no_remote_access(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_AWS_100: EKS node groups allow no SSH (remoteAccess); nodes are reached with SSM."""
    access = get(r.props, "remoteAccess")
    if access:
        return [f"{r.name}: remoteAccess opens SSH to the nodes; remove it (use SSM Session Manager)"]
    return []


def _minor(version: object) -> tuple[int, int] | None:
    try:
        major, minor = str(version).strip().split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return None


def eks_supported_version(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_AWS_339 / AWS Config EKS_CLUSTER_SUPPORTED_VERSION: a supported Kubernetes minor."""
    version = get(r.props, "version")
    if version is None:
        return []  # EKS picks its current default minor, which is supported
    minor = _minor(version)
    oldest = ".".join(map(str, OLDEST_SUPPORTED_EKS))
    if minor is None:
        return [f"{r.name}: version {version!r} is not a Kubernetes minor such as {oldest}"]
    if minor < OLDEST_SUPPORTED_EKS:
        return [f"{r.name}: Kubernetes {version} is past EKS standard support; run {oldest} or newer"]
    return []


def vpc_flow_logs(resources: list[Resource], ctx: Context) -> Iterator[tuple[str, str]]:
    """checkov CKV2_AWS_11 / AWSGuard VPC_FLOW_LOGS_ENABLED: every VPC has a flow log."""
    logged_urns: set[str] = set()
    logged_ids: set[str] = set()
    for f in resources:
        if f.type != FLOW_LOG:
            continue
        logged_urns.update(f.dependencies)
        vpc_id = f.props.get("vpcId")
        if is_unknown(vpc_id) and not f.dependencies:
            return  # a flow log whose VPC is not known yet may be any VPC's
        if isinstance(vpc_id, str):
            logged_ids.add(vpc_id)
    for vpc in resources:
        if vpc.type != VPC or vpc.urn in logged_urns:
            continue
        if vpc.props.get("id") in logged_ids:
            continue
        yield f"{vpc.name}: no flow log records this VPC's traffic", vpc.urn
