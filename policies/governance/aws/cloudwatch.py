"""CloudWatch Logs guardrails: log groups encrypted with our key and kept at least a year."""
from __future__ import annotations

from ..model import Context, Resource
from ..values import get
from .keys import names_key


LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
MIN_LOG_RETENTION_DAYS = 365  # checkov CKV_AWS_338; the runbook keeps audit evidence a year


def log_group_encrypted(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_AWS_158 / AWSGuard CLOUDWATCH_LOG_GROUP_ENCRYPTED."""
    if not names_key(r.props, "kmsKeyId"):
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
