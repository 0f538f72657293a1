"""governance/aws/tags.py, from the compliant baseline (tests/policies/guardrails.py): one field
changed per case, the exact message."""
import pytest

from guardrails import case_id, one_field_changed

from governance.aws import tags

CASES = [
    # (policy, type, name, path, value, resource the violation names, message)
    ("aws-resource-required-tags", "aws:kms/key:Key", "platform", "tags", {"cost-center": ""}, None,
     "platform: missing tags cost-center"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_one_field_changed_fires_exactly_one_policy(case):
    one_field_changed(*case)


def test_taggable_list_matches_the_sdk():
    # Which types take tags is generated from pulumi_aws (`cd policies && python -m governance.aws.tags --write`).
    assert tags.load() == frozenset(tags.scan(tags.sdk_dir()))
    assert {"aws:eks/cluster:Cluster", "aws:rds/instance:Instance", "aws:s3/bucket:Bucket"} <= tags.load()
    assert "aws:iam/rolePolicy:RolePolicy" not in tags.load()  # inline policies take no tags
