"""EC2 and VPC guardrails: encrypted volumes, IMDSv2, no public addresses, security groups open to
the world only on 80/443, flow logs on every VPC. Pure predicates; each names the public check it
mirrors."""
from __future__ import annotations

from typing import Iterator

from ..cidrs import OPEN_CIDRS
from ..model import Context, Resource
from ..values import Unknown, as_list, get, is_unknown, truthy
from .keys import names_key


EBS_VOLUME = "aws:ebs/volume:Volume"
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


def ebs_encrypted(r: Resource, ctx: Context) -> list[str]:
    if not truthy(get(r.props, "encrypted", False)):
        return [f"{r.name}: encrypted must be true"]
    if not names_key(r.props):
        return [f"{r.name}: kmsKeyId must name the customer-managed KMS key"]
    return []


def launch_template_imdsv2(r: Resource, ctx: Context) -> list[str]:
    if get(r.props, "metadataOptions.httpTokens") != "required":
        return [f"{r.name}: metadataOptions.httpTokens must be \"required\" (IMDSv2 only)"]
    return []


def launch_template_ebs_encrypted(r: Resource, ctx: Context) -> list[str]:
    out = []
    for i, mapping in enumerate(as_list(get(r.props, "blockDeviceMappings"))):
        if get(mapping, "ebs") is None:
            continue
        if not truthy(get(mapping, "ebs.encrypted", False)):
            out.append(f"{r.name}: blockDeviceMappings[{i}].ebs.encrypted must be true")
        elif not names_key(mapping, "ebs.kmsKeyId"):
            out.append(f"{r.name}: blockDeviceMappings[{i}].ebs.kmsKeyId must name the customer-managed KMS key")
    return out


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
