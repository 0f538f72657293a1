"""governance/aws/kms.py, from the compliant baseline (tests/policies/guardrails.py): one field
changed per case, the exact message."""
import pytest

from guardrails import KEY, case_id, one_field_changed

CASES = [
    # (policy, type, name, path, value, resource the violation names, message)
    ("aws-kms-key-rotation-enabled", KEY, "platform", "enableKeyRotation", False, None,
     "platform: enableKeyRotation must be true"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_one_field_changed_fires_exactly_one_policy(case):
    one_field_changed(*case)
