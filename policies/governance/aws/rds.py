"""RDS guardrails: encrypted with our key, private, protected, backed up, Multi-AZ, IAM
authentication. Pure predicates over a resource's inputs; the checkov ids are in the catalog."""
from __future__ import annotations

from ..model import Context, Resource
from ..values import get, truthy
from .keys import names_key


RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
TYPES = (RDS_INSTANCE, RDS_CLUSTER)
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
# Engines of the PostgreSQL family: the program runs ENGINE, the pack accepts either.
ENGINE = "postgres"
POSTGRES_ENGINES = (ENGINE, "aurora-postgresql")
MIN_BACKUP_DAYS = 7  # the runbook keeps daily backups 7 days (30 days weekly, 7 years yearly)


def rds_storage_encrypted(r: Resource, ctx: Context) -> list[str]:
    if not truthy(get(r.props, "storageEncrypted", False)):
        return [f"{r.name}: storageEncrypted must be true"]
    if not names_key(r.props):
        return [f"{r.name}: kmsKeyId must name the customer-managed KMS key (the AWS-managed default key cannot be audited or rotated by us)"]
    return []


def rds_not_public(r: Resource, ctx: Context) -> list[str]:
    if truthy(get(r.props, "publiclyAccessible", False)):
        return [f"{r.name}: publiclyAccessible must be false; databases are reached only from the private subnets"]
    return []


def rds_deletion_protection(r: Resource, ctx: Context) -> list[str]:
    if ctx.protected and not truthy(get(r.props, "deletionProtection", False)):
        return [f"{r.name}: deletionProtection must be true on stack {ctx.stack}"]
    return []


def rds_backup_retention(r: Resource, ctx: Context) -> list[str]:
    if not ctx.protected:
        return []
    days = get(r.props, "backupRetentionPeriod", 1 if r.type == "aws:rds/cluster:Cluster" else 0)
    if float(days) < MIN_BACKUP_DAYS:
        return [f"{r.name}: backupRetentionPeriod is {days:g} days; stack {ctx.stack} keeps at least {MIN_BACKUP_DAYS}"]
    return []


def rds_multi_az(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_AWS_157 / AWSGuard RDS_MULTI_AZ_SUPPORT: protected databases survive an AZ loss.
    A read replica may run in one AZ (a warm standby's, scaled down): it holds no write its source
    does not, and promotion makes it Multi-AZ in the same update."""
    if r.type == RDS_INSTANCE and ctx.protected and not truthy(get(r.props, "multiAz", False)) \
            and not get(r.props, "replicateSourceDb"):
        return [f"{r.name}: multiAz must be true on stack {ctx.stack}"]
    return []


def rds_iam_auth(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_AWS_161 / AWSGuard RDS_INSTANCE_IAM_AUTHENTICATION_ENABLED."""
    if not truthy(get(r.props, "iamDatabaseAuthenticationEnabled", False)):
        return [f"{r.name}: iamDatabaseAuthenticationEnabled must be true (short-lived IAM tokens, not stored passwords)"]
    return []


def rds_performance_insights_kms(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_AWS_354: Performance Insights data (query text) is encrypted with our key."""
    if not truthy(get(r.props, "performanceInsightsEnabled", False)):
        return []
    if not names_key(r.props, "performanceInsightsKmsKeyId"):
        return [f"{r.name}: performanceInsightsKmsKeyId must name the customer-managed KMS key"]
    return []
