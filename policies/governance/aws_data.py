"""Guardrails for where data rests and travels: KMS keys, databases, caches, logs and secrets.
Pure predicates over a resource's inputs (see `aws.py`); each names the public check it mirrors."""
from __future__ import annotations

from .model import Context, Resource
from .values import get, truthy

KMS_KEY = "aws:kms/key:Key"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SECRET = "aws:secretsmanager/secret:Secret"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
MIN_LOG_RETENTION_DAYS = 365  # checkov CKV_AWS_338; the runbook keeps audit evidence a year


def _named(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def kms_rotation(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_AWS_7 / AWSGuard CMK_BACKING_KEY_ROTATION_ENABLED: symmetric keys rotate yearly."""
    spec = get(r.props, "customerMasterKeySpec") or get(r.props, "keySpec") or "SYMMETRIC_DEFAULT"
    if spec != "SYMMETRIC_DEFAULT":
        return []  # AWS rotates only symmetric encryption keys
    if not truthy(get(r.props, "enableKeyRotation", False)):
        return [f"{r.name}: enableKeyRotation must be true"]
    return []


def elasticache_transit(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_AWS_30 / AWSGuard ELASTICACHE_REPL_GRP_ENCRYPTED_IN_TRANSIT."""
    if not truthy(get(r.props, "transitEncryptionEnabled", False)):
        return [f"{r.name}: transitEncryptionEnabled must be true"]
    mode = get(r.props, "transitEncryptionMode")
    if mode is not None and mode != "required":
        return [f"{r.name}: transitEncryptionMode is {mode}; plaintext clients stay possible until it is \"required\""]
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
    if not _named(get(r.props, "performanceInsightsKmsKeyId")):
        return [f"{r.name}: performanceInsightsKmsKeyId must name the customer-managed KMS key"]
    return []


def log_group_encrypted(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_AWS_158 / AWSGuard CLOUDWATCH_LOG_GROUP_ENCRYPTED."""
    if not _named(get(r.props, "kmsKeyId")):
        return [f"{r.name}: kmsKeyId must name the customer-managed KMS key"]
    return []


def log_group_retention(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_AWS_338 / AWSGuard CW_LOGGROUP_RETENTION_PERIOD_CHECK: kept at least a year."""
    days = get(r.props, "retentionInDays", 0)
    if float(days) == 0:
        return []  # 0 (or unset): kept forever
    if float(days) < MIN_LOG_RETENTION_DAYS:
        return [f"{r.name}: retentionInDays is {float(days):g}; keep logs at least {MIN_LOG_RETENTION_DAYS} days"]
    return []


def secret_cmk(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_AWS_149 / AWSGuard SECRETSMANAGER_USING_CMK."""
    if not _named(get(r.props, "kmsKeyId")):
        return [f"{r.name}: kmsKeyId must name the customer-managed KMS key (not aws/secretsmanager)"]
    return []


def ecr_repository_hardened(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_AWS_163 (scan on push), CKV_AWS_51 (immutable tags), CKV_AWS_136 (KMS)."""
    out = []
    if not truthy(get(r.props, "imageScanningConfiguration.scanOnPush", False)):
        out.append(f"{r.name}: imageScanningConfiguration.scanOnPush must be true")
    if get(r.props, "imageTagMutability", "MUTABLE") != "IMMUTABLE":
        out.append(f"{r.name}: imageTagMutability must be IMMUTABLE, so a tag names one image for good")
    configs = get(r.props, "encryptionConfigurations") or []
    config = configs[0] if isinstance(configs, list) and configs else {}
    if get(config, "encryptionType") != "KMS" or not _named(get(config, "kmsKey")):
        out.append(f"{r.name}: encryptionConfigurations must use KMS with the customer-managed key")
    return out
