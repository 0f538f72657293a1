"""Redis on ElastiCache (the runbook's `app=redis` dependency): encrypted in transit and at rest,
an auth token that lives in Secrets Manager, reachable only from the cluster's nodes, Multi-AZ with
automatic failover when there is a replica."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from leadgen.iam import logs_key_policy
from leadgen.kms import KEY_DEFAULTS

PORT = 6379


@dataclass(kw_only=True)
class CacheArgs:
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]  # private subnets only
    node_security_group_id: pulumi.Input[str]
    engine_version: str
    node_type: str
    replicas: int  # beside the primary; >= 1 turns on Multi-AZ and automatic failover
    # Raising it rotates the token: a fresh random token goes to Secrets Manager and ElastiCache
    # in the same update, and ElastiCache accepts the old one until clients have moved (ROTATE).
    auth_token_version: int = 1
    snapshot_retention_days: int = 7
    log_retention_days: int = 365
    protect: bool = False
    maintenance_window: str = "sun:05:00-sun:06:00"
    snapshot_window: str = "01:00-02:00"
    tags: dict[str, str] = field(default_factory=dict)


class Cache(pulumi.ComponentResource):
    def __init__(self, name: str, args: CacheArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:cache:Cache", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account = aws.get_caller_identity_output()
        region = aws.get_region_output()

        self.kms_key = aws.kms.Key(
            f"{name}-key", description=f"ElastiCache {name}: data at rest, auth token, slow log",
            **KEY_DEFAULTS,
            policy=pulumi.Output.all(account.account_id, region.region).apply(
                lambda v: logs_key_policy(v[0], v[1])),
            tags=args.tags, opts=pulumi.ResourceOptions(parent=self, protect=args.protect))

        # The token is drawn once, by a `random` resource, and kept in state (encrypted): every
        # later run reads it back, so a preview and the update that applies its saved plan
        # (`pulumi up --plan`) send the same inputs. A draw at run time (Secrets Manager's
        # GetRandomPassword) differed on every run and broke the plan. Raising the version is the
        # keeper that draws a new one. Redis AUTH forbids @, " and /, so no punctuation at all.
        token = random.RandomPassword(
            f"{name}-auth-token", length=64, special=False, min_lower=1, min_upper=1, min_numeric=1,
            keepers={"version": str(args.auth_token_version)}, opts=child)
        secret_token = pulumi.Output.secret(token.result)

        self.auth_secret = aws.secretsmanager.Secret(
            f"{name}-auth", name=f"{name}/auth-token", kms_key_id=self.kms_key.arn,
            description=f"{name}: Redis AUTH token (version {args.auth_token_version})",
            recovery_window_in_days=30, tags=args.tags, opts=child)
        aws.secretsmanager.SecretVersion(
            f"{name}-auth", secret_id=self.auth_secret.id, secret_string_wo=secret_token,
            secret_string_wo_version=args.auth_token_version, opts=child)

        # A fixed name: the replication group is replaced whenever its subnet group's name changes.
        subnets = aws.elasticache.SubnetGroup(
            f"{name}-subnets", name=name, subnet_ids=list(args.subnet_ids),
            description=f"{name}: private subnets only", tags=args.tags, opts=child)
        self.security_group = aws.ec2.SecurityGroup(
            # A prefix, not a name: a replaced group is created before the old one is deleted,
            # and two groups of one name cannot exist in a VPC.
            f"{name}-sg", name_prefix=f"{name}-", vpc_id=args.vpc_id,
            # No apostrophe: EC2 refuses one in a VPC group's description (InvalidParameterValue).
            description=f"{name}: Redis from the cluster nodes only",
            tags={**args.tags, "Name": name}, opts=child)
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-from-nodes", security_group_id=self.security_group.id, ip_protocol="tcp",
            from_port=PORT, to_port=PORT, referenced_security_group_id=args.node_security_group_id,
            description="Redis from EKS nodes", tags=args.tags, opts=child)

        slow_log = aws.cloudwatch.LogGroup(
            f"{name}-slow-log", name=f"/aws/elasticache/{name}/slow-log",
            retention_in_days=args.log_retention_days, kms_key_id=self.kms_key.arn, tags=args.tags,
            opts=child)

        failover = args.replicas >= 1
        self.replication_group = aws.elasticache.ReplicationGroup(
            f"{name}",
            replication_group_id=name,  # fixed: runbooks and `aws elasticache` commands name it
            description=f"{name}: sessions, rate limits and caches",
            engine="redis",
            engine_version=args.engine_version,
            node_type=args.node_type,
            port=PORT,
            num_cache_clusters=1 + args.replicas,
            automatic_failover_enabled=failover,
            multi_az_enabled=failover,
            at_rest_encryption_enabled=True,
            kms_key_id=self.kms_key.arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token_wo=secret_token,
            auth_token_wo_version=args.auth_token_version,
            auth_token_update_strategy="ROTATE",
            subnet_group_name=subnets.name,
            security_group_ids=[self.security_group.id],
            snapshot_retention_limit=args.snapshot_retention_days,
            snapshot_window=args.snapshot_window,
            maintenance_window=args.maintenance_window,
            auto_minor_version_upgrade=False,
            apply_immediately=False,  # changes wait for the maintenance window
            log_delivery_configurations=[{
                "destination": slow_log.name, "destination_type": "cloudwatch-logs",
                "log_format": "json", "log_type": "slow-log"}],
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect))

        self.primary_endpoint = self.replication_group.primary_endpoint_address
        self.reader_endpoint = self.replication_group.reader_endpoint_address
        self.port = PORT
        self.auth_secret_arn = self.auth_secret.arn
        self.register_outputs({"primary_endpoint": self.primary_endpoint,
                               "reader_endpoint": self.reader_endpoint,
                               "auth_secret_arn": self.auth_secret_arn})
