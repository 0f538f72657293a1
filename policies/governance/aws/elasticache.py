"""ElastiCache guardrails: encrypted at rest with our key and in transit, TLS required."""
from __future__ import annotations

from ..model import Context, Resource
from ..values import get, truthy
from .keys import names_key


REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"


def elasticache_encrypted(r: Resource, ctx: Context) -> list[str]:
    if not truthy(get(r.props, "atRestEncryptionEnabled", False)):
        return [f"{r.name}: atRestEncryptionEnabled must be true"]
    if not names_key(r.props):
        return [f"{r.name}: kmsKeyId must name the customer-managed KMS key"]
    return []


def elasticache_transit(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_AWS_30 / AWSGuard ELASTICACHE_REPL_GRP_ENCRYPTED_IN_TRANSIT."""
    if not truthy(get(r.props, "transitEncryptionEnabled", False)):
        return [f"{r.name}: transitEncryptionEnabled must be true"]
    mode = get(r.props, "transitEncryptionMode")
    if mode is not None and mode != "required":
        return [f"{r.name}: transitEncryptionMode is {mode}; plaintext clients stay possible until it is \"required\""]
    return []
