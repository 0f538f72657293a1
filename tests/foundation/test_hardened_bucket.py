"""Every bucket the program declares is a hardened bucket, with one and the same rule set."""
import json

import pytest

from tests.helpers import run_program

HARDENED = "leadgen:hardened_bucket:HardenedBucket"


@pytest.fixture(scope="module")
def prod():
    return run_program("production", preview=False)


def _parts(run, component_urn: str) -> dict[str, dict]:
    children = [r for r in run.resources if r["parent"] == component_urn]
    by_type = {}
    for r in children:
        assert r["type"] not in by_type, f"two {r['type']} under {component_urn}"
        by_type[r["type"].split(":")[-1]] = r
    return by_type


def test_every_bucket_is_a_hardened_bucket(prod):
    hardened = {r["urn"] for r in prod.by_type(HARDENED)}
    buckets = prod.by_type("aws:s3/bucket:Bucket")
    assert len(buckets) == 3  # backups, loki, tempo
    assert [b["urn"] for b in buckets if b["parent"] not in hardened] == []


def test_every_hardened_bucket_has_the_full_rule_set(prod):
    for component in prod.by_type(HARDENED):
        parts = _parts(prod, component["urn"])
        bucket = parts["Bucket"]
        name, arn = bucket["outputs"]["bucket"], bucket["outputs"]["arn"]
        assert bucket["inputs"]["forceDestroy"] is False
        assert parts["BucketVersioning"]["inputs"]["versioningConfiguration"] == {"status": "Enabled"}
        assert parts["BucketOwnershipControls"]["inputs"]["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
        block = parts["BucketPublicAccessBlock"]["inputs"]
        assert all(block[f] is True for f in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                               "restrictPublicBuckets")), component["name"]
        (rule,) = parts["BucketServerSideEncryptionConfiguration"]["inputs"]["rules"]
        assert rule["bucketKeyEnabled"] is True
        assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
        assert rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"].startswith("arn:aws:kms:")
        policy = json.loads(parts["BucketPolicy"]["inputs"]["policy"])
        by_sid = {s["Sid"]: s for s in policy["Statement"]}
        assert by_sid["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert by_sid["DenyOldTls"]["Condition"] == {"NumericLessThan": {"s3:TlsVersion": "1.2"}}
        for statement in by_sid.values():
            assert statement["Effect"] == "Deny" and statement["Resource"] == [arn, f"{arn}/*"]
        for typ in ("BucketPolicy", "BucketVersioning", "BucketLifecycleConfiguration"):
            assert parts[typ]["inputs"]["bucket"] == name, (component["name"], typ)
        assert parts["BucketLifecycleConfiguration"]["inputs"]["rules"], component["name"]


def test_object_lock_only_on_the_production_backups(prod):
    locks = prod.by_type("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
    assert [r["name"] for r in locks] == ["leadgen-production-backups-object-lock"]


def test_observability_buckets_expire_noncurrent_versions(prod):
    # Versioning keeps what Loki's and Tempo's compactors delete; without this rule it stays forever.
    for purpose, days in (("loki", 31), ("tempo", 15)):
        lifecycle = prod.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                             f"leadgen-production-obs-{purpose}-lifecycle")
        (rule,) = lifecycle["inputs"]["rules"]
        assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 1}
        assert rule["expiration"] == {"days": days}


def test_a_part_cannot_claim_an_unknown_previous_home():
    from components.hardened_bucket import HardenedBucket, HardenedBucketArgs

    with pytest.raises(ValueError, match="b: previous_urns names unknown parts acl"):
        HardenedBucket("b", HardenedBucketArgs(bucket_name="b", kms_key_arn="k", lifecycle_rules=[],
                                               previous_urns={"acl": ["urn"]}))
