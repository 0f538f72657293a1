"""The VPC: its CIDR, one public and one private subnet per AZ, NAT gateways, flow logs."""
from __future__ import annotations

from dataclasses import dataclass

from leadgen.cidr import CidrError, check_disjoint, check_subnets, parse_network, split_subnets
from leadgen.config.base import Key, Values
from leadgen.config.validate import subnet_size_error, vpc_range_error

KEYS = [
    Key(path="network.vpcCidr", type="string", default="10.0.0.0/16", description="IPv4 CIDR of the VPC."),
    Key(path="network.azCount", type="integer", default=3, description="Number of availability zones the VPC spans (2-6)."),
    Key(path="network.privateSubnetCidrs", type="array", default=[], description="Private subnet CIDRs, one per AZ; empty derives "
        "/19s from the VPC CIDR.", items="string"),
    Key(path="network.publicSubnetCidrs", type="array", default=[], description="Public subnet CIDRs, one per AZ; empty derives "
        "/22s from the VPC CIDR after the private ones.", items="string"),
    Key(path="network.natGatewayPerAz", type="boolean", default=False, description="One NAT gateway per AZ (production) instead of "
        "a single shared one (dev)."),
    Key(path="network.flowLogRetentionDays", type="integer", default=365, description="Retention of the VPC flow log group, days."),
]

# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)


@dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    vpc_cidr: str
    az_count: int
    private_subnets: tuple[str, ...]
    public_subnets: tuple[str, ...]
    nat_per_az: bool
    flow_log_retention_days: int


def build(values: Values) -> NetworkConfig:
    vpc = values.get("network.vpcCidr")
    try:
        net = parse_network(vpc)
    except CidrError as e:
        raise values.error("network.vpcCidr", str(e)) from None
    if not 16 <= net.prefixlen <= 24:
        raise values.error("network.vpcCidr", f"({vpc}) must be between /16 and /24")
    why = vpc_range_error(net)
    if why:
        raise values.error("network.vpcCidr", why)
    azs = values.get("network.azCount")
    if not 2 <= azs <= 6:
        raise values.error("network.azCount", f"({azs}) must be between 2 and 6")

    private = values.get("network.privateSubnetCidrs") or _derive_private(values, vpc, azs)
    public = values.get("network.publicSubnetCidrs") or _derive_public(values, vpc, azs)
    for key, subnets in (("network.privateSubnetCidrs", private), ("network.publicSubnetCidrs", public)):
        if len(subnets) != azs:
            raise values.error(key, f"has {len(subnets)} subnets but network.azCount is {azs}")
        try:
            for i, subnet in enumerate(check_subnets(vpc, subnets)):
                why = subnet_size_error(subnet)
                if why:
                    raise values.error(f"{key}[{i}]", why)
        except CidrError as e:
            raise values.error(key, str(e)) from None
    try:
        check_disjoint(public, private)
    except CidrError as e:
        raise values.error("network.publicSubnetCidrs", str(e) + " (a private subnet)") from None

    days = values.get("network.flowLogRetentionDays")
    if days not in LOG_RETENTION_DAYS:
        raise values.error("network.flowLogRetentionDays",
                           f"({days}) is not a CloudWatch retention period")
    return NetworkConfig(vpc_cidr=vpc, az_count=azs, private_subnets=tuple(private),
                         public_subnets=tuple(public), nat_per_az=values.get("network.natGatewayPerAz"),
                         flow_log_retention_days=days)


def _derive_private(values: Values, vpc: str, azs: int) -> list[str]:
    prefix = parse_network(vpc).prefixlen + 3
    return split_subnets(vpc, azs, prefix, 0)


def _derive_public(values: Values, vpc: str, azs: int) -> list[str]:
    # Public subnets hold only load balancers and NAT gateways: /22s carved from the block
    # that follows the private ones.
    prefix = parse_network(vpc).prefixlen + 3
    blocks = split_subnets(vpc, 2 ** 3, prefix, 0)
    if azs >= len(blocks):
        raise values.error("network.azCount", f"({azs}) leaves no room for public subnets in {vpc}")
    return split_subnets(blocks[azs], azs, prefix + 3, 0)
