"""governance/aws/rds.py, from the compliant baseline (tests/policies/guardrails.py): one field
changed per case, the exact message."""
import pytest

from policy_baseline import baseline, context, set_path
from guardrails import RDS, case_id, one_field_changed, violations

CASES = [
    # (policy, type, name, path, value, resource the violation names, message)
    ("aws-rds-storage-encrypted", RDS, "leads", "storageEncrypted", False, None, "leads: storageEncrypted must be true"),
    ("aws-rds-storage-encrypted", RDS, "leads", "kmsKeyId", "", None,
     "leads: kmsKeyId must name the customer-managed KMS key (the AWS-managed default key cannot be audited or rotated by us)"),
    ("aws-rds-not-publicly-accessible", RDS, "leads", "publiclyAccessible", True, None,
     "leads: publiclyAccessible must be false; databases are reached only from the private subnets"),
    ("aws-rds-deletion-protection-enabled", RDS, "leads", "deletionProtection", False, None,
     "leads: deletionProtection must be true on stack production"),
    ("aws-rds-backup-retention", RDS, "leads", "backupRetentionPeriod", 6, None,
     "leads: backupRetentionPeriod is 6 days; stack production keeps at least 7"),
    ("aws-rds-multi-az", RDS, "leads", "multiAz", False, None, "leads: multiAz must be true on stack production"),
    ("aws-rds-iam-authentication", RDS, "leads", "iamDatabaseAuthenticationEnabled", False, None,
     "leads: iamDatabaseAuthenticationEnabled must be true (short-lived IAM tokens, not stored passwords)"),
    ("aws-rds-performance-insights-encrypted", RDS, "leads", "performanceInsightsEnabled", True, None,
     "leads: performanceInsightsKmsKeyId must name the customer-managed KMS key"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_one_field_changed_fires_exactly_one_policy(case):
    one_field_changed(*case)


def test_protected_only_database_rules_do_not_apply_to_dev():
    resources = baseline()
    set_path(resources, RDS, "leads", "deletionProtection", False)
    set_path(resources, RDS, "leads", "backupRetentionPeriod", 1)
    assert violations(resources, context("dev")) == []
