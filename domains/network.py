"""The VPC: subnets across the configured zones, NAT, flow logs, endpoints."""
from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.network import Network, NetworkArgs
from leadgen.config import ConfigError, StackConfig


def build(cfg: StackConfig) -> Network:
    zones = aws.get_availability_zones(state="available").names
    if len(zones) < cfg.network.az_count:
        raise ConfigError(f"leadgen:network.azCount ({cfg.network.az_count}) exceeds the {len(zones)} "
                          f"zones of {cfg.core.region} in Pulumi.{cfg.stack}.yaml")
    network = Network(cfg.prefix, NetworkArgs(
        cidr=cfg.network.vpc_cidr, availability_zones=zones[:cfg.network.az_count],
        private_subnets=cfg.network.private_subnets, public_subnets=cfg.network.public_subnets,
        cluster_name=cfg.cluster_name, nat_per_az=cfg.network.nat_per_az,
        flow_log_retention_days=cfg.network.flow_log_retention_days, tags=cfg.tags))
    pulumi.export("vpcId", network.vpc_id)
    return network
