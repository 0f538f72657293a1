"""The backup and verify CronJobs that run the pgbackup tool's image in the cluster, under an IRSA
role that may only put and get objects under their own prefix and read the one database secret.
The alerts on their metrics are the observability domain's (`PgBackupMissing`,
`PgBackupVerifyFailed`, `PgBackupShrank`).

The database password is never in the spec: an init container reads the RDS-managed secret with
the pod's IRSA credentials and writes a libpq password file to a memory-backed volume, which the
tool (libpq, pg_dump, pg_restore) reads through PGPASSFILE.

Verification restores into a scratch database on the same instance: the same engine version the
backup must come back to, with no second instance, hours after the backup, outside business
traffic. It never restores as the master user (a dump is SQL that pg_restore runs): the verify job
gets the master login only as SCRATCH_ADMIN_DATABASE_URL, which the tool uses for nothing but
creating the `pgbackup_verify` role (LOGIN CREATEDB, no other privilege or membership) and giving
it a fresh password valid for five hours; it then creates, restores into and drops its scratch
databases as that role (jobs/pgbackup/README.md, "The verify role"). This is the interim the README
documents: once a DBA has created the role and its password is in Secrets Manager, the job should
get only SCRATCH_DATABASE_URL for that role and no administrative credential at all.

The jobs' role carries the backup bucket's append-only writer tag, so the bucket's policy denies it
every delete and overwrite in every environment.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.backup_bucket import BACKUP_WRITER_TAG
from components.irsa import IrsaRole, IrsaRoleArgs
from leadgen.data import PGPASS_SCRIPT, backup_job_policy, database_url

APP = "pgbackup"
RUN_AS_USER = 10001  # the tool image's user
PUSHGATEWAY_URL = "http://pushgateway.monitoring.svc:9091"  # the observability stack's Pushgateway
PGPASS_DIR = "/run/pgpass"
# Which PostgreSQL client the tool's image installs: the Dockerfile's `ARG PG_CLIENT_MAJOR=` line,
# the one place it is written (jobs/pgbackup/client.py `image_client_major` reads the same line; it
# is not imported here because it brings psycopg, which the program does not install). The CronJobs
# carry it as an annotation so the pack can compare it with the database's engine major.
PG_CLIENT_MAJOR_ANNOTATION = "leadgen.io/pg-client-major"
DOCKERFILE = Path(__file__).resolve().parents[1] / "jobs" / "pgbackup" / "Dockerfile"


def image_client_major(dockerfile: Path = DOCKERFILE) -> str:
    match = re.search(r"^ARG PG_CLIENT_MAJOR=(\d+)\s*$", dockerfile.read_text(), re.M)
    if not match:
        raise ValueError(f"{dockerfile}: no 'ARG PG_CLIENT_MAJOR=<major>' line")
    return match.group(1)


# The least-privilege role verify restores as; the tool provisions it through the admin login.
VERIFY_ROLE = "pgbackup_verify"


# The type token this component had before tokens followed `leadgen:<module>:<Class>`; the alias
# keeps a real stack's state (and every child's) instead of replacing it.
PREVIOUS_TYPE = "leadgen:backup:BackupJobs"

@dataclass(kw_only=True)
class BackupJobsArgs:
    namespace: str
    image: str  # repository:tag of the pgbackup tool
    schedule: str
    verify_schedule: str
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    bucket_kms_key_arn: pulumi.Input[str]
    prefix: str
    db_address: pulumi.Input[str]
    db_port: pulumi.Input[int]
    db_name: str
    db_username: str
    db_secret_arn: pulumi.Input[str]
    db_kms_key_arn: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    region: pulumi.Input[str]
    time_zone: str = "Etc/UTC"
    pushgateway_url: str = PUSHGATEWAY_URL
    # A backup or verification still running after this is killed and counts as failed.
    backup_deadline_seconds: int = 3 * 3600
    verify_deadline_seconds: int = 4 * 3600
    # A run the controller could not start within this (it was down) is skipped, not piled up.
    starting_deadline_seconds: int = 1800
    tags: dict[str, str] = field(default_factory=dict)


class BackupJobs(pulumi.ComponentResource):
    def __init__(self, name: str, args: BackupJobsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:backup_jobs:BackupJobs", name, None, pulumi.ResourceOptions.merge(
            pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=PREVIOUS_TYPE)]), opts))
        # The Kubernetes provider comes in through opts; a component passes a provider down only
        # to children of its package, so the IAM role below still uses the AWS provider.
        k8s_child = pulumi.ResourceOptions(parent=self)
        labels = {"app": APP, "app.kubernetes.io/name": APP, "app.kubernetes.io/part-of": "leadgen"}

        policy = pulumi.Output.all(args.bucket_arn, args.bucket_kms_key_arn, args.db_secret_arn,
                                   args.db_kms_key_arn).apply(
            lambda v: backup_job_policy(v[0], args.prefix, v[1], v[2], v[3]))
        self.role = IrsaRole(f"{name}-irsa", IrsaRoleArgs(
            oidc_provider_arn=args.oidc_provider_arn, oidc_issuer=args.oidc_issuer,
            namespace=args.namespace, service_account=APP, policy_json=policy,
            # The bucket policy denies this tag's bearers every delete and unconditional put.
            tags={**args.tags, BACKUP_WRITER_TAG[0]: BACKUP_WRITER_TAG[1]}),
            opts=pulumi.ResourceOptions(parent=self))

        self.service_account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata={"name": APP, "namespace": args.namespace, "labels": labels,
                      "annotations": {"eks.amazonaws.com/role-arn": self.role.arn}},
            automount_service_account_token=False, opts=k8s_child)

        url = pulumi.Output.all(args.db_address, args.db_port).apply(
            lambda v: database_url(v[0], int(v[1]), args.db_name, args.db_username))
        # The admin login reaches the maintenance database only to provision the verify role; the
        # scratch databases are created beside the real one by that role.
        scratch_admin = pulumi.Output.all(args.db_address, args.db_port).apply(
            lambda v: database_url(v[0], int(v[1]), "postgres", args.db_username))
        common_env = [
            {"name": "BACKUP_BUCKET", "value": args.bucket_name},
            {"name": "BACKUP_PREFIX", "value": args.prefix},
            {"name": "PUSHGATEWAY_URL", "value": args.pushgateway_url},
            {"name": "PGPASSFILE", "value": f"{PGPASS_DIR}/pgpass"},
            # boto3 reads AWS_DEFAULT_REGION; AWS_REGION is what other SDKs read.
            {"name": "AWS_REGION", "value": args.region},
            {"name": "AWS_DEFAULT_REGION", "value": args.region},
        ]
        self.backup = self._cron_job(
            name, "backup", args, labels, args.schedule, args.backup_deadline_seconds,
            ["backup"], [{"name": "DATABASE_URL", "value": url}, *common_env], k8s_child)
        self.verify = self._cron_job(
            name, "verify", args, labels, args.verify_schedule, args.verify_deadline_seconds,
            ["verify"], [{"name": "SCRATCH_ADMIN_DATABASE_URL", "value": scratch_admin},
                         {"name": "VERIFY_ROLE", "value": VERIFY_ROLE}, *common_env], k8s_child)

        self.role_arn = self.role.arn
        self.register_outputs({"role_arn": self.role_arn})

    def _cron_job(self, name: str, operation: str, args: BackupJobsArgs, labels: dict,
                  schedule: str, deadline: int, command_args: list, env: list,
                  opts: pulumi.ResourceOptions) -> k8s.batch.v1.CronJob:
        job_labels = {**labels, "app.kubernetes.io/component": operation}
        annotations = {PG_CLIENT_MAJOR_ANNOTATION: image_client_major()}
        hardened = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                    "privileged": False, "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}}
        pgpass_mount = {"name": "pgpass", "mountPath": PGPASS_DIR}
        return k8s.batch.v1.CronJob(
            f"{name}-{operation}",
            metadata={"name": f"{APP}-{operation}", "namespace": args.namespace, "labels": job_labels,
                      "annotations": annotations},
            spec={
                "schedule": schedule,
                "timeZone": args.time_zone,
                # Two dumps or two restores at once only double the load and race on "latest".
                "concurrencyPolicy": "Forbid",
                "startingDeadlineSeconds": args.starting_deadline_seconds,
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 5,
                "jobTemplate": {
                    "metadata": {"labels": job_labels},
                    "spec": {
                        # One retry: a second failure is for a human, and the alert says so.
                        "backoffLimit": 1,
                        "activeDeadlineSeconds": deadline,
                        "ttlSecondsAfterFinished": 7 * 86400,
                        "template": {
                            "metadata": {"labels": job_labels},
                            "spec": {
                                "restartPolicy": "Never",
                                "serviceAccountName": APP,
                                # The IRSA webhook mounts its own web-identity token; no API token.
                                "automountServiceAccountToken": False,
                                "securityContext": {
                                    "runAsNonRoot": True, "runAsUser": RUN_AS_USER,
                                    "runAsGroup": RUN_AS_USER, "fsGroup": RUN_AS_USER,
                                    "seccompProfile": {"type": "RuntimeDefault"}},
                                # A spot reclaim mid-dump wastes the night's window.
                                "nodeSelector": {"leadgen.io/capacity-type": "on_demand"},
                                "initContainers": [{
                                    "name": "pgpass",
                                    "image": args.image,
                                    "imagePullPolicy": "IfNotPresent",
                                    "command": ["python", "-c", PGPASS_SCRIPT],
                                    "env": [{"name": "DB_SECRET_ARN", "value": args.db_secret_arn},
                                            {"name": "PGPASSFILE", "value": f"{PGPASS_DIR}/pgpass"},
                                            {"name": "AWS_REGION", "value": args.region},
                                            {"name": "AWS_DEFAULT_REGION", "value": args.region}],
                                    "resources": {"requests": {"cpu": "50m", "memory": "64Mi"},
                                                  "limits": {"cpu": "200m", "memory": "128Mi"}},
                                    "securityContext": hardened,
                                    "volumeMounts": [pgpass_mount],
                                }],
                                "containers": [{
                                    "name": operation,
                                    "image": args.image,
                                    "imagePullPolicy": "IfNotPresent",
                                    "args": command_args,
                                    "env": env,
                                    "resources": {"requests": {"cpu": "250m", "memory": "512Mi"},
                                                  "limits": {"cpu": "1", "memory": "1Gi"}},
                                    "securityContext": hardened,
                                    "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"},
                                                     {**pgpass_mount, "readOnly": True}],
                                }],
                                "volumes": [
                                    {"name": "tmp", "emptyDir": {"sizeLimit": "2Gi"}},
                                    # In memory: the password file never touches the node's disk.
                                    {"name": "pgpass", "emptyDir": {"medium": "Memory",
                                                                    "sizeLimit": "1Mi"}},
                                ],
                            },
                        },
                    },
                },
            },
            opts=opts)
