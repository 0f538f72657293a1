"""The leads database: PostgreSQL on RDS in the private subnets, encrypted with its own KMS key,
its master password generated and rotated by RDS in Secrets Manager, reachable only from the
cluster's nodes. In production: Multi-AZ, deletion protection, a final snapshot, Pulumi `protect`,
and automated backups replicated to the DR region."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

from leadgen.data import ENGINE, parameter_family, postgres_parameters
from leadgen.iam import logs_key_policy
from leadgen.kms import KEY_DEFAULTS

PORT = 5432
# What RDS for PostgreSQL can export to CloudWatch Logs: the server log (slow queries,
# connections) and the upgrade log.
LOG_EXPORTS = ["postgresql", "upgrade"]


@dataclass(kw_only=True)
class DatabaseArgs:
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]  # private subnets only
    # The security group of the cluster's nodes: the only source admitted on 5432.
    node_security_group_id: pulumi.Input[str]
    engine_version: str
    instance_class: str
    allocated_storage_gb: int
    max_allocated_storage_gb: int
    backup_retention_days: int
    database_name: str
    master_username: str
    multi_az: bool = True
    slow_query_ms: int = 500
    performance_insights_retention_days: int = 7
    log_retention_days: int = 365
    # Production: deletion protection, a final snapshot, Pulumi protect on what holds data.
    protect: bool = False
    # For one rebuild (failback): the instance alone loses Pulumi protect and deletion protection,
    # so that the next update may replace it; its keys, logs and backups stay protected.
    unprotect_instance: bool = False
    # The snapshot RDS takes when the writer is deleted (production); None: `<identifier>-final`.
    final_snapshot_identifier: Optional[str] = None
    # A provider for the DR region: automated backups are replicated there when given.
    dr_provider: Optional[aws.Provider] = None
    # A recovery site's standby: the ARN of the instance this one replicates (cross-region). Setting
    # it back to None promotes the replica to a standalone, writable instance (RDS PromoteReadReplica).
    replicate_source_db: Optional[pulumi.Input[str]] = None
    # An instance that began as such a replica and was promoted: its name and master user came
    # from its source and stay unset here (setting either would replace the instance).
    promoted_replica: bool = False
    # The failback's cutover: the writer refuses writes (default_transaction_read_only) so that its
    # replica in the other region can catch up and be promoted with nothing left behind.
    read_only: bool = False
    backup_window: str = "00:00-00:30"  # UTC, before the 02:00 pg_dump
    maintenance_window: str = "sun:04:00-sun:05:00"
    tags: dict[str, str] = field(default_factory=dict)


class Database(pulumi.ComponentResource):
    def __init__(self, name: str, args: DatabaseArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:database:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        keep = pulumi.ResourceOptions(parent=self, protect=args.protect)
        account = aws.get_caller_identity_output()
        region = aws.get_region_output()

        # One key for the storage, the snapshots, Performance Insights, the master secret and the
        # exported logs: whoever may not decrypt the database may not decrypt any of its copies.
        self.kms_key = aws.kms.Key(
            f"{name}-key", description=f"RDS {name}: storage, snapshots, Performance Insights, "
            "master secret, logs", **KEY_DEFAULTS,
            policy=pulumi.Output.all(account.account_id, region.region).apply(
                lambda v: logs_key_policy(v[0], v[1])),
            tags=args.tags, opts=keep)

        # A fixed name: an instance cannot move to another subnet group in its VPC, so replacing
        # this group is never the way to change it.
        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets", name=name, subnet_ids=list(args.subnet_ids),
            description=f"{name}: private subnets only", tags=args.tags, opts=child)

        self.security_group = aws.ec2.SecurityGroup(
            # A prefix, not a name: a replaced group is created before the old one is deleted,
            # and two groups of one name cannot exist in a VPC.
            f"{name}-sg", name_prefix=f"{name}-", vpc_id=args.vpc_id,
            # No apostrophe: EC2 refuses one in a VPC group's description (InvalidParameterValue).
            description=f"{name}: PostgreSQL from the cluster nodes only",
            tags={**args.tags, "Name": name}, opts=child)
        # Separate rule resources: inline rules and rule resources on one group fight each other.
        # No egress rule: the database starts no connections.
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-from-nodes", security_group_id=self.security_group.id, ip_protocol="tcp",
            from_port=PORT, to_port=PORT, referenced_security_group_id=args.node_security_group_id,
            description="PostgreSQL from EKS nodes", tags=args.tags, opts=child)

        # Named with its family: a major upgrade makes a group of the new family beside the old one,
        # which the instance leaves as it upgrades, so the two names never collide.
        params = aws.rds.ParameterGroup(
            f"{name}-params", name=f"{name}-{parameter_family(args.engine_version)}",
            family=parameter_family(args.engine_version),
            description=f"{name}: slow queries, connections, TLS only",
            parameters=postgres_parameters(args.slow_query_ms, read_only=args.read_only), tags=args.tags,
            opts=child)

        # A fixed identifier: runbooks and `aws rds` commands name the instance, and it is replaced
        # only by a failback's rebuild, once its protection is lifted (`dr.unprotectDatabase`).
        identifier = name
        # A replica takes its name, user and password from its source; RDS manages a password
        # (in this region's Secrets Manager) only once the instance is promoted. A replica has
        # no final snapshot: its source holds the data.
        replica = args.replicate_source_db is not None
        inherited = replica or args.promoted_replica
        # RDS creates these groups on first export with no retention and no key; creating them
        # first sets both.
        log_groups = [
            aws.cloudwatch.LogGroup(
                f"{name}-log-{log}", name=f"/aws/rds/instance/{identifier}/{log}",
                retention_in_days=args.log_retention_days, kms_key_id=self.kms_key.arn,
                tags=args.tags, opts=child)
            for log in LOG_EXPORTS
        ]

        self.instance = aws.rds.Instance(
            f"{name}",
            identifier=identifier,
            engine=ENGINE,
            engine_version=args.engine_version,
            # A pinned minor: AWS must not move it under us between reviewed changes.
            auto_minor_version_upgrade=False,
            instance_class=args.instance_class,
            allocated_storage=args.allocated_storage_gb,
            max_allocated_storage=args.max_allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=self.kms_key.arn,
            replicate_source_db=args.replicate_source_db,
            db_name=None if inherited else args.database_name,
            username=None if inherited else args.master_username,
            # RDS generates the password, keeps it in Secrets Manager under our key and rotates
            # it: it is never in config, in the program or in state.
            manage_master_user_password=None if replica else True,
            master_user_secret_kms_key_id=None if replica else self.kms_key.arn,
            multi_az=args.multi_az,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[self.security_group.id],
            publicly_accessible=False,
            parameter_group_name=params.name,
            backup_retention_period=args.backup_retention_days,
            backup_window=args.backup_window,
            maintenance_window=args.maintenance_window,
            copy_tags_to_snapshot=True,
            delete_automated_backups=not args.protect,
            deletion_protection=args.protect and not args.unprotect_instance,
            skip_final_snapshot=replica or not args.protect,
            final_snapshot_identifier=(args.final_snapshot_identifier or f"{identifier}-final")
            if args.protect and not replica else None,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=self.kms_key.arn,
            performance_insights_retention_period=args.performance_insights_retention_days,
            enabled_cloudwatch_logs_exports=LOG_EXPORTS,
            iam_database_authentication_enabled=True,
            ca_cert_identifier="rds-ca-rsa2048-g1",
            tags=args.tags,
            # RDS cannot make a standalone instance a replica (nor give an instance of this fixed
            # identifier a twin): becoming a replica is a rebuild, the old instance deleted first.
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect and not args.unprotect_instance,
                                        depends_on=log_groups, delete_before_replace=True,
                                        replace_on_changes=["replicateSourceDb"] if replica else None))

        self.dr_replication = None
        self.dr_kms_key = None
        if args.dr_provider is not None:
            self._replicate_backups(name, args, account)

        self.endpoint = self.instance.endpoint
        self.address = self.instance.address
        self.port = self.instance.port
        self.instance_arn = self.instance.arn
        self.resource_id = self.instance.resource_id  # names IAM database users (rds-db:connect)
        # The Secrets Manager secret RDS manages: {"username": ..., "password": ...}.
        # A replica has none until it is promoted.
        self.master_secret_arn = self.instance.master_user_secrets.apply(
            lambda s: s[0].secret_arn if s else "")
        self.database_name = args.database_name
        self.master_username = args.master_username
        self.security_group_id = self.security_group.id
        self.register_outputs({"address": self.address, "port": self.port,
                               "master_secret_arn": self.master_secret_arn})

    def _replicate_backups(self, name: str, args: DatabaseArgs, account) -> None:
        """Automated backups (snapshots and transaction logs) copied to the DR region, encrypted
        with a key that lives there: a lost region still leaves point-in-time recovery."""
        dr = pulumi.ResourceOptions(parent=self, provider=args.dr_provider, protect=args.protect)
        dr_region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(provider=args.dr_provider))
        self.dr_kms_key = aws.kms.Key(
            f"{name}-dr-key", description=f"RDS {name}: automated backups replicated to the DR region",
            **KEY_DEFAULTS,
            policy=pulumi.Output.all(account.account_id, dr_region.region).apply(
                lambda v: logs_key_policy(v[0], v[1])),
            tags=args.tags, opts=dr)
        self.dr_replication = aws.rds.InstanceAutomatedBackupsReplication(
            f"{name}-dr-backups", source_db_instance_arn=self.instance.arn,
            kms_key_id=self.dr_kms_key.arn, retention_period=args.backup_retention_days,
            opts=pulumi.ResourceOptions(parent=self, provider=args.dr_provider))
