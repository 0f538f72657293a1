"""The backup and verify CronJobs and their IRSA roles, as the program registers them for
production: schedule, concurrency, deadlines, restricted pods, roles that reach only their prefix
and log in as their own least-privilege database role, no password or master login anywhere in
the spec, strict validation of the built-in kinds."""
import json
import urllib.parse

import kubernetes_validate
import pytest

from leadgen.data import helm_fullname
from platformctl.project import stack_config
from platformctl.render import manifest

JOBS, DB, BUCKET = "leadgen:backup_jobs:BackupJobs", "leadgen:database:Database", "leadgen:backup_bucket:BackupBucket"
K8S_VERSION = "1.35.0"


def _cron_jobs(run) -> dict:
    return {manifest(r)["metadata"]["name"]: manifest(r) for r in run.of_type("kubernetes:batch/v1:CronJob", JOBS)}


def _env(container) -> dict:
    return {e["name"]: e.get("value") for e in container["env"]}


def test_two_cron_jobs_on_their_schedules(prod):
    jobs = _cron_jobs(prod)
    assert set(jobs) == {"pgbackup-backup", "pgbackup-verify"}
    assert jobs["pgbackup-backup"]["spec"]["schedule"] == "0 2 * * *"  # the runbook's 02:00
    assert jobs["pgbackup-verify"]["spec"]["schedule"] == "0 5 * * *"
    for job in jobs.values():
        spec = job["spec"]
        assert job["metadata"]["namespace"] == "production"
        assert spec["timeZone"] == "Etc/UTC"
        assert spec["concurrencyPolicy"] == "Forbid"
        assert spec["startingDeadlineSeconds"] > 0
        assert spec["successfulJobsHistoryLimit"] == 3 and spec["failedJobsHistoryLimit"] == 5
        job_spec = spec["jobTemplate"]["spec"]
        assert 0 < job_spec["activeDeadlineSeconds"] <= 4 * 3600
        assert job_spec["backoffLimit"] == 1


