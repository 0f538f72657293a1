"""The bucket the pg_dump backups go to: a hardened bucket with its own KMS key, Object Lock in
compliance mode in production, and the operations diagrams' tiers: 7 days in Standard, an
infrequent-access class to day 30, Glacier Deep Archive to 7 years, then expiry.

In every environment, locked or not, the bucket policy makes the backup jobs' role (tagged
BACKUP_WRITER_TAG) append-only: it cannot delete a version, replace an object (every write must be
a conditional create), or touch retention, versioning, lifecycle or the policy itself. A version
that does become noncurrent (an administrator's delete or overwrite, or expiry) stays recoverable
for leadgen.data.NONCURRENT_DAYS."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws

from components.hardened_bucket import PARTS, HardenedBucket, HardenedBucketArgs, moved_parts
from leadgen.data import ARCHIVE_UNTIL_DAYS, lifecycle_rules
from leadgen.kms import KEY_DEFAULTS
from leadgen.naming import retyped_urn

# The type token this component had before tokens followed `leadgen:<module>:<Class>`.
PREVIOUS_TYPE = "leadgen:backup:BackupBucket"

# The principal tag that marks an append-only backup writer (the pgbackup jobs' role carries it).
BACKUP_WRITER_TAG = ("backup-writer", "append-only")


@dataclass(kw_only=True)
class BackupBucketArgs:
    # Object Lock (compliance mode) default retention in days; None leaves the bucket unlocked
    # (dev and staging, whose backups must stay deletable).
    object_lock_days: Optional[int] = None
    protect: bool = False
    tags: dict[str, str] = field(default_factory=dict)


class BackupBucket(pulumi.ComponentResource):
    def __init__(self, name: str, args: BackupBucketArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:backup_bucket:BackupBucket", name, None, pulumi.ResourceOptions.merge(
            pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=PREVIOUS_TYPE)]), opts))
        if args.object_lock_days is not None and not 1 <= args.object_lock_days <= ARCHIVE_UNTIL_DAYS:
            raise ValueError(f"object_lock_days {args.object_lock_days} is outside 1-{ARCHIVE_UNTIL_DAYS}")
        account = aws.get_caller_identity_output()

        # The key policy is AWS's default (the account administers it through IAM): the jobs'
        # role gets only GenerateDataKey and Decrypt, and only through S3.
        self.kms_key = aws.kms.Key(
            f"{name}-key", description=f"{name}: PostgreSQL backups", **KEY_DEFAULTS, tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect))

        # The bucket's parts were this component's own children before the hardened bucket
        # existed, under the same names.
        before = self.urn.apply(lambda u: retyped_urn(u, PREVIOUS_TYPE))
        self.hardened = HardenedBucket(name, HardenedBucketArgs(
            # Bucket names are global: the account id keeps ours from colliding with anyone's.
            bucket_name=account.account_id.apply(lambda a: f"{name}-{a}"),
            kms_key_arn=self.kms_key.arn,
            lifecycle_rules=lifecycle_rules(),
            append_only_principal_tag=BACKUP_WRITER_TAG,
            # Objects under 128 KB (manifest.json, verification.json) never transition, so
            # `pgbackup list` can always read them without a Deep Archive restore.
            transition_default_minimum_object_size="all_storage_classes_128K",
            object_lock_days=args.object_lock_days, protect=args.protect,
            previous_urns=moved_parts(before, {
                "bucket": name, **{key: f"{name}-{key}" for key in PARTS if key != "bucket"}}),
            tags=args.tags), opts=pulumi.ResourceOptions(parent=self))

        self.bucket = self.hardened.bucket
        self.bucket_name = self.hardened.bucket_name
        self.bucket_arn = self.hardened.bucket_arn
        self.kms_key_arn = self.kms_key.arn
        self.register_outputs({"bucket_name": self.bucket_name, "bucket_arn": self.bucket_arn})
