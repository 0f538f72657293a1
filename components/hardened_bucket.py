"""An S3 bucket with the platform's one set of protections, so no bucket can drift from the others.

Every bucket is: versioned; public access blocked (all four flags); owner-enforced (no ACLs);
encrypted with SSE-KMS under the caller's customer-managed key, with an S3 bucket key (one data key
per bucket, not per object, so far fewer KMS calls); reachable only over TLS 1.2 or later (the
bucket policy denies plain HTTP and older TLS); and expired by the lifecycle rules its owner passes.
Object Lock in compliance mode is optional: once set, nobody, root included, can delete or
overwrite a locked version before its retention ends. Writers can also be made append-only by a
principal tag: the bucket policy then denies any principal carrying it every delete, every rewrite
of versions, retention, ACLs, policy, versioning or lifecycle, and any PutObject that is not a
conditional create (`If-None-Match: *`), in every environment, locked or not.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from leadgen.data import tls_only_bucket_policy
from leadgen.naming import child_urn

# Each part of the bucket and its resource type.
PARTS = {
    "bucket": "aws:s3/bucket:Bucket",
    "ownership": "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "public-access": "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "versioning": "aws:s3/bucketVersioning:BucketVersioning",
    "encryption": "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "policy": "aws:s3/bucketPolicy:BucketPolicy",
    "object-lock": "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
    "lifecycle": "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
}


def moved_parts(old_parent_urn: pulumi.Input[str], names: Mapping[str, str]) -> dict[str, list[pulumi.Output[str]]]:
    """`previous_urns` for parts that were built directly under `old_parent_urn`, each under the
    name given (part -> old resource name)."""
    parent = pulumi.Output.from_input(old_parent_urn)
    return {key: [parent.apply(lambda u, key=key, old=old: child_urn(u, PARTS[key], old))]
            for key, old in names.items()}


@dataclass(kw_only=True)
class HardenedBucketArgs:
    bucket_name: pulumi.Input[str]  # the physical name; S3 names are global
    kms_key_arn: pulumi.Input[str]
    lifecycle_rules: Sequence[dict]  # as `aws.s3.BucketLifecycleConfiguration` takes them
    # S3's own default keeps objects under 128 KB out of transitions; set only to change that.
    transition_default_minimum_object_size: Optional[str] = None
    # Compliance-mode default retention in days; None leaves the bucket unlocked.
    object_lock_days: Optional[int] = None
    # Pulumi `protect` on what holds the data (the bucket, its versioning and its lock).
    protect: bool = False
    # Where a part lived before this component owned it (part -> its previous URNs), so a real
    # stack moves the part instead of replacing it.
    previous_urns: Mapping[str, Sequence[pulumi.Input[str]]] = field(default_factory=dict)
    # (tag key, value): principals carrying this tag may only add new objects (see append_only_denials).
    append_only_principal_tag: Optional[tuple[str, str]] = None
    tags: dict[str, str] = field(default_factory=dict)


# What an append-only writer may never do to the bucket or its objects: remove or replace data,
# or loosen what protects it (README of jobs/pgbackup: "what the bucket and the job's role must deny").
APPEND_ONLY_DENIED = (
    "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging",
    "s3:PutObjectAcl", "s3:PutObjectVersionAcl", "s3:PutObjectRetention", "s3:PutObjectLegalHold",
    "s3:BypassGovernanceRetention", "s3:PutLifecycleConfiguration", "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy", "s3:PutBucketVersioning", "s3:PutBucketObjectLockConfiguration",
    "s3:PutBucketAcl", "s3:DeleteBucket",
)


def append_only_denials(bucket_arn: str, tag: tuple[str, str]) -> list[dict]:
    """Bucket-policy statements that make every principal tagged `tag` an append-only writer.

    The second statement is AWS's "Enforce conditional writes on Amazon S3 buckets": a PutObject
    (or CompleteMultipartUpload) that creates an object must carry If-None-Match, so an existing
    key is never replaced; CreateMultipartUpload and UploadPart are not object-creation operations
    and stay allowed."""
    key, value = tag
    who = {"StringEquals": {f"aws:PrincipalTag/{key}": value}}
    resources = [bucket_arn, f"{bucket_arn}/*"]
    return [
        {"Sid": "DenyAppendOnlyWritersRemoveOrRewrite", "Effect": "Deny", "Principal": "*",
         "Action": list(APPEND_ONLY_DENIED), "Resource": resources, "Condition": who},
        {"Sid": "DenyAppendOnlyWritersUnconditionalPut", "Effect": "Deny", "Principal": "*",
         "Action": "s3:PutObject", "Resource": resources,
         "Condition": {**who, "Null": {"s3:if-none-match": "true"},
                       "Bool": {"s3:ObjectCreationOperation": "true"}}},
    ]


def bucket_policy(bucket_arn: str, append_only_tag: Optional[tuple[str, str]] = None) -> str:
    """TLS only, plus the append-only denials when a writer tag is given."""
    policy = json.loads(tls_only_bucket_policy(bucket_arn))
    if append_only_tag is not None:
        policy["Statement"] += append_only_denials(bucket_arn, append_only_tag)
    return json.dumps(policy)


class HardenedBucket(pulumi.ComponentResource):
    def __init__(self, name: str, args: HardenedBucketArgs, opts: Optional[pulumi.ResourceOptions] = None):
        unknown = sorted(set(args.previous_urns) - set(PARTS))
        if unknown:  # checked before anything is registered
            raise ValueError(f"{name}: previous_urns names unknown parts {', '.join(unknown)}")
        super().__init__("leadgen:hardened_bucket:HardenedBucket", name, None, opts)

        def part(key: str, protect: bool = False, depends_on: Sequence[pulumi.Resource] = ()):
            return pulumi.ResourceOptions(parent=self, protect=protect, depends_on=list(depends_on),
                                          aliases=list(args.previous_urns.get(key, ())))

        locked = args.object_lock_days is not None
        self.bucket = aws.s3.Bucket(
            name, bucket=args.bucket_name, object_lock_enabled=locked, force_destroy=False,
            tags=args.tags, opts=part("bucket", protect=args.protect))
        bucket = self.bucket.id
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership", bucket=bucket, rule={"object_ownership": "BucketOwnerEnforced"},
            opts=part("ownership"))
        public = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access", bucket=bucket, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=part("public-access"))
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning", bucket=bucket, versioning_configuration={"status": "Enabled"},
            opts=part("versioning", protect=args.protect))
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption", bucket=bucket,
            rules=[{"apply_server_side_encryption_by_default": {
                "sse_algorithm": "aws:kms", "kms_master_key_id": args.kms_key_arn},
                "bucket_key_enabled": True}],
            opts=part("encryption"))
        # After the public access block: S3 rejects a policy while the block is being applied.
        aws.s3.BucketPolicy(
            f"{name}-policy", bucket=bucket,
            policy=self.bucket.arn.apply(lambda arn: bucket_policy(arn, args.append_only_principal_tag)),
            opts=part("policy", depends_on=[public]))

        self.object_lock: Optional[aws.s3.BucketObjectLockConfiguration] = None
        if locked:
            self.object_lock = aws.s3.BucketObjectLockConfiguration(
                f"{name}-object-lock", bucket=bucket, object_lock_enabled="Enabled",
                rule={"default_retention": {"mode": "COMPLIANCE", "days": args.object_lock_days}},
                opts=part("object-lock", protect=args.protect, depends_on=[versioning]))

        # Lifecycle rules that touch noncurrent versions need versioning in place first.
        minimum = ({"transition_default_minimum_object_size": args.transition_default_minimum_object_size}
                   if args.transition_default_minimum_object_size is not None else {})
        self.lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=bucket, rules=list(args.lifecycle_rules), **minimum,
            opts=part("lifecycle", depends_on=[versioning]))

        self.bucket_name = self.bucket.id
        self.bucket_arn = self.bucket.arn
        self.register_outputs({"bucketName": self.bucket_name, "bucketArn": self.bucket_arn})