@pytest.mark.parametrize("name", ["pgbackup-backup", "pgbackup-verify"])
def test_pods_meet_the_restricted_profile(prod, name):
    pod = _cron_jobs(prod)[name]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["serviceAccountName"] == {"pgbackup-backup": "pgbackup", "pgbackup-verify": "pgbackup-verify"}[name]
    assert pod["restartPolicy"] == "Never"
    assert pod["automountServiceAccountToken"] is False
    for c in pod.get("initContainers", []) + pod["containers"]:
        sc = c["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
        assert sc["capabilities"] == {"drop": ["ALL"]} and sc["runAsNonRoot"] is True
        # production runs it by digest (kubernetes-container-image-digest-pinned)
        assert c["image"].endswith("/leadgen-production/pgbackup:" + stack_config("production")["leadgen:data.backup.tag"])
        assert c["imagePullPolicy"] == "IfNotPresent"
        assert c["resources"]["limits"] and c["resources"]["requests"]
    # Neither job holds a password: both log in with an IAM token, so no init container fetches one.
    assert [v["name"] for v in pod["volumes"]] == ["tmp"] and "initContainers" not in pod


def test_jobs_run_the_tool_with_its_environment(prod):
    jobs = _cron_jobs(prod)
    bucket = prod.one("aws:s3/bucket:Bucket", BUCKET)["id"]
    db = prod.one("aws:rds/instance:Instance", DB)["outputs"]
    backup = jobs["pgbackup-backup"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    verify = jobs["pgbackup-verify"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert backup["args"] == ["backup"] and verify["args"] == ["verify"]
    assert "command" not in backup  # the image's entrypoint: python -m jobs.pgbackup
    for c in (backup, verify):
        env = _env(c)
        assert env["BACKUP_BUCKET"] == bucket and env["BACKUP_PREFIX"] == "postgres"
        assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    # Backup dumps as its read-only role with an RDS IAM token its own IRSA role signs: no
    # password file, no secret, no master login.
    backup_env = _env(backup)
    assert backup_env["DATABASE_URL"] == \
        f"postgresql://pgbackup_backup@{db['address']}:5432/insurance_lead_gen?sslmode=require"
    assert backup_env["PGBACKUP_RDS_IAM_REGION"] == "us-east-1"
    assert not {"PGPASSFILE", "PGPASSWORD", "DB_SECRET_ARN"} & set(backup_env)
    assert "leadgen_admin" not in json.dumps(jobs["pgbackup-backup"])
    # Verify never gets the master login, in any form: it logs in as its least-privilege role with
    # an RDS IAM token its own IRSA role signs.
    verify_env = _env(verify)
    assert verify_env["SCRATCH_DATABASE_URL"] == \
        f"postgresql://pgbackup_verify@{db['address']}:5432/postgres?sslmode=require"
    assert verify_env["PGBACKUP_RDS_IAM_REGION"] == "us-east-1"
    assert not {"SCRATCH_ADMIN_DATABASE_URL", "PGPASSFILE", "DATABASE_URL"} & set(verify_env)
    assert "leadgen_admin" not in json.dumps(jobs["pgbackup-verify"])


def test_no_password_in_the_spec(prod):
    for job in _cron_jobs(prod).values():
        pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        for c in pod.get("initContainers", []) + pod["containers"]:
            names = {e["name"] for e in c["env"]}
            assert not names & {"PGPASSWORD", "PGPASSFILE", "DATABASE_PASSWORD", "REDIS_AUTH_TOKEN"}
            assert not any("valueFrom" in e for e in c["env"])
            for e in c["env"]:
                if e["value"].startswith("postgresql://"):
                    url = urllib.parse.urlsplit(e["value"])
                    assert url.username in ("pgbackup_backup", "pgbackup_verify") and url.password is None


def _role_policy(run, service_account):
    """The inline policy of the IRSA role that trusts `service_account`."""
    for role in run.of_type("aws:iam/role:Role", JOBS):
        # Quoted: `pgbackup` is a prefix of `pgbackup-verify`, and the roles register in either order.
        if f'"system:serviceaccount:production:{service_account}"' in role["inputs"]["assumeRolePolicy"]:
            policy = next(p for p in run.of_type("aws:iam/rolePolicy:RolePolicy", JOBS)
                          if p["parent"] == role["parent"])  # both children of one IrsaRole
            return json.loads(policy["inputs"]["policy"])
    raise AssertionError(f"no role trusts {service_account}")


def test_verify_role_reads_backups_writes_records_and_logs_in_as_the_verify_role_only(prod):
    policy = _role_policy(prod, "pgbackup-verify")
    bucket_arn = prod.one("aws:s3/bucket:Bucket", BUCKET)["outputs"]["arn"]
    db = prod.one("aws:rds/instance:Instance", DB)["outputs"]
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["ReadBackups"] == {"Sid": "ReadBackups", "Effect": "Allow", "Action": "s3:GetObject",
                                     "Resource": f"{bucket_arn}/postgres/*"}
    assert by_sid["WriteVerificationRecords"]["Resource"] == f"{bucket_arn}/postgres/*/verifications/*"
    account, region = db["arn"].split(":")[4], db["arn"].split(":")[3]
    assert by_sid["DatabaseLoginAsVerifyRole"]["Resource"] == \
        f"arn:aws:rds-db:{region}:{account}:dbuser:{db['resourceId']}/pgbackup_verify"
    actions = {a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert "secretsmanager:GetSecretValue" not in actions and "s3:AbortMultipartUpload" not in actions


def test_backup_role_reaches_only_its_prefix_and_logs_in_as_the_backup_role_only(prod):
    policy = _role_policy(prod, "pgbackup")
    bucket_arn = prod.one("aws:s3/bucket:Bucket", BUCKET)["outputs"]["arn"]
    db = prod.one("aws:rds/instance:Instance", DB)["outputs"]
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["ObjectsUnderPrefix"]["Resource"] == f"{bucket_arn}/postgres/*"
    assert by_sid["ListPrefix"]["Resource"] == bucket_arn
    assert by_sid["BucketKey"]["Resource"] == prod.one("aws:kms/key:Key", BUCKET)["outputs"]["arn"]
    account, region = db["arn"].split(":")[4], db["arn"].split(":")[3]
    assert by_sid["DatabaseLoginAsBackupRole"] == {
        "Sid": "DatabaseLoginAsBackupRole", "Effect": "Allow", "Action": "rds-db:connect",
        "Resource": f"arn:aws:rds-db:{region}:{account}:dbuser:{db['resourceId']}/pgbackup_backup"}
    s3_resources = [s["Resource"] for s in policy["Statement"]
                    if any(a.startswith("s3:") for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))]
    assert s3_resources == [f"{bucket_arn}/postgres/*", bucket_arn]
    actions = {a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    # The master password stays in Secrets Manager, out of the job's reach.
    assert not any(a.startswith("secretsmanager:") for a in actions)
    assert prod.run.outputs["database"]["masterSecretArn"] not in json.dumps(policy)
    assert all(s["Effect"] == "Allow" and s["Resource"] != "*" for s in policy["Statement"])


def test_each_role_trusts_only_its_jobs_service_account(prod):
    roles = prod.of_type("aws:iam/role:Role", JOBS)
    accounts = {manifest(sa)["metadata"]["name"]: manifest(sa) for sa in prod.of_type("kubernetes:core/v1:ServiceAccount", JOBS)}
    assert len(roles) == 2 and sorted(accounts) == ["pgbackup", "pgbackup-verify"]
    for role in roles:
        trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
        assert len(trust) == 1
        cond = trust[0]["Condition"]["StringEquals"]
        subject = [v for k, v in cond.items() if k.endswith(":sub")]
        assert len(subject) == 1 and subject[0].startswith("system:serviceaccount:production:pgbackup")
        sa = accounts[subject[0].rsplit(":", 1)[1]]
        assert sa["metadata"]["namespace"] == "production"
        assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == role["outputs"]["arn"]


def test_jobs_push_to_the_pushgateway_the_monitoring_stack_runs(prod):
    """The Service name comes from the Helm release the observability domain installs."""
    releases = [r for r in prod.of_type("kubernetes:helm.sh/v3:Release")
                if r["inputs"].get("chart") == "prometheus-pushgateway"]
    assert len(releases) == 1
    r = releases[0]["inputs"]
    service = helm_fullname(r["name"], r["chart"], r.get("values"))
    want = f"http://{service}.{r['namespace']}.svc:9091"
    for job in _cron_jobs(prod).values():
        container = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        assert _env(container)["PUSHGATEWAY_URL"] == want


def test_helm_fullname_rule():
    assert helm_fullname("pushgateway", "prometheus-pushgateway") == "pushgateway-prometheus-pushgateway"
    assert helm_fullname("prometheus-pushgateway", "prometheus-pushgateway") == "prometheus-pushgateway"
    assert helm_fullname("pushgateway", "prometheus-pushgateway", {"fullnameOverride": "pushgateway"}) == "pushgateway"


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_built_in_kinds_validate_strictly(stack, request):
    run = request.getfixturevalue(stack)
    objects = [manifest(r) for r in run.under(JOBS) if r["type"].startswith("kubernetes:")]
    assert sorted(m["kind"] for m in objects) == ["CronJob", "CronJob", "ServiceAccount", "ServiceAccount"]
    for m in objects:
        kubernetes_validate.validate(m, K8S_VERSION, strict=True)


def test_strict_validation_catches_a_misspelt_field(prod):
    m = _cron_jobs(prod)["pgbackup-backup"]
    m["spec"]["concurrencyPolicyy"] = "Forbid"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(m, K8S_VERSION, strict=True)
