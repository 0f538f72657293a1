"""Two guards that reason about what a value means rather than how it is spelt: the EKS endpoint
guardrail judges the union of the allowed ranges, and the backup bucket's policy denies the jobs'
role every way of destroying a backup, in every environment."""
from __future__ import annotations

import json
import sys

import pytest


from components.backup_bucket import BACKUP_WRITER_TAG
from components.hardened_bucket import APPEND_ONLY_DENIED, bucket_policy
from governance.aws import eks
from governance.model import Resource
from leadgen.data import NONCURRENT_DAYS, lifecycle_rules
from tests.policies.policy_baseline import context  # noqa: E402

EKS = "aws:eks/cluster:Cluster"


def _cluster(cidrs) -> Resource:
    return Resource(EKS, f"urn:pulumi:production::leadgen::{EKS}::leadgen", "leadgen",
                    {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": cidrs}})


@pytest.mark.parametrize("cidrs", [
    ["0.0.0.0/1", "128.0.0.0/1"],
    ["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2"],
    [f"{i}.0.0.0/8" for i in range(1, 3)],          # two /8s: more than the internet's 1/256
    ["::/1", "8000::/1"],
    ["0.0.0.0/0"],
])
def test_endpoint_guardrail_refuses_ranges_that_together_are_the_internet(cidrs):
    problems = eks.eks_endpoint_restricted(_cluster(cidrs), context())
    assert len(problems) == 1 and problems[0].startswith("leadgen: vpcConfig.publicAccessCidrs "), problems


@pytest.mark.parametrize("cidrs", [["203.0.113.0/24"], ["52.94.0.0/16", "3.5.140.0/22"], ["2001:db8::/48"]])
def test_endpoint_guardrail_accepts_narrow_ranges(cidrs):
    assert eks.eks_endpoint_restricted(_cluster(cidrs), context()) == []


def test_endpoint_guardrail_names_what_is_not_a_range():
    assert eks.eks_endpoint_restricted(_cluster(["10.0.0.0/8\n"]), context()) == [
        "leadgen: vpcConfig.publicAccessCidrs holds '10.0.0.0/8\\n', which is not a CIDR"]


# --- the backup bucket: append-only for the jobs' role ------------------------------------------
ARN = "arn:aws:s3:::leadgen-dev-backups-123456789012"


def test_bucket_policy_denies_the_writer_every_delete_and_rewrite():
    statements = {s["Sid"]: s for s in json.loads(bucket_policy(ARN, BACKUP_WRITER_TAG))["Statement"]}
    who = {"StringEquals": {f"aws:PrincipalTag/{BACKUP_WRITER_TAG[0]}": BACKUP_WRITER_TAG[1]}}
    rewrite = statements["DenyAppendOnlyWritersRemoveOrRewrite"]
    assert rewrite["Effect"] == "Deny" and rewrite["Principal"] == "*" and rewrite["Condition"] == who
    # Everything jobs/pgbackup/README.md says the job must not do to the bucket.
    for action in ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectAcl", "s3:PutObjectRetention",
                   "s3:BypassGovernanceRetention", "s3:PutLifecycleConfiguration", "s3:PutBucketPolicy",
                   "s3:PutBucketVersioning"):
        assert action in rewrite["Action"], action
    assert rewrite["Action"] == list(APPEND_ONLY_DENIED)
    put = statements["DenyAppendOnlyWritersUnconditionalPut"]
    assert put["Action"] == "s3:PutObject" and put["Effect"] == "Deny"
    assert put["Condition"] == {**who, "Null": {"s3:if-none-match": "true"},
                                "Bool": {"s3:ObjectCreationOperation": "true"}}
    for s in statements.values():
        assert s["Resource"] == [ARN, f"{ARN}/*"]
    # TLS rules stay; without a writer tag the policy is the plain hardened one.
    assert {"DenyInsecureTransport", "DenyOldTls"} <= set(statements)
    assert {s["Sid"] for s in json.loads(bucket_policy(ARN))["Statement"]} == {"DenyInsecureTransport", "DenyOldTls"}


def test_noncurrent_versions_outlive_a_mistake():
    rules = {r["id"]: r for r in lifecycle_rules()}
    assert rules["backup-tiers"]["noncurrent_version_expiration"] == {"noncurrent_days": NONCURRENT_DAYS}
    assert NONCURRENT_DAYS >= 30


@pytest.mark.parametrize("stack", ["dev", "production"])
def test_every_environment_denies_the_jobs_role_and_tags_it(stack):
    from tests.helpers import run_program

    run = run_program(stack)
    policies = [json.loads(r["inputs"]["policy"]) for r in run.by_type("aws:s3/bucketPolicy:BucketPolicy")
                if r["name"].endswith("-backups-policy")]
    assert len(policies) == 1
    sids = {s["Sid"] for s in policies[0]["Statement"]}
    assert {"DenyAppendOnlyWritersRemoveOrRewrite", "DenyAppendOnlyWritersUnconditionalPut"} <= sids
    # The backup job's role and the verify job's (it writes verification records) are append-only.
    roles = [r for r in run.by_type("aws:iam/role:Role")
             if r["name"].endswith(("-pgbackup-irsa-role", "-pgbackup-verify-irsa-role"))]
    assert len(roles) == 2 and all(r["inputs"]["tags"][BACKUP_WRITER_TAG[0]] == BACKUP_WRITER_TAG[1] for r in roles)
    # No other role carries the writer tag by accident (it would be made append-only too).
    tagged = [r["name"] for r in run.by_type("aws:iam/role:Role")
              if (r["inputs"].get("tags") or {}).get(BACKUP_WRITER_TAG[0])]
    assert sorted(tagged) == sorted(r["name"] for r in roles)
    lifecycle = [r for r in run.by_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
                 if r["name"].endswith("-backups-lifecycle")][0]
    tiers = [r for r in lifecycle["inputs"]["rules"] if r["id"] == "backup-tiers"][0]
    assert tiers["noncurrentVersionExpiration"] == {"noncurrentDays": NONCURRENT_DAYS}


def test_verify_never_logs_in_as_the_master_user():
    from tests.helpers import run_program

    run = run_program("production")
    job = [r for r in run.by_type("kubernetes:batch/v1:CronJob")
           if r["inputs"]["metadata"]["name"] == "pgbackup-verify"][0]
    env = {e["name"]: e["value"] for e in
           job["inputs"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    # Verify logs in as its least-privilege role with an RDS IAM token; no master login in any form.
    assert env["SCRATCH_DATABASE_URL"].startswith("postgresql://pgbackup_verify@")
    assert env["PGBACKUP_RDS_IAM_REGION"]
    assert "SCRATCH_ADMIN_DATABASE_URL" not in env and "leadgen_admin" not in json.dumps(job["inputs"])
