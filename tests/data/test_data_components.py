"""The data domain under the mock engine: what the database, Redis and the backup bucket must be,
read from what the program registers for each stack."""
import importlib
import inspect
import json

import pytest

from platformctl.program.engine import UNKNOWN

DB, CACHE, BUCKET, JOBS = ("leadgen:database:Database", "leadgen:cache:Cache",
                           "leadgen:backup_bucket:BackupBucket", "leadgen:backup_jobs:BackupJobs")


def _taggable(typ: str) -> bool:
    """Whether the pulumi_aws class behind a type token takes `tags` (from its signature)."""
    pkg, mod_path, cls = typ.split(":")
    if pkg != "aws":
        return False
    module = importlib.import_module(f"pulumi_aws.{mod_path.split('/')[0]}")
    return "tags" in inspect.signature(getattr(module, cls)._internal_init).parameters


# --- PostgreSQL ---------------------------------------------------------------------------------
def test_production_database(prod):
    db = prod.one("aws:rds/instance:Instance", DB)
    i = db["inputs"]
    key = prod.named("aws:kms/key:Key", "leadgen-production-postgres-key")
    assert i["engine"] == "postgres" and i["engineVersion"] == "17.9"
    assert i["multiAz"] is True
    assert i["storageEncrypted"] is True and i["kmsKeyId"] == key["outputs"]["arn"]
    assert i["deletionProtection"] is True and db["protect"] is True
    assert i["skipFinalSnapshot"] is False and i["finalSnapshotIdentifier"] == "leadgen-production-postgres-final"
    assert i["backupRetentionPeriod"] == 14
    assert i["manageMasterUserPassword"] is True and i["masterUserSecretKmsKeyId"] == key["outputs"]["arn"]
    assert "password" not in i and "passwordWo" not in i
    assert i["publiclyAccessible"] is False
    assert i["performanceInsightsEnabled"] is True and i["performanceInsightsKmsKeyId"] == key["outputs"]["arn"]
    assert i["performanceInsightsRetentionPeriod"] == 31
    assert i["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    assert i["maxAllocatedStorage"] == 1000 and i["storageType"] == "gp3"
    assert key["inputs"]["enableKeyRotation"] is True and key["protect"] is True


def test_database_lives_in_private_subnets_behind_the_nodes_only(prod):
    private = {r["id"] for r in prod.of_type("aws:ec2/subnet:Subnet") if "-private-" in r["name"]}
    group = prod.one("aws:rds/subnetGroup:SubnetGroup", DB)
    assert set(group["inputs"]["subnetIds"]) == private and len(private) == 3
    db = prod.one("aws:rds/instance:Instance", DB)["inputs"]
    assert db["dbSubnetGroupName"] == group["outputs"]["name"]
    sg = prod.one("aws:ec2/securityGroup:SecurityGroup", DB)
    assert db["vpcSecurityGroupIds"] == [sg["id"]]
    assert "ingress" not in sg["inputs"] and "egress" not in sg["inputs"]
    node_sg = prod.one("aws:eks/cluster:Cluster")["outputs"]["vpcConfig"]["clusterSecurityGroupId"]
    rules = prod.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", DB)
    assert [(r["inputs"]["securityGroupId"], r["inputs"]["referencedSecurityGroupId"], r["inputs"]["fromPort"],
             r["inputs"]["toPort"], r["inputs"]["ipProtocol"]) for r in rules] == [(sg["id"], node_sg,
                                                                                    5432, 5432, "tcp")]
    assert not any("cidrIpv4" in r["inputs"] for r in rules)


def test_parameter_group_logs_slow_queries_and_connections(prod):
    group = prod.one("aws:rds/parameterGroup:ParameterGroup", DB)
    assert group["inputs"]["family"] == "postgres17"
    params = {p["name"]: p["value"] for p in group["inputs"]["parameters"]}
    assert params["log_min_duration_statement"] == "500" and params["log_connections"] == "1"
    assert prod.one("aws:rds/instance:Instance", DB)["inputs"]["parameterGroupName"] == group["outputs"]["name"]


def test_exported_logs_have_retention_and_the_key(prod):
    key = prod.named("aws:kms/key:Key", "leadgen-production-postgres-key")["outputs"]["arn"]
    groups = {r["inputs"]["name"]: r["inputs"] for r in prod.of_type("aws:cloudwatch/logGroup:LogGroup", DB)}
    assert set(groups) == {"/aws/rds/instance/leadgen-production-postgres/postgresql",
                           "/aws/rds/instance/leadgen-production-postgres/upgrade"}
    assert all(g["retentionInDays"] == 365 and g["kmsKeyId"] == key for g in groups.values())


def test_automated_backups_replicate_to_the_dr_region(prod):
    repl = prod.one("aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication", DB)
    db = prod.one("aws:rds/instance:Instance", DB)
    assert repl["inputs"]["sourceDbInstanceArn"] == db["outputs"]["arn"]
    assert repl["inputs"]["retentionPeriod"] == 14
    provider_urn = repl["provider"].rsplit("::", 1)[0]
    provider = prod.by_urn(provider_urn)
    assert provider["type"] == "pulumi:providers:aws" and provider["inputs"]["region"] == "us-west-2"
    # The replica's key lives in the DR region too: same provider.
    dr_keys = [k for k in prod.of_type("aws:kms/key:Key", DB) if k["provider"] == repl["provider"]]
    assert len(dr_keys) == 1 and repl["inputs"]["kmsKeyId"] == dr_keys[0]["outputs"]["arn"]
    assert dr_keys[0]["protect"] is True


def test_dev_database_is_small_and_disposable(dev):
    i = dev.one("aws:rds/instance:Instance", DB)
    assert i["inputs"]["multiAz"] is False and i["protect"] is False
    assert i["inputs"]["deletionProtection"] is False and i["inputs"]["skipFinalSnapshot"] is True
    assert i["inputs"]["storageEncrypted"] is True and i["inputs"]["manageMasterUserPassword"] is True
    assert dev.of_type("aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication") == []
    assert not any(r["type"] == "pulumi:providers:aws" and r["name"].endswith("-dr") for r in dev.resources)


# --- Redis --------------------------------------------------------------------------------------
def test_production_redis(prod):
    rg = prod.one("aws:elasticache/replicationGroup:ReplicationGroup", CACHE)
    i = rg["inputs"]
    key = prod.one("aws:kms/key:Key", CACHE)["outputs"]["arn"]
    assert i["atRestEncryptionEnabled"] is True and i["kmsKeyId"] == key
    assert i["transitEncryptionEnabled"] is True and i["transitEncryptionMode"] == "required"
    assert i["automaticFailoverEnabled"] is True and i["multiAzEnabled"] is True
    assert i["numCacheClusters"] == 3 and i["nodeType"] == "cache.r7g.large"
    assert rg["protect"] is True
    # The token is write-only and secret: never the read-back `authToken`.
    assert "authToken" not in i and i["authTokenWoVersion"] == 1
    assert "authTokenWo" in rg["additional_secret_outputs"] or _is_secret_input(prod, rg)
    sg = prod.one("aws:ec2/securityGroup:SecurityGroup", CACHE)["id"]
    assert i["securityGroupIds"] == [sg]
    rule = prod.one("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", CACHE)["inputs"]
    assert (rule["fromPort"], rule["toPort"]) == (6379, 6379) and "referencedSecurityGroupId" in rule


def _is_secret_input(run, resource) -> bool:
    # The recording monitor flattens secrets to their value; the program marks the token secret
    # with Output.secret, which the real engine encrypts. Check the same value went to Secrets Manager.
    version = run.one("aws:secretsmanager/secretVersion:SecretVersion", CACHE)["inputs"]
    return version["secretStringWo"] == resource["inputs"]["authTokenWo"] and len(version["secretStringWo"]) == 64


def test_redis_token_lives_in_secrets_manager(prod):
    secret = prod.one("aws:secretsmanager/secret:Secret", CACHE)
    version = prod.one("aws:secretsmanager/secretVersion:SecretVersion", CACHE)["inputs"]
    assert secret["inputs"]["kmsKeyId"] == prod.one("aws:kms/key:Key", CACHE)["outputs"]["arn"]
    assert version["secretId"] == secret["id"]
    assert "secretString" not in version and version["secretStringWoVersion"] == 1
    assert prod.run.outputs["redis"]["authSecretArn"] == secret["outputs"]["arn"]


def test_dev_redis_without_replicas_has_no_failover(dev):
    i = dev.one("aws:elasticache/replicationGroup:ReplicationGroup", CACHE)["inputs"]
    assert i["numCacheClusters"] == 1
    assert i["automaticFailoverEnabled"] is False and i["multiAzEnabled"] is False
    assert i["transitEncryptionEnabled"] is True and i["atRestEncryptionEnabled"] is True


# --- the backup bucket --------------------------------------------------------------------------
def test_backup_bucket(prod):
    bucket = prod.one("aws:s3/bucket:Bucket", BUCKET)
    name = bucket["id"]
    assert bucket["inputs"]["objectLockEnabled"] is True and bucket["protect"] is True
    assert bucket["inputs"].get("forceDestroy") is False
    on_bucket = lambda typ: prod.one(typ, BUCKET)["inputs"]  # noqa: E731
    assert on_bucket("aws:s3/bucketVersioning:BucketVersioning")["versioningConfiguration"]["status"] == "Enabled"
    sse = on_bucket("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    default = sse["rules"][0]["applyServerSideEncryptionByDefault"]
    assert default == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": prod.one("aws:kms/key:Key", BUCKET)["outputs"]["arn"]}
    block = on_bucket("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                          "restrictPublicBuckets"))
    policy = json.loads(on_bucket("aws:s3/bucketPolicy:BucketPolicy")["policy"])
    deny = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert {"Bool": {"aws:SecureTransport": "false"}} in [s["Condition"] for s in deny]
    assert all(s["Resource"] == [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"] for s in deny)
    lock = prod.one("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", BUCKET)
    assert lock["inputs"]["rule"]["defaultRetention"] == {"mode": "COMPLIANCE", "days": 2555}
    assert lock["protect"] is True
    for typ in ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketPolicy:BucketPolicy"):
        assert prod.one(typ, BUCKET)["inputs"]["bucket"] == name


def test_bucket_lifecycle_tiers(prod):
    rules = {r["id"]: r for r in prod.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                                          BUCKET)["inputs"]["rules"]}
    tiers = rules["backup-tiers"]
    assert [(t["days"], t["storageClass"]) for t in tiers["transitions"]] == [(7, "GLACIER_IR"), (30, "DEEP_ARCHIVE")]
    assert tiers["expiration"]["days"] == 2555
    assert rules["abort-incomplete-uploads"]["abortIncompleteMultipartUpload"]["daysAfterInitiation"] == 2


def test_dev_bucket_is_not_locked(dev):
    assert dev.of_type("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", BUCKET) == []
    bucket = dev.one("aws:s3/bucket:Bucket", BUCKET)
    assert bucket["inputs"].get("objectLockEnabled") is False and bucket["protect"] is False
    assert dev.one("aws:s3/bucketVersioning:BucketVersioning", BUCKET)["inputs"]["versioningConfiguration"] == \
        {"status": "Enabled"}


# --- across the domain --------------------------------------------------------------------------
@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_every_taggable_data_resource_carries_the_stack_tags(stack, request):
    run = request.getfixturevalue(stack)
    env = "production" if stack == "prod" else "dev"
    want = {"environment": env, "owner": "platform-team@insurance-lead-gen.com", "cost-center": "leadgen-platform"}
    taggable = [r for r in run.data() if r["custom"] and _taggable(r["type"])]
    assert len(taggable) >= 15
    missing = [r["urn"] for r in taggable if not want.items() <= (r["inputs"].get("tags") or {}).items()]
    assert missing == []


def test_production_data_holders_are_protected(prod):
    holders = ["aws:rds/instance:Instance", "aws:elasticache/replicationGroup:ReplicationGroup",
               "aws:s3/bucket:Bucket", "aws:s3/bucketVersioning:BucketVersioning",
               "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"]
    for typ in holders:
        for r in prod.of_type(typ):
            if any(f"{c}$" in r["urn"] for c in (DB, CACHE, BUCKET)):
                assert r["protect"], r["urn"]
    # Keys that encrypt data: losing one loses the data.
    assert all(k["protect"] for c in (DB, CACHE, BUCKET) for k in prod.of_type("aws:kms/key:Key", c))


def test_preview_registers_the_same_data_resources(prod, prod_preview):
    names = lambda run: sorted((r["type"], r["name"]) for r in run.data())  # noqa: E731
    assert names(prod_preview) == names(prod)
    # The policy is built from outputs only; a preview (which skips unknown applies) either
    # sends the same document or leaves it unknown, never a partial one.
    for name in ("leadgen-production-pgbackup-irsa-policy", "leadgen-production-pgbackup-verify-irsa-policy"):
        policy = prod_preview.named("aws:iam/rolePolicy:RolePolicy", name)["inputs"]["policy"]
        assert policy in (UNKNOWN, prod.named("aws:iam/rolePolicy:RolePolicy", name)["inputs"]["policy"])


def test_exports(prod):
    out = prod.run.outputs
    db = prod.one("aws:rds/instance:Instance", DB)["outputs"]
    assert out["database"] == {"endpoint": db["endpoint"], "masterSecretArn": db["masterUserSecrets"][0]["secretArn"]}
    assert out["backupBucket"] == prod.one("aws:s3/bucket:Bucket", BUCKET)["id"]
