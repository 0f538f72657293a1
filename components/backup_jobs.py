"""The backup and verify CronJobs that run the pgbackup tool's image in the cluster, each under its
own IRSA role that may only reach its own prefix of the backup bucket and log in to the database as
its own least-privilege role. The alerts on their metrics are the observability domain's
(`PgBackupMissing`, `PgBackupVerifyFailed`, `PgBackupShrank`).

Neither job holds a database password nor the master login. Each logs in with an RDS IAM token
its pod's IRSA role signs (`rds-db:connect` as its one database user, a fresh token per
connection, redacted from every line):

- backup dumps as `pgbackup_backup`, a role that can read every table, sequence and large object
  and write nothing (`pg_read_all_data`, plus SELECT on the large objects, which that role does
  not cover before PostgreSQL 18);
- verify restores into a scratch database on the same instance (the same engine version the
  backup must come back to, hours after the backup, outside business traffic) as
  `pgbackup_verify`, which may create databases and nothing else: a dump is SQL that pg_restore
  runs, so it never runs as the master user, and the tool refuses the role if it can do more.

A DBA creates both roles once (docs/runbooks/backup-restore.md, "The backup role" and "The verify
role").

The jobs' roles carry the backup bucket's append-only writer tag, so the bucket's policy denies them
every delete and overwrite in every environment.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.backup_bucket import BACKUP_WRITER_TAG
from components.irsa import IrsaRole, IrsaRoleArgs
from jobs.pgbackup.client import image_client_major
from jobs.pgbackup.defaults import DEFAULT_VERIFY_ROLE
from leadgen.data import backup_job_policy, database_url, verify_job_policy

APP = "pgbackup"
RUN_AS_USER = 10001  # the tool image's user
PUSHGATEWAY_URL = "http://pushgateway.monitoring.svc:9091"  # the observability stack's Pushgateway
# Which PostgreSQL client the tool's image installs: the Dockerfile's `ARG PG_CLIENT_MAJOR=` line,
# the one place it is written, read by the tool's own image_client_major. The CronJobs carry it as
# an annotation so the pack can compare it with the database's engine major.
PG_CLIENT_MAJOR_ANNOTATION = "leadgen.io/pg-client-major"


# The least-privilege database roles the jobs log in as (created by a DBA, see the runbook): backup
# reads everything and writes nothing, verify creates its scratch databases and nothing else. The
# verify job has its own service account and IRSA role: it shares nothing with the backup pod's.
BACKUP_ROLE = "pgbackup_backup"
VERIFY_ROLE = DEFAULT_VERIFY_ROLE  # the role the tool checks and provisions by default
VERIFY_SERVICE_ACCOUNT = f"{APP}-verify"


# The type token this component had before tokens followed `leadgen:<module>:<Class>`; the alias
# keeps a real stack's state (and every child's) instead of replacing it.
PREVIOUS_TYPE = "leadgen:backup:BackupJobs"

@dataclass(kw_only=True)
class BackupJobsArgs:
    namespace: str
    image: str  # repository:tag[@sha256:...] of the pgbackup tool
    schedule: str
    verify_schedule: str
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    bucket_kms_key_arn: pulumi.Input[str]
    prefix: str
    db_address: pulumi.Input[str]
    db_port: pulumi.Input[int]
    db_name: str
    db_instance_arn: pulumi.Input[str]
    db_resource_id: pulumi.Input[str]  # the instance's DbiResourceId: rds-db:connect names users by it
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    region: pulumi.Input[str]
    time_zone: str = "Etc/UTC"
    # Always unless the image is pinned by digest (domains/images.py says why).
    image_pull_policy: str = "Always"
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

        policy = pulumi.Output.all(args.bucket_arn, args.bucket_kms_key_arn, args.db_instance_arn,
                                   args.db_resource_id).apply(
            lambda v: backup_job_policy(v[0], args.prefix, v[1], v[2], v[3], BACKUP_ROLE))
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

        verify_policy = pulumi.Output.all(args.bucket_arn, args.bucket_kms_key_arn, args.db_instance_arn,
                                          args.db_resource_id).apply(
            lambda v: verify_job_policy(v[0], args.prefix, v[1], v[2], v[3], VERIFY_ROLE))
        self.verify_role = IrsaRole(f"{name}-verify-irsa", IrsaRoleArgs(
            oidc_provider_arn=args.oidc_provider_arn, oidc_issuer=args.oidc_issuer,
            namespace=args.namespace, service_account=VERIFY_SERVICE_ACCOUNT, policy_json=verify_policy,
            # It writes verification records: the same append-only bucket rules as the backup role.
            tags={**args.tags, BACKUP_WRITER_TAG[0]: BACKUP_WRITER_TAG[1]}),
            opts=pulumi.ResourceOptions(parent=self))
        self.verify_service_account = k8s.core.v1.ServiceAccount(
            f"{name}-verify-sa",
            metadata={"name": VERIFY_SERVICE_ACCOUNT, "namespace": args.namespace, "labels": labels,
                      "annotations": {"eks.amazonaws.com/role-arn": self.verify_role.arn}},
            automount_service_account_token=False, opts=k8s_child)

        # Each job's login carries no password: an IAM token made by the pod's role. Backup reads
        # the application's database as its read-only role.
        url = pulumi.Output.all(args.db_address, args.db_port).apply(
            lambda v: database_url(v[0], int(v[1]), args.db_name, BACKUP_ROLE))
        # The verify role's login to the maintenance database; its scratch databases are created
        # beside the real one by that role.
        scratch = pulumi.Output.all(args.db_address, args.db_port).apply(
            lambda v: database_url(v[0], int(v[1]), "postgres", VERIFY_ROLE))
        common_env = [
            {"name": "BACKUP_BUCKET", "value": args.bucket_name},
            {"name": "BACKUP_PREFIX", "value": args.prefix},
            {"name": "PUSHGATEWAY_URL", "value": args.pushgateway_url},
            # boto3 reads AWS_DEFAULT_REGION; AWS_REGION is what other SDKs read.
            {"name": "AWS_REGION", "value": args.region},
            {"name": "AWS_DEFAULT_REGION", "value": args.region},
            {"name": "PGBACKUP_RDS_IAM_REGION", "value": args.region},
        ]
        self.backup = self._cron_job(
            name, "backup", args, labels, args.schedule, args.backup_deadline_seconds,
            ["backup"], [{"name": "DATABASE_URL", "value": url}, *common_env],
            k8s_child, service_account=APP)
        self.verify = self._cron_job(
            name, "verify", args, labels, args.verify_schedule, args.verify_deadline_seconds,
            ["verify"], [{"name": "SCRATCH_DATABASE_URL", "value": scratch}, *common_env],
            k8s_child, service_account=VERIFY_SERVICE_ACCOUNT)

        self.role_arn = self.role.arn
        self.verify_role_arn = self.verify_role.arn
        self.register_outputs({"role_arn": self.role_arn, "verify_role_arn": self.verify_role_arn})

    def _cron_job(self, name: str, operation: str, args: BackupJobsArgs, labels: dict,
                  schedule: str, deadline: int, command_args: list, env: list,
                  opts: pulumi.ResourceOptions, *, service_account: str) -> k8s.batch.v1.CronJob:
        job_labels = {**labels, "app.kubernetes.io/component": operation}
        annotations = {PG_CLIENT_MAJOR_ANNOTATION: str(image_client_major())}
        hardened = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                    "privileged": False, "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}}
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
                                "serviceAccountName": service_account,
                                # The IRSA webhook mounts its own web-identity token; no API token.
                                "automountServiceAccountToken": False,
                                "securityContext": {
                                    "runAsNonRoot": True, "runAsUser": RUN_AS_USER,
                                    "runAsGroup": RUN_AS_USER, "fsGroup": RUN_AS_USER,
                                    "seccompProfile": {"type": "RuntimeDefault"}},
                                # A spot reclaim mid-dump wastes the night's window.
                                "nodeSelector": {"leadgen.io/capacity-type": "on_demand"},
                                "containers": [{
                                    "name": operation,
                                    "image": args.image,
                                    "imagePullPolicy": args.image_pull_policy,
                                    "args": command_args,
                                    "env": env,
                                    "resources": {"requests": {"cpu": "250m", "memory": "512Mi"},
                                                  "limits": {"cpu": "1", "memory": "1Gi"}},
                                    "securityContext": hardened,
                                    "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                                }],
                                "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "2Gi"}}],
                            },
                        },
                    },
                },
            },
            opts=opts)
