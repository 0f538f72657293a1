"""S3 guardrails beyond encryption and public-access blocks: bucket policies, object ACLs and
versioning. Pure predicates; each names the public check it mirrors."""
from __future__ import annotations

from typing import Iterator

from .aws import S3_BUCKET_TYPES, _statements, bucket_index
from .model import Context, Resource
from .values import get, truthy

BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
VERSIONING_TYPES = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
OBJECT_TYPES = ("aws:s3/bucketObject:BucketObject", "aws:s3/bucketObjectv2:BucketObjectv2")
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")


def _public_principal(principal: object) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        values = principal.get("AWS")
        return values == "*" or (isinstance(values, list) and "*" in values)
    return False


def bucket_policy_not_public(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_AWS_70 / AWSGuard S3_BUCKET_PUBLIC_READ_PROHIBITED: no Allow to any principal.
    A Deny to `*` (TLS only, say) is how a policy narrows access and is fine."""
    out = []
    for i, s in enumerate(_statements(get(r.props, "policy"))):
        if s.get("Effect", "Allow") == "Allow" and _public_principal(s.get("Principal")) and not s.get("Condition"):
            out.append(f"{r.name}: policy Statement[{i}] allows {s.get('Action')!r} to any principal; "
                       "name the roles that need it")
    return out


def object_acl_not_public(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_AWS_20 (public ACL) applied to objects: AWSGuard S3_BUCKET_PUBLIC_READ_PROHIBITED."""
    acl = get(r.props, "acl")
    if acl in PUBLIC_ACLS:
        return [f"{r.name}: acl {acl} makes the object public"]
    return []


def buckets_versioned(resources: list[Resource], ctx: Context) -> Iterator[tuple[str, str]]:
    """checkov CKV_AWS_21 / AWSGuard S3_BUCKET_VERSIONING_ENABLED: every bucket keeps versions,
    through a BucketVersioning resource or the old inline `versioning` block. One finding a bucket."""
    index = bucket_index(resources, VERSIONING_TYPES)
    for bucket in (r for r in resources if r.type in S3_BUCKET_TYPES):
        attached = index.attached(bucket)
        if attached is None:
            continue  # a versioning resource not yet tied to a bucket may be this one's
        statuses = [get(v.props, "versioningConfiguration.status") for v in attached]
        if truthy(get(bucket.props, "versioning.enabled", False)):
            statuses.append("Enabled")
        if not statuses:
            yield f"{bucket.name}: versioning is not enabled (no BucketVersioning)", bucket.urn
        elif "Enabled" not in statuses:
            yield f"{bucket.name}: versioning is {statuses[0]}; it must be Enabled", bucket.urn


def ownership_enforced(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV2_AWS_65 / AWSGuard S3_BUCKET_ACL_PROHIBITED: ACLs disabled (BucketOwnerEnforced)."""
    owner = get(r.props, "rule.objectOwnership")
    if owner != "BucketOwnerEnforced":
        return [f"{r.name}: rule.objectOwnership is {owner}; BucketOwnerEnforced turns every ACL off"]
    return []
