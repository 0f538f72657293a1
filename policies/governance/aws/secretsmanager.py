"""Secrets Manager guardrails: secrets encrypted with our key, not aws/secretsmanager."""
from __future__ import annotations

from ..model import Context, Resource
from .keys import names_key


SECRET = "aws:secretsmanager/secret:Secret"


def secret_cmk(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_AWS_149 / AWSGuard SECRETSMANAGER_USING_CMK."""
    if not names_key(r.props, "kmsKeyId"):
        return [f"{r.name}: kmsKeyId must name the customer-managed KMS key (not aws/secretsmanager)"]
    return []
