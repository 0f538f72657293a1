"""KMS guardrails: customer-managed keys rotate. Pure predicates; each names the public check it
mirrors."""
from __future__ import annotations

from ..model import Context, Resource
from ..values import get, truthy


KMS_KEY = "aws:kms/key:Key"


def kms_rotation(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_AWS_7 / AWSGuard CMK_BACKING_KEY_ROTATION_ENABLED: symmetric keys rotate yearly."""
    spec = get(r.props, "customerMasterKeySpec") or get(r.props, "keySpec") or "SYMMETRIC_DEFAULT"
    if spec != "SYMMETRIC_DEFAULT":
        return []  # AWS rotates only symmetric encryption keys
    if not truthy(get(r.props, "enableKeyRotation", False)):
        return [f"{r.name}: enableKeyRotation must be true"]
    return []
