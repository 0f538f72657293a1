"""The bucket the pg_dump backups go to: versioned, SSE-KMS with its own key, public access blocked,
TLS only, Object Lock in compliance mode in production, and the operations diagrams' tiers: 7 days
in Standard, an infrequent-access class to day 30, Glacier Deep Archive to 7 years, then expiry
(issue 4 item 3)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws

from leadgen.data import ARCHIVE_UNTIL_DAYS, lifecycle_rules, tls_only_bucket_policy


@dataclass
class BackupBucketArgs:
    # Object Lock (compliance mode) default retention in days; None leaves the bucket unlocked
    # (dev and staging, whose backups must stay deletable).
    object_lock_days: Optional[int] = None
    protect: bool = False
    tags: dict[str, str] = field(default_factory=dict)


class BackupBucket(pulumi.ComponentResource):
    def __init__(self, name: str, args: BackupBucketArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:backup:BackupBucket", name, None, opts)
        if args.object_lock_days is not None and not 1 <= args.object_lock_days <= ARCHIVE_UNTIL_DAYS:
            raise ValueError(f"object_lock_days {args.object_lock_days} is outside 1-{ARCHIVE_UNTIL_DAYS}")
        child = pulumi.ResourceOptions(parent=self)
        keep = pulumi.ResourceOptions(parent=self, protect=args.protect)
        account = aws.get_caller_identity_output()
        locked = args.object_lock_days is not None

        # The key policy is AWS's default (the account administers it through IAM): the jobs'
        # role gets only GenerateDataKey and Decrypt, and only through S3.
        self.kms_key = aws.kms.Key(
            f"{name}-key", description=f"{name}: PostgreSQL backups", enable_key_rotation=True,
            deletion_window_in_days=30, tags=args.tags, opts=keep)

        # Bucket names are global: the account id keeps ours from colliding with anyone's.
        self.bucket = aws.s3.Bucket(
            f"{name}", bucket=account.account_id.apply(lambda a: f"{name}-{a}"),
            object_lock_enabled=locked, force_destroy=False, tags=args.tags, opts=keep)
        bucket = self.bucket.id

        aws.s3.BucketOwnershipControls(
            f"{name}-ownership", bucket=bucket,
            rule={"object_ownership": "BucketOwnerEnforced"}, opts=child)  # no ACLs at all
        public = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access", bucket=bucket, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=child)
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning", bucket=bucket,
            versioning_configuration={"status": "Enabled"}, opts=keep)
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption", bucket=bucket,
            rules=[{"apply_server_side_encryption_by_default": {
                "sse_algorithm": "aws:kms", "kms_master_key_id": self.kms_key.arn},
                # One data key per bucket, not per object: far fewer KMS calls for multipart dumps.
                "bucket_key_enabled": True}],
            opts=child)
        aws.s3.BucketPolicy(
            f"{name}-policy", bucket=bucket, policy=self.bucket.arn.apply(tls_only_bucket_policy),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public]))

        self.object_lock = None
        if locked:
            # Compliance mode: nobody, root included, can delete or overwrite a locked version
            # before its retention ends - a stolen credential cannot destroy the backups.
            self.object_lock = aws.s3.BucketObjectLockConfiguration(
                f"{name}-object-lock", bucket=bucket, object_lock_enabled="Enabled",
                rule={"default_retention": {"mode": "COMPLIANCE", "days": args.object_lock_days}},
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect, depends_on=[versioning]))

        # Objects under 128 KB (manifest.json, verification.json) never transition by S3's
        # default, so `pgbackup list` can always read them without a Deep Archive restore.
        self.lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=bucket, rules=lifecycle_rules(),
            transition_default_minimum_object_size="all_storage_classes_128K",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]))

        self.bucket_name = self.bucket.id
        self.bucket_arn = self.bucket.arn
        self.kms_key_arn = self.kms_key.arn
        self.register_outputs({"bucket_name": self.bucket_name, "bucket_arn": self.bucket_arn})
