"""governance/aws/elasticache.py, from the compliant baseline (tests/policies/guardrails.py): one field
changed per case, the exact message."""
import pytest

from guardrails import EC, case_id, one_field_changed

CASES = [
    # (policy, type, name, path, value, resource the violation names, message)
    ("aws-elasticache-replication-group-encrypted", EC, "sessions", "atRestEncryptionEnabled", False, None,
     "sessions: atRestEncryptionEnabled must be true"),
    ("aws-elasticache-replication-group-encrypted", EC, "sessions", "kmsKeyId", None, None,
     "sessions: kmsKeyId must name the customer-managed KMS key"),
    ("aws-elasticache-transit-encryption", EC, "sessions", "transitEncryptionEnabled", False, None,
     "sessions: transitEncryptionEnabled must be true"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_one_field_changed_fires_exactly_one_policy(case):
    one_field_changed(*case)
