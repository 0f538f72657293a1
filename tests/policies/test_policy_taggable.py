"""The required-tags guardrail's list of taggable types matches the installed pulumi_aws."""
from governance.aws import tags as taggable


def test_taggable_list_matches_the_sdk():
    assert taggable.load() == frozenset(taggable.scan(taggable.sdk_dir()))
    assert {"aws:eks/cluster:Cluster", "aws:rds/instance:Instance", "aws:s3/bucket:Bucket"} <= taggable.load()
    assert "aws:iam/rolePolicy:RolePolicy" not in taggable.load()  # inline policies take no tags
