"""governance/aws/secretsmanager.py, from the compliant baseline (tests/policies/guardrails.py): one field
changed per case, the exact message."""
import pytest

from guardrails import SECRET, case_id, one_field_changed

CASES = [
    # (policy, type, name, path, value, resource the violation names, message)
    ("aws-secretsmanager-secret-cmk", SECRET, "grafana", "kmsKeyId", None, None,
     "grafana: kmsKeyId must name the customer-managed KMS key (not aws/secretsmanager)"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_one_field_changed_fires_exactly_one_policy(case):
    one_field_changed(*case)
