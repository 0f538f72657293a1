"""ECR guardrails: repositories scan on push, keep tags immutable and encrypt with our key."""
from __future__ import annotations

from ..model import Context, Resource
from ..values import get, truthy
from .keys import names_key


ECR_REPOSITORY = "aws:ecr/repository:Repository"


def ecr_repository_hardened(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_AWS_163 (scan on push), CKV_AWS_51 (immutable tags), CKV_AWS_136 (KMS)."""
    out = []
    if not truthy(get(r.props, "imageScanningConfiguration.scanOnPush", False)):
        out.append(f"{r.name}: imageScanningConfiguration.scanOnPush must be true")
    if get(r.props, "imageTagMutability", "MUTABLE") != "IMMUTABLE":
        out.append(f"{r.name}: imageTagMutability must be IMMUTABLE, so a tag names one image for good")
    configs = get(r.props, "encryptionConfigurations") or []
    config = configs[0] if isinstance(configs, list) and configs else {}
    if get(config, "encryptionType") != "KMS" or not names_key(config, "kmsKey"):
        out.append(f"{r.name}: encryptionConfigurations must use KMS with the customer-managed key")
    return out
