"""governance/aws/ecr.py, from the compliant baseline (tests/policies/guardrails.py): one field
changed per case, the exact message."""
import pytest

from guardrails import ECR, case_id, one_field_changed

CASES = [
    # (policy, type, name, path, value, resource the violation names, message)
    ("aws-ecr-repository-hardened", ECR, "api-images", "imageTagMutability", "MUTABLE", None,
     "api-images: imageTagMutability must be IMMUTABLE, so a tag names one image for good"),
    ("aws-ecr-repository-hardened", ECR, "api-images", "imageScanningConfiguration.scanOnPush", False, None,
     "api-images: imageScanningConfiguration.scanOnPush must be true"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_one_field_changed_fires_exactly_one_policy(case):
    one_field_changed(*case)
