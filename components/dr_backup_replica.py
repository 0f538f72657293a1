"""The off-site copy of the backups (the 3-2-1 rule's third copy): a hardened bucket in the
recovery region, locked in compliance mode like the primary's, that S3 replication fills from the
primary's backup bucket.

The recovery stack declares both ends. The replication configuration is a sub-resource of the
primary's bucket, but declaring it here keeps the reference one-way (recovery reads primary, never
the reverse), so neither stack needs the other deployed first and deleting the recovery stack
removes exactly what it added.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws

from components.hardened_bucket import HardenedBucket, HardenedBucketArgs
from leadgen.data import lifecycle_rules
from leadgen.kms import KEY_DEFAULTS

# S3 Replication Time Control: 99.99 % of objects within 15 minutes, with metrics to prove it.
REPLICATION_MINUTES = 15


def replication_policy(source_arn: str, source_key_arn: str, destination_arn: str,
                       destination_key_arn: str) -> str:
    """What the replication role may do: read versions (with their lock) from the source, write
    replicas to the destination, and use each side's key only through S3."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadSourceConfiguration", "Effect": "Allow",
         "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"], "Resource": source_arn},
        {"Sid": "ReadSourceVersions", "Effect": "Allow",
         "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionTagging", "s3:GetObjectRetention", "s3:GetObjectLegalHold"],
         "Resource": f"{source_arn}/*"},
        {"Sid": "WriteReplicas", "Effect": "Allow",
         "Action": ["s3:ReplicateObject", "s3:ReplicateTags", "s3:ObjectOwnerOverrideToBucketOwner"],
         "Resource": f"{destination_arn}/*"},
        {"Sid": "DecryptSource", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": source_key_arn,
         "Condition": {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}}},
        {"Sid": "EncryptReplicas", "Effect": "Allow", "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
         "Resource": destination_key_arn,
         "Condition": {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}}},
    ]})


S3_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


@dataclass(kw_only=True)
class DrBackupReplicaArgs:
    source_bucket_name: pulumi.Input[str]
    source_bucket_arn: pulumi.Input[str]
    source_kms_key_arn: pulumi.Input[str]
    # The provider of the source bucket's region: a replication configuration is set there.
    source_provider: aws.Provider
    object_lock_days: int
    protect: bool = True
    tags: dict[str, str] = field(default_factory=dict)


class DrBackupReplica(pulumi.ComponentResource):
    def __init__(self, name: str, args: DrBackupReplicaArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:dr_backup_replica:DrBackupReplica", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account = aws.get_caller_identity_output()

        self.kms_key = aws.kms.Key(
            f"{name}-key", description=f"{name}: replicated PostgreSQL backups (recovery region)",
            **KEY_DEFAULTS, tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect))
        self.hardened = HardenedBucket(name, HardenedBucketArgs(
            bucket_name=account.account_id.apply(lambda a: f"{name}-{a}"),
            # The copy ages like the original: the same tiers and noncurrent-version retention.
            kms_key_arn=self.kms_key.arn, lifecycle_rules=lifecycle_rules(),
            transition_default_minimum_object_size="all_storage_classes_128K",
            object_lock_days=args.object_lock_days, protect=args.protect, tags=args.tags), opts=child)

        role = aws.iam.Role(f"{name}-replication", assume_role_policy=S3_TRUST,
                            description=f"S3 replication of the backups into {name}", tags=args.tags,
                            opts=child)
        aws.iam.RolePolicy(
            f"{name}-replication", role=role.id,
            policy=pulumi.Output.all(args.source_bucket_arn, args.source_kms_key_arn,
                                     self.hardened.bucket_arn, self.kms_key.arn).apply(
                lambda v: replication_policy(*v)),
            opts=child)
        self.replication = aws.s3.BucketReplicationConfig(
            f"{name}-replication", bucket=args.source_bucket_name, role=role.arn,
            rules=[{
                "id": "off-site-copy", "status": "Enabled", "priority": 1, "filter": {},
                # Deletions are not copied: a copy exists to survive what happens to the original.
                "delete_marker_replication": {"status": "Disabled"},
                "source_selection_criteria": {"sse_kms_encrypted_objects": {"status": "Enabled"}},
                "destination": {
                    "bucket": self.hardened.bucket_arn, "storage_class": "STANDARD",
                    "encryption_configuration": {"replica_kms_key_id": self.kms_key.arn},
                    "replication_time": {"status": "Enabled", "time": {"minutes": REPLICATION_MINUTES}},
                    "metrics": {"status": "Enabled", "event_threshold": {"minutes": REPLICATION_MINUTES}},
                },
            }],
            # The destination must be versioned (and locked) before S3 accepts the rule.
            opts=pulumi.ResourceOptions(parent=self, provider=args.source_provider, depends_on=[self.hardened]))

        self.bucket_name = self.hardened.bucket_name
        self.bucket_arn = self.hardened.bucket_arn
        self.register_outputs({"bucketName": self.bucket_name, "bucketArn": self.bucket_arn})
