"""governance/aws/cloudwatch.py, from the compliant baseline (tests/policies/guardrails.py): one field
changed per case, the exact message."""
import pytest

from guardrails import LOG, case_id, one_field_changed

CASES = [
    # (policy, type, name, path, value, resource the violation names, message)
    ("aws-cloudwatch-log-group-encrypted", LOG, "app", "kmsKeyId", None, None,
     "app: kmsKeyId must name the customer-managed KMS key"),
    ("aws-cloudwatch-log-group-retention", LOG, "app", "retentionInDays", 1, None,
     "app: retentionInDays is 1; keep logs at least 365 days"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_one_field_changed_fires_exactly_one_policy(case):
    one_field_changed(*case)
