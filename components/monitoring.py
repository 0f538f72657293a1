"""The observability stack: kube-prometheus-stack, Loki, Tempo, the OpenTelemetry
Collector and the Pushgateway, with the generated rules, routes and dashboards.

Tracing uses Tempo rather than Jaeger: Tempo stores traces in S3 on its own (Jaeger needs an
Elasticsearch or Cassandra cluster to run beside it), speaks Jaeger's and OTLP's protocols, and
Grafana shows its traces next to Loki's logs. Loki and Tempo each get one bucket, encrypted with
this component's KMS key, and an IRSA role limited to that bucket. Secrets (Grafana's admin
password, the receivers' keys) stay in Secrets Manager: External Secrets copies them into
Kubernetes Secrets through a SecretStore whose role may read exactly those two secrets.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.hardened_bucket import PARTS, HardenedBucket, HardenedBucketArgs, moved_parts
from components.helm import helm_release
from components.irsa import IrsaRole, IrsaRoleArgs
from leadgen import versions
from leadgen.config.observability import ObservabilityConfig
from leadgen.naming import child_urn
from leadgen.observability import alertmanager as am
from leadgen.observability.dashboards import FOLDER, SIDECAR_LABEL, all_dashboards
from leadgen.observability.platform_alerts import PlatformAlertSettings, platform_rule_file
from leadgen.observability.slo import slo_rule_file

NAMESPACE = "monitoring"
# Release name to the pinned chart it installs.
CHARTS = {
    "kube-prometheus-stack": versions.KUBE_PROMETHEUS_STACK,
    "loki": versions.LOKI,
    "tempo": versions.TEMPO_DISTRIBUTED,
    "otel-collector": versions.OPENTELEMETRY_COLLECTOR,
    "pushgateway": versions.PROMETHEUS_PUSHGATEWAY,
    "external-secrets": versions.EXTERNAL_SECRETS,
}
GRAFANA_SECRET = "leadgen-grafana-admin"
RULES_LABEL = {"leadgen.io/rules": "true"}


@dataclass(kw_only=True)
class MonitoringArgs:
    stack: str
    cluster_name: pulumi.Input[str]
    region: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    config: ObservabilityConfig
    k8s_provider: k8s.Provider
    depends_on: list = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)


def bucket_policy(bucket: str, kms_key_arn: str) -> str:
    """Read and write one bucket, through one key; nothing else in S3."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Objects", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": f"arn:aws:s3:::{bucket}/*"},
        {"Sid": "List", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"},
        {"Sid": "Key", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": kms_key_arn},
    ]})


def secrets_policy(secret_arns: list[str]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadObservabilitySecrets", "Effect": "Allow",
         "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
         "Resource": secret_arns}]})


class Monitoring(pulumi.ComponentResource):
    def __init__(self, name: str, args: MonitoringArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:monitoring:Monitoring", name, None, opts)
        self._name, self._args = name, args
        cfg = args.config
        self._k8s = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider, depends_on=args.depends_on)

        self.kms_key = aws.kms.Key(f"{name}-kms", description=f"{name} logs and traces",
                                   enable_key_rotation=True, deletion_window_in_days=30, tags=args.tags,
                                   opts=pulumi.ResourceOptions(parent=self))
        retention_days = lambda text: max(1, -(-_seconds(text) // 86400))  # noqa: E731 - round up
        loki_bucket = self._bucket("loki", retention_days(cfg.loki_retention))
        tempo_bucket = self._bucket("tempo", retention_days(cfg.trace_retention))
        loki_role = self._irsa("loki", "loki", loki_bucket)
        tempo_role = self._irsa("tempo", "tempo", tempo_bucket)
        secret_store = self._secret_store()
        self._external_secret(GRAFANA_SECRET, cfg.grafana_secret(args.stack),
                              {"admin-user": "admin-user", "admin-password": "admin-password"}, secret_store)
        self._external_secret(am.SECRET_NAME, cfg.alertmanager_secret(args.stack),
                              {k: k for k in (am.PAGERDUTY_KEY, am.SLACK_KEY, am.SMTP_KEY)}, secret_store)

        self.slo_rules = slo_rule_file(cfg.slos, cfg.runbook_base_url)
        self.platform_rules = platform_rule_file(PlatformAlertSettings(runbook_base_url=cfg.runbook_base_url))
        self.alertmanager_config = am.alertmanager_config(cfg.alerting)
        self.dashboards = all_dashboards()

        self.prometheus = self._release("kube-prometheus-stack", self._prometheus_values())
        crds_ready = pulumi.ResourceOptions.merge(self._k8s, pulumi.ResourceOptions(depends_on=[self.prometheus]))
        for rule_name, rules in (("leadgen-slos", self.slo_rules), ("leadgen-platform-alerts", self.platform_rules)):
            k8s.apiextensions.CustomResource(
                f"{name}-{rule_name}", api_version="monitoring.coreos.com/v1", kind="PrometheusRule",
                metadata={"name": rule_name, "namespace": NAMESPACE, "labels": RULES_LABEL},
                spec=rules, opts=crds_ready)
        for uid, board in self.dashboards.items():
            k8s.core.v1.ConfigMap(
                f"{name}-dashboard-{uid}",
                metadata={"name": f"dashboard-{uid}", "namespace": NAMESPACE,
                          "labels": {SIDECAR_LABEL: "1"}, "annotations": {"grafana_folder": FOLDER}},
                data={f"{uid}.json": json.dumps(board, indent=1, sort_keys=True)}, opts=self._k8s)

        self._release("loki", {
            "deploymentMode": "SingleBinary",
            "loki": {
                "auth_enabled": False,
                "commonConfig": {"replication_factor": 1},
                "schemaConfig": {"configs": [{"from": "2024-01-01", "store": "tsdb", "object_store": "s3",
                                              "schema": "v13", "index": {"prefix": "index_", "period": "24h"}}]},
                "storage": {"type": "s3", "bucketNames": {"chunks": loki_bucket, "ruler": loki_bucket, "admin": loki_bucket},
                            "s3": {"region": args.region, "sse": {"type": "SSE-KMS", "kms_key_id": self.kms_key.arn}}},
                # The runbook's 720 h; the compactor deletes, the bucket lifecycle is the backstop.
                "limits_config": {"retention_period": cfg.loki_retention},
                "compactor": {"retention_enabled": True, "delete_request_store": "s3"},
            },
            "serviceAccount": {"name": "loki", "annotations": {"eks.amazonaws.com/role-arn": loki_role.arn}},
            "singleBinary": {"replicas": 1},
            "read": {"replicas": 0}, "write": {"replicas": 0}, "backend": {"replicas": 0},
        })
        self._release("tempo", {
            "serviceAccount": {"name": "tempo", "annotations": {"eks.amazonaws.com/role-arn": tempo_role.arn}},
            "storage": {"trace": {"backend": "s3", "s3": {"bucket": tempo_bucket, "endpoint": pulumi.Output.concat("s3.", args.region, ".amazonaws.com"),
                                                           "sse": {"type": "SSE-KMS", "kms_key_id": self.kms_key.arn}}}},
            "compactor": {"config": {"compaction": {"block_retention": cfg.trace_retention}}},
            "traces": {"otlp": {"grpc": {"enabled": True}, "http": {"enabled": True}}},
        })
        self._release("otel-collector", {
            "mode": "deployment",
            "image": {"repository": "otel/opentelemetry-collector-contrib"},
            "config": {
                "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": "0.0.0.0:4317"}, "http": {"endpoint": "0.0.0.0:4318"}}}},
                "exporters": {"otlp/tempo": {"endpoint": "tempo-distributor.monitoring.svc:4317", "tls": {"insecure": True}}},
                "service": {"pipelines": {"traces": {"receivers": ["otlp"], "processors": ["memory_limiter", "batch"],
                                                      "exporters": ["otlp/tempo"]}}},
            },
        })
        # honorLabels keeps the pusher's job="pgbackup" instead of the scrape's own job label.
        self._release("pushgateway", {"serviceMonitor": {"enabled": True, "honorLabels": True},
                                      "persistentVolume": {"enabled": True, "size": "2Gi"}})

        self.loki_bucket = loki_bucket
        self.tempo_bucket = tempo_bucket
        self.register_outputs({"lokiBucket": loki_bucket, "tempoBucket": tempo_bucket,
                               "kmsKeyArn": self.kms_key.arn})

    # --- helpers ---------------------------------------------------------------------------
    def _prometheus_values(self) -> dict:
        cfg, a = self._args.config, self._args
        return {
            "prometheus": {"prometheusSpec": {
                "retention": cfg.prometheus_retention,
                # Alerts carry the cluster so Alertmanager groups by it.
                "externalLabels": {"cluster": a.cluster_name},
                "ruleSelectorNilUsesHelmValues": False, "ruleSelector": {},
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "storageSpec": {"volumeClaimTemplate": {"spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": f"{cfg.prometheus_storage_gb}Gi"}}}}},
            }},
            "alertmanager": {
                "config": self.alertmanager_config,
                # Mounted at /etc/alertmanager/secrets/<name>/, where the *_file fields point.
                "alertmanagerSpec": {"secrets": [am.SECRET_NAME]},
            },
            "grafana": {
                "admin": {"existingSecret": GRAFANA_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"},
                "sidecar": {"dashboards": {"enabled": True, "label": SIDECAR_LABEL, "labelValue": "1",
                                           "searchNamespace": NAMESPACE, "folderAnnotation": "grafana_folder",
                                           "provider": {"foldersFromFilesStructure": True}}},
                "additionalDataSources": [
                    {"name": "Loki", "type": "loki", "uid": "loki", "url": "http://loki-gateway.monitoring.svc"},
                    {"name": "Tempo", "type": "tempo", "uid": "tempo", "url": "http://tempo-query-frontend.monitoring.svc:3100"},
                ],
            },
        }

    def _release(self, key: str, values: dict) -> k8s.helm.v3.Release:
        return helm_release(self._name, key, chart=CHARTS[key], namespace=NAMESPACE, values=values,
                            opts=self._k8s)

    def _bucket(self, purpose: str, expire_days: int) -> str:
        return observability_bucket(self, f"{self._name}-{purpose}", kms_key_arn=self.kms_key.arn,
                                    expire_days=expire_days, tags=self._args.tags)

    def _irsa(self, purpose: str, service_account: str, bucket: str) -> IrsaRole:
        a = self._args
        return IrsaRole(f"{self._name}-{purpose}", IrsaRoleArgs(
            oidc_provider_arn=a.oidc_provider_arn, oidc_issuer=a.oidc_issuer, namespace=NAMESPACE,
            service_account=service_account,
            policy_json=self.kms_key.arn.apply(lambda arn: bucket_policy(bucket, arn)), tags=a.tags),
            opts=pulumi.ResourceOptions(parent=self))

    def _secret_store(self) -> str:
        """A namespaced SecretStore whose service account may read only the two secrets."""
        a, cfg = self._args, self._args.config
        eso = self._release("external-secrets", {"installCRDs": True})
        crd_opts = pulumi.ResourceOptions.merge(self._k8s, pulumi.ResourceOptions(depends_on=[eso]))
        self._eso_opts = crd_opts
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self)).account_id
        arns = pulumi.Output.all(a.region, account).apply(lambda v: secrets_policy([
            f"arn:aws:secretsmanager:{v[0]}:{v[1]}:secret:{cfg.grafana_secret(a.stack)}-*",
            f"arn:aws:secretsmanager:{v[0]}:{v[1]}:secret:{cfg.alertmanager_secret(a.stack)}-*"]))
        role = IrsaRole(f"{self._name}-secrets", IrsaRoleArgs(
            oidc_provider_arn=a.oidc_provider_arn, oidc_issuer=a.oidc_issuer, namespace=NAMESPACE,
            service_account="observability-secrets", policy_json=arns, tags=a.tags),
            opts=pulumi.ResourceOptions(parent=self))
        k8s.core.v1.ServiceAccount(
            f"{self._name}-secrets-sa",
            metadata={"name": "observability-secrets", "namespace": NAMESPACE,
                      "annotations": {"eks.amazonaws.com/role-arn": role.arn}},
            automount_service_account_token=False, opts=self._k8s)
        store = "aws-secrets-manager"
        k8s.apiextensions.CustomResource(
            f"{self._name}-secret-store", api_version="external-secrets.io/v1beta1", kind="SecretStore",
            metadata={"name": store, "namespace": NAMESPACE},
            spec={"provider": {"aws": {"service": "SecretsManager", "region": a.region, "auth": {
                "jwt": {"serviceAccountRef": {"name": "observability-secrets"}}}}}},
            opts=crd_opts)
        return store

    def _external_secret(self, name: str, remote: str, keys: dict[str, str], store: str) -> None:
        k8s.apiextensions.CustomResource(
            f"{self._name}-{name}", api_version="external-secrets.io/v1beta1", kind="ExternalSecret",
            metadata={"name": name, "namespace": NAMESPACE},
            spec={"refreshInterval": "1h",
                  "secretStoreRef": {"name": store, "kind": "SecretStore"},
                  "target": {"name": name, "creationPolicy": "Owner"},
                  "data": [{"secretKey": k, "remoteRef": {"key": remote, "property": prop}}
                           for k, prop in keys.items()]},
            opts=self._eso_opts)


def observability_bucket(owner: pulumi.Resource, name: str, *, kms_key_arn: pulumi.Input[str],
                         expire_days: int, tags: dict[str, str]) -> str:
    """A hardened bucket `name` under `owner`; returns its physical name (the same, and known)."""
    # Before the hardened bucket, the bucket was `<name>-bucket` under the owner and its parts hung
    # off the bucket itself; the aliases keep their state.
    old_bucket = owner.urn.apply(lambda u: child_urn(u, PARTS["bucket"], f"{name}-bucket"))
    previous = {**moved_parts(owner.urn, {"bucket": f"{name}-bucket"}),
                **moved_parts(old_bucket, {"public-access": f"{name}-public-access",
                                           "encryption": f"{name}-sse",
                                           "ownership": f"{name}-ownership",
                                           "lifecycle": f"{name}-lifecycle",
                                           "policy": f"{name}-tls-only"})}
    HardenedBucket(name, HardenedBucketArgs(
        bucket_name=name, kms_key_arn=kms_key_arn,
        # Retention is the application's job; expiring a day later keeps a missed compaction
        # cheap. Versioning keeps what the compactor deletes as noncurrent versions: a day.
        lifecycle_rules=[{"id": "expire", "status": "Enabled", "filter": {},
                          "expiration": {"days": expire_days + 1},
                          "noncurrent_version_expiration": {"noncurrent_days": 1},
                          "abort_incomplete_multipart_upload": {"days_after_initiation": 1}}],
        previous_urns=previous, tags=tags), opts=pulumi.ResourceOptions(parent=owner))
    return name


def _seconds(text: str) -> int:
    from leadgen.observability.durations import parse_duration
    return parse_duration(text)
