"""S3 guardrails: encryption with our key, public-access blocks, ACLs, bucket policies, object ACLs,
ownership and versioning. Pure predicates; the stack-wide ones pair each bucket with its
sub-resources through `bucket_index`."""
from __future__ import annotations

from typing import Iterator

from ..model import Context, Resource
from ..values import as_list, get, is_unknown, truthy
from .documents import statements
from .keys import names_key


S3_BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
S3_SSE_TYPES = ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")
S3_PAB_TYPE = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
# The old provider set `acl` on the bucket itself; newer programs use a BucketAcl resource.
S3_ACL_TYPES = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2", *S3_BUCKET_TYPES)
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
VERSIONING_TYPES = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
OBJECT_TYPES = ("aws:s3/bucketObject:BucketObject", "aws:s3/bucketObjectv2:BucketObjectv2")
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")
PAB_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


class bucket_index:
    """S3 sub-resources (encryption, public-access blocks, versioning) grouped once by the bucket
    they belong to, so a stack check is linear in the stack's size: by dependency (their `bucket`
    is usually the bucket's id, unknown at preview) or by the bucket's known name."""

    def __init__(self, resources: list[Resource], types: tuple[str, ...] | str):
        types = (types,) if isinstance(types, str) else tuple(types)
        self.by_urn: dict[str, list[Resource]] = {}
        self.by_name: dict[str, list[Resource]] = {}
        self.pending = False  # a child whose bucket is not known yet may belong to any bucket
        for child in resources:
            if child.type not in types:
                continue
            for dep in child.dependencies:
                self.by_urn.setdefault(dep, []).append(child)
            name = child.props.get("bucket")
            if is_unknown(name):
                self.pending = self.pending or not child.dependencies
            elif isinstance(name, str):
                self.by_name.setdefault(name, []).append(child)

    def attached(self, bucket: Resource) -> list[Resource] | None:
        """The bucket's children, or None when there are none yet but an unlinked one may be its."""
        found: dict[str, Resource] = {c.urn: c for c in self.by_urn.get(bucket.urn, ())}
        for key in {bucket.props.get("bucket"), bucket.props.get("id"), bucket.name}:
            if isinstance(key, str):
                found.update((c.urn, c) for c in self.by_name.get(key, ()))
        if not found and self.pending:
            return None
        return list(found.values())


def s3_acl_not_public(r: Resource, ctx: Context) -> list[str]:
    acl = get(r.props, "acl")
    if acl in PUBLIC_ACLS:
        return [f"{r.name}: acl {acl} makes the bucket public"]
    return []


def _sse_problem(rules: list) -> str | None:
    for rule in rules:
        algorithm = get(rule, "applyServerSideEncryptionByDefault.sseAlgorithm")
        if algorithm not in ("aws:kms", "aws:kms:dsse"):
            return f"sseAlgorithm is {algorithm!r}, must be aws:kms"
        if not names_key(rule, "applyServerSideEncryptionByDefault.kmsMasterKeyId"):
            return "kmsMasterKeyId must name the customer-managed KMS key"
    return None


def s3_buckets_kms(resources: list[Resource], ctx: Context) -> Iterator[tuple[str, str]]:
    """Every bucket encrypts with aws:kms and our key: through its encryption-configuration
    resource or the inline `serverSideEncryptionConfiguration` older programs set on the bucket
    itself (checkov CKV_AWS_145). One finding a bucket."""
    index = bucket_index(resources, S3_SSE_TYPES)
    for bucket in (r for r in resources if r.type in S3_BUCKET_TYPES):
        inline = get(bucket.props, "serverSideEncryptionConfiguration.rule")
        rule_sets = [as_list(get(c.props, "rules")) for c in index.attached(bucket) or ()]
        if inline is not None:
            rule_sets.append(as_list(inline))
        if not rule_sets:
            if index.attached(bucket) is None:
                continue  # cannot tell which bucket an unlinked config belongs to yet
            yield f"{bucket.name}: no server-side encryption configuration with aws:kms", bucket.urn
            continue
        problems = [p for p in (_sse_problem(rules) for rules in rule_sets) if p]
        if problems:
            yield f"{bucket.name}: {problems[0]}", bucket.urn


def s3_buckets_public_access_blocked(resources: list[Resource], ctx: Context) -> Iterator[tuple[str, str]]:
    """Every bucket has a public access block with all four flags on (checkov CKV_AWS_53-56,
    CKV2_AWS_6). One finding a bucket, however many blocks it pairs with."""
    index = bucket_index(resources, S3_PAB_TYPE)
    for bucket in (r for r in resources if r.type in S3_BUCKET_TYPES):
        attached = index.attached(bucket)
        if attached is None:
            continue
        if not attached:
            yield f"{bucket.name}: no public access block", bucket.urn
            continue
        # The bucket is as open as its most open block: a flag any block leaves off.
        off = [f for f in PAB_FLAGS if not all(truthy(get(b.props, f, False)) for b in attached)]
        if off:
            yield f"{bucket.name}: public access block leaves {', '.join(off)} off", bucket.urn


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
    for i, s in enumerate(statements(get(r.props, "policy"))):
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
