"""The VPC: public and private subnets across AZs, NAT, flow logs to KMS-encrypted logs, and VPC
endpoints so image pulls, S3 and the AWS APIs the nodes and pods call do not pay NAT per GB."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

from leadgen.iam import logs_key_policy
from leadgen.kms import KEY_DEFAULTS
from leadgen.naming import with_name


# ecr.api and ecr.dkr: image pulls (the layers come through S3); sts: every IRSA token exchange;
# logs: the control-plane, flow and database log groups' agents; ec2: the CNI and the load
# balancer controller.
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "sts", "logs", "ec2")


@dataclass(kw_only=True)
class NetworkArgs:
    cidr: str
    availability_zones: Sequence[str]
    private_subnets: Sequence[str]
    public_subnets: Sequence[str]
    cluster_name: str  # EKS discovers subnets for load balancers by this tag
    nat_per_az: bool = True
    flow_log_retention_days: int = 365
    tags: dict[str, str] = field(default_factory=dict)


class Network(pulumi.ComponentResource):
    def __init__(self, name: str, args: NetworkArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:network:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self._name, self._args = name, args

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc", cidr_block=args.cidr, enable_dns_hostnames=True, enable_dns_support=True,
            tags=with_name(args.tags, f"{name}-vpc"), opts=child)
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=self.vpc.id,
                                      tags=with_name(args.tags, f"{name}-igw"), opts=child)

        cluster_tag = {f"kubernetes.io/cluster/{args.cluster_name}": "shared"}
        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt", vpc_id=self.vpc.id,
            routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": igw.id}],
            tags=with_name(args.tags, f"{name}-public"), opts=child)

        self.public_subnets: list[aws.ec2.Subnet] = []
        self.private_subnets: list[aws.ec2.Subnet] = []
        nats: list[aws.ec2.NatGateway] = []
        for i, az in enumerate(args.availability_zones):
            public = aws.ec2.Subnet(
                f"{name}-public-{i}", vpc_id=self.vpc.id, cidr_block=args.public_subnets[i],
                availability_zone=az, map_public_ip_on_launch=False,
                # Internet-facing load balancers land in subnets tagged elb.
                tags={**with_name(args.tags, f"{name}-public-{az}"), **cluster_tag,
                      "kubernetes.io/role/elb": "1"},
                opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-public-{i}", subnet_id=public.id,
                                          route_table_id=public_rt.id, opts=child)
            self.public_subnets.append(public)
            if args.nat_per_az or i == 0:
                eip = aws.ec2.Eip(f"{name}-nat-{i}", domain="vpc",
                                  tags=with_name(args.tags, f"{name}-nat-{az}"), opts=child)
                nats.append(aws.ec2.NatGateway(
                    f"{name}-nat-{i}", allocation_id=eip.id, subnet_id=public.id,
                    tags=with_name(args.tags, f"{name}-nat-{az}"),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[igw])))

        private_route_tables: list[aws.ec2.RouteTable] = []
        for i, az in enumerate(args.availability_zones):
            private = aws.ec2.Subnet(
                f"{name}-private-{i}", vpc_id=self.vpc.id, cidr_block=args.private_subnets[i],
                availability_zone=az,
                # Internal load balancers and the cluster autoscaler's nodes use these.
                tags={**with_name(args.tags, f"{name}-private-{az}"), **cluster_tag,
                      "kubernetes.io/role/internal-elb": "1"},
                opts=child)
            # Each AZ routes through its own NAT when there is one, so losing an AZ does not
            # take the others' egress with it.
            nat = nats[i] if args.nat_per_az else nats[0]
            rt = aws.ec2.RouteTable(
                f"{name}-private-rt-{i}", vpc_id=self.vpc.id,
                routes=[{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.id}],
                tags=with_name(args.tags, f"{name}-private-{az}"), opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-private-{i}", subnet_id=private.id,
                                          route_table_id=rt.id, opts=child)
            private_route_tables.append(rt)
            self.private_subnets.append(private)

        self._flow_logs()
        self._endpoints(private_route_tables)

        self.vpc_id = self.vpc.id
        self.vpc_cidr = args.cidr
        self.private_subnet_ids = [s.id for s in self.private_subnets]
        self.public_subnet_ids = [s.id for s in self.public_subnets]
        self.nat_gateway_count = len(nats)
        self.register_outputs({"vpc_id": self.vpc_id, "private_subnet_ids": self.private_subnet_ids,
                               "public_subnet_ids": self.public_subnet_ids})

    def _endpoints(self, private_route_tables: list[aws.ec2.RouteTable]) -> None:
        """S3 through a gateway endpoint (free: image layers live in S3, and so do the backups);
        ECR, STS, CloudWatch Logs and EC2 through interface endpoints with private DNS, so the
        SDKs' usual hostnames resolve to them. Only the VPC may reach them, on 443."""
        name, args = self._name, self._args
        child = pulumi.ResourceOptions(parent=self)
        region = aws.get_region_output().region
        aws.ec2.VpcEndpoint(
            f"{name}-s3", vpc_id=self.vpc.id, vpc_endpoint_type="Gateway",
            service_name=region.apply(lambda r: f"com.amazonaws.{r}.s3"),
            route_table_ids=[rt.id for rt in private_route_tables],
            tags=with_name(args.tags, f"{name}-s3"), opts=child)
        # No fixed name: a replaced group would collide with the one it replaces.
        self.endpoint_security_group = aws.ec2.SecurityGroup(
            f"{name}-endpoints", vpc_id=self.vpc.id,
            description=f"{name}: interface endpoints, HTTPS from the VPC only",
            ingress=[{"protocol": "tcp", "from_port": 443, "to_port": 443,
                      "cidr_blocks": [args.cidr], "description": "HTTPS from the VPC"}],
            tags=with_name(args.tags, f"{name}-endpoints"), opts=child)
        for service in INTERFACE_ENDPOINTS:
            aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}", vpc_id=self.vpc.id,
                vpc_endpoint_type="Interface",
                service_name=region.apply(lambda r, s=service: f"com.amazonaws.{r}.{s}"),
                subnet_ids=[s.id for s in self.private_subnets],
                security_group_ids=[self.endpoint_security_group.id], private_dns_enabled=True,
                tags=with_name(args.tags, f"{name}-{service}"), opts=child)

    def _flow_logs(self) -> None:
        name, args = self._name, self._args
        child = pulumi.ResourceOptions(parent=self)
        account = aws.get_caller_identity_output()
        region = aws.get_region_output()
        key = aws.kms.Key(
            f"{name}-flow-logs-key", description=f"{name} VPC flow logs", **KEY_DEFAULTS,
            policy=pulumi.Output.all(account.account_id, region.region).apply(
                lambda v: logs_key_policy(v[0], v[1])),
            tags=args.tags, opts=child)
        group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs", name=f"/aws/vpc/{name}/flow-logs",
            retention_in_days=args.flow_log_retention_days, kms_key_id=key.arn, tags=args.tags,
            opts=child)
        role = aws.iam.Role(
            f"{name}-flow-logs-role",
            assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                "Action": "sts:AssumeRole"}]}),
            tags=args.tags, opts=child)
        aws.iam.RolePolicy(
            f"{name}-flow-logs-policy", role=role.id,
            policy=group.arn.apply(lambda arn: json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                "Resource": [arn, f"{arn}:*"]}]})),
            opts=child)
        aws.ec2.FlowLog(f"{name}-flow-log", vpc_id=self.vpc.id, traffic_type="ALL",
                        log_destination_type="cloud-watch-logs", log_destination=group.arn,
                        iam_role_arn=role.arn, tags=args.tags, opts=child)

