"""governance/aws/s3.py, from the compliant baseline (tests/policies/guardrails.py): one field
changed per case, the exact message."""
import copy

import pytest

from policy_baseline import KMS, baseline, set_path, urn
from guardrails import ACL, BP, BUCKET, OBJ, OWN, PAB, SSE, VER, case_id, checks_baseline, one_field_changed, violations

CASES = [
    # (policy, type, name, path, value, resource the violation names, message)
    ("aws-s3-bucket-acl-not-public", ACL, "leads-exports-acl", "acl", "public-read", None,
     "leads-exports-acl: acl public-read makes the bucket public"),
    ("aws-s3-bucket-kms-encrypted", SSE, "leads-exports-sse",
     "rules.0.applyServerSideEncryptionByDefault.sseAlgorithm", "AES256", ("aws:s3/bucket:Bucket", "leads-exports"),
     "leads-exports: sseAlgorithm is 'AES256', must be aws:kms"),
    ("aws-s3-bucket-public-access-blocked", PAB, "leads-exports-pab", "restrictPublicBuckets", False,
     ("aws:s3/bucket:Bucket", "leads-exports"), "leads-exports: public access block leaves restrictPublicBuckets off"),
    ("aws-s3-bucket-policy-not-public", BP, "leads-exports-policy", "policy",
     '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]}', None,
     "leads-exports-policy: policy Statement[0] allows 's3:GetObject' to any principal; name the roles that need it"),
    ("aws-s3-object-acl-not-public", OBJ, "readme", "acl", "public-read", None,
     "readme: acl public-read makes the object public"),
    ("aws-s3-bucket-versioning-enabled", VER, "leads-exports-versioning", "versioningConfiguration.status",
     "Suspended", BUCKET, "leads-exports: versioning is Suspended; it must be Enabled"),
    ("aws-s3-bucket-ownership-enforced", OWN, "leads-exports-ownership", "rule.objectOwnership", "ObjectWriter", None,
     "leads-exports-ownership: rule.objectOwnership is ObjectWriter; BucketOwnerEnforced turns every ACL off"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_one_field_changed_fires_exactly_one_policy(case):
    one_field_changed(*case)


def test_bucket_without_sse_or_public_access_block():
    resources = [r for r in baseline() if r["type"] not in (SSE, PAB)]
    bucket = urn("aws:s3/bucket:Bucket", "leads-exports")
    assert violations(resources) == [
        ("aws-s3-bucket-kms-encrypted", bucket, "leads-exports: no server-side encryption configuration with aws:kms"),
        ("aws-s3-bucket-public-access-blocked", bucket, "leads-exports: no public access block")]


def test_inline_kms_bucket_encryption_counts():
    """Old programs encrypt on the bucket itself (serverSideEncryptionConfiguration.rule)."""
    resources = [r for r in checks_baseline()
                 if r["type"] != "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"]
    rule = {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KMS}}
    set_path(resources, *BUCKET, "serverSideEncryptionConfiguration", {"rule": rule})
    assert violations(resources) == []
    set_path(resources, *BUCKET, "serverSideEncryptionConfiguration.rule.applyServerSideEncryptionByDefault.sseAlgorithm",
             "AES256")
    assert violations(resources) == [("aws-s3-bucket-kms-encrypted", urn(*BUCKET),
                                      "leads-exports: sseAlgorithm is 'AES256', must be aws:kms")]


def test_one_finding_per_bucket_however_many_blocks_pair_with_it():
    resources = checks_baseline()
    pab = next(r for r in resources if r["type"] == "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    for i in range(3):
        extra = copy.deepcopy(pab)
        extra["urn"] += f"-{i}"
        for side in ("inputs", "outputs"):
            extra[side]["blockPublicPolicy"] = False
        resources.append(extra)
    assert violations(resources) == [("aws-s3-bucket-public-access-blocked", urn(*BUCKET),
                                      "leads-exports: public access block leaves blockPublicPolicy off")]
