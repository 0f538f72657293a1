"""The observability stack: kube-prometheus-stack, Loki, Tempo, the OpenTelemetry Collector, the
Pushgateway and a PostgreSQL exporter, with the generated rules, routes and dashboards, the scrape
targets the SLOs read and the long-term store that keeps a year of them.

Tracing uses Tempo rather than Jaeger: Tempo stores traces in S3 on its own (Jaeger needs an
Elasticsearch or Cassandra cluster to run beside it), speaks Jaeger's and OTLP's protocols, and
Grafana shows its traces next to Loki's logs. Loki and Tempo each get one bucket, encrypted with
this component's KMS key, and an IRSA role limited to that bucket.

Secrets (Grafana's admin login, the receivers' keys, the exporter's database login) live in
Secrets Manager entries this component declares, encrypted with the same key; their values are
set out of band (README, "Prerequisites") and never pass through config or state. External
Secrets copies them into Kubernetes Secrets through a SecretStore whose role may read exactly
those entries, and every release that mounts one waits for its ExternalSecret to be Ready.

Order, as the engine sees it: everything waits for the namespace, the node groups and the
StorageClass its volumes use; the releases that create ServiceMonitors or PrometheusRules wait
for kube-prometheus-stack, which installs their CRDs.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.hardened_bucket import PARTS, HardenedBucket, HardenedBucketArgs, moved_parts
from components.helm import helm_release
from components.amp import LongTermMetrics, LongTermMetricsArgs
from components.heartbeat import Heartbeat, HeartbeatArgs
from components.irsa import IrsaRole, IrsaRoleArgs
from components.log_shipper import APP_ATTRIBUTE, LogShipper, LogShipperArgs
from components.slo_scraping import SloScraping, SloScrapingArgs
from leadgen import versions
from leadgen.flows import pod_labels, webhook_pods
from leadgen.config.observability import ObservabilityConfig
from leadgen.kms import KEY_DEFAULTS
from leadgen.naming import child_urn
from leadgen.observability import alertmanager as am
from leadgen.observability.catalog import Scrape, sources as scrape_sources
from leadgen.observability.dashboards import FOLDER, LOKI_UID, LONG_TERM_UID, SIDECAR_LABEL, all_dashboards
from leadgen.observability.platform_alerts import PlatformAlertSettings, platform_rule_file
from leadgen.observability.slo import SLO, remote_write_relabelings, slo_rule_file, slo_window_rule_file
from leadgen.workloads import Monitor

NAMESPACE = "monitoring"
# Release name to the pinned chart it installs.
CHARTS = {
    "kube-prometheus-stack": versions.KUBE_PROMETHEUS_STACK,
    "loki": versions.LOKI,
    "tempo": versions.TEMPO_DISTRIBUTED,
    "otel-collector": versions.OPENTELEMETRY_COLLECTOR,
    "pushgateway": versions.PROMETHEUS_PUSHGATEWAY,
    "postgres-exporter": versions.PROMETHEUS_POSTGRES_EXPORTER,
    "external-secrets": versions.EXTERNAL_SECRETS,
}
# EKS runs the control plane out of reach: no controller-manager, scheduler or etcd pods to
# scrape, and the chart's `absent(up{job=...})` rules for them page every hour, forever
# (prometheus-community/helm-charts#4106). EKS's kube-proxy add-on serves its metrics on
# 127.0.0.1:10249 only (kube-proxy's default; the add-on's config map is EKS's to overwrite), so a
# scrape would open `TargetDown` tickets that never close: its scrape and rules are off too, and
# a broken kube-proxy shows as the SLOs' burn. Scrape and rules go together in the chart's values.
EKS_COMPONENTS = {
    "kubeControllerManager": {"enabled": False},
    "kubeScheduler": {"enabled": False},
    "kubeEtcd": {"enabled": False},
    "kubeProxy": {"enabled": False},
    "defaultRules": {"rules": {"kubeControllerManager": False, "kubeSchedulerAlerting": False,
                               "kubeSchedulerRecording": False, "etcd": False, "kubeProxy": False}},
}
GRAFANA_SECRET = "leadgen-grafana-admin"
GRAFANA_DB_SECRET = "leadgen-grafana-database"
GRAFANA_DB = "grafana"
POSTGRES_SECRET = "leadgen-postgres-monitoring"
RULES_LABEL = {"leadgen.io/rules": "true"}
ESO_API = "external-secrets.io/v1"
# Service accounts the long-term store's roles trust.
PROMETHEUS_SA, GRAFANA_SA = "prometheus", "grafana"
# Alertmanager's: its IRSA role publishes the Watchdog heartbeat to SNS.
ALERTMANAGER_SA = "alertmanager"
# Loki's gateway: the chart's `<release>-gateway` Service on `gateway.service.port` (80). Grafana
# queries through it and the log shipper pushes OTLP to it (`/otlp/v1/logs`).
LOKI_URL = f"http://loki-gateway.{NAMESPACE}.svc:80"


def resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> dict:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu_limit, "memory": memory_limit}}


SMALL = resources("50m", "64Mi", "200m", "128Mi")


def memcached_resources(allocated_mb: int) -> dict:
    """memcached uses its allocation plus about a fifth for connections and bookkeeping."""
    mem = f"{-(-allocated_mb * 6 // 5)}Mi"
    return resources("100m", mem, "500m", mem)


@dataclass(kw_only=True)
class MonitoringArgs:
    stack: str
    cluster_name: pulumi.Input[str]
    region: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    config: ObservabilityConfig
    k8s_provider: k8s.Provider
    vpc_cidr: str
    # The default StorageClass every volume claim names (and the resource that declares it).
    storage_class: str
    database_address: pulumi.Input[str]
    database_port: pulumi.Input[int]
    database_name: pulumi.Input[str]
    # What the workloads map derives for this stack (leadgen/workloads.py): the ServiceMonitors
    # of every workload track, their scrape sources (watched by MetricsSourceDown), every SLO
    # (the workloads' own and observability.slos) and a dashboard row per workload.
    workload_monitors: Sequence[Monitor] = ()
    workload_scrapes: Mapping[str, Scrape] = field(default_factory=dict)
    slos: Sequence[SLO] = ()
    dashboard_rows: Mapping[str, Sequence[tuple[str, str, str]]] = field(default_factory=dict)
    cert_manager_namespace: str = "cert-manager"
    envoy_gateway_namespace: Optional[str] = None
    # Service -> `namespace/route` of the HTTPRoute that publishes it through Envoy Gateway: each
    # availability SLO of such a service gets an edge twin read from the proxies.
    public_routes: Mapping[str, str] = field(default_factory=dict)
    protected: bool = False
    # The namespace, the node groups and the StorageClass: nothing here can run before them.
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


def secrets_policy(secret_arns: list[str], kms_key_arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadObservabilitySecrets", "Effect": "Allow",
         "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
         "Resource": secret_arns},
        {"Sid": "DecryptThem", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": kms_key_arn}]})


class Monitoring(pulumi.ComponentResource):
    def __init__(self, name: str, args: MonitoringArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:monitoring:Monitoring", name, None, opts)
        self._name, self._args = name, args
        cfg = args.config
        self._k8s = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider, depends_on=args.depends_on)
        # Before any release: the charts' own objects already pass through their webhooks.
        self._k8s = pulumi.ResourceOptions.merge(
            self._k8s, pulumi.ResourceOptions(depends_on=self._webhook_ingress_policies()))

        self.kms_key = aws.kms.Key(f"{name}-kms", description=f"{name} logs, traces and secrets",
                                   **KEY_DEFAULTS, tags=args.tags,
                                   opts=pulumi.ResourceOptions(parent=self))
        retention_days = lambda text: max(1, -(-_seconds(text) // 86400))  # noqa: E731 - round up
        loki_bucket = self._bucket("loki", retention_days(cfg.loki_retention))
        tempo_bucket = self._bucket("tempo", retention_days(cfg.trace_retention))
        loki_role = self._irsa("loki", "loki", loki_bucket)
        tempo_role = self._irsa("tempo", "tempo", tempo_bucket)

        # Secrets Manager entries, declared here, filled out of band (never by config or state).
        self.secrets = {
            GRAFANA_SECRET: self._aws_secret("grafana-admin", cfg.grafana_secret(args.stack),
                                             "Grafana admin login: JSON {admin-user, admin-password}"),
            # Grafana's replicas share one database (sessions, users, annotations), on the RDS instance.
            GRAFANA_DB_SECRET: self._aws_secret("grafana-database", cfg.grafana_database_secret(args.stack),
                                                "Grafana's database login: JSON {GF_DATABASE_USER, GF_DATABASE_PASSWORD}"),
            am.SECRET_NAME: self._aws_secret("alertmanager-receivers", cfg.alertmanager_secret(args.stack),
                                             "Alertmanager receivers: JSON {" + ", ".join(
                                                 (*am.RECEIVER_KEYS, am.SMTP_USER_KEY)) + "}"),
            POSTGRES_SECRET: self._aws_secret("postgres-monitoring", cfg.postgres_monitoring_secret(args.stack),
                                              "postgres_exporter login (a pg_monitor role): JSON {username, password}"),
        }
        store = self._secret_store()
        synced = {
            GRAFANA_SECRET: self._external_secret(GRAFANA_SECRET, {"admin-user": "admin-user",
                                                                   "admin-password": "admin-password"}, store),
            GRAFANA_DB_SECRET: self._external_secret(GRAFANA_DB_SECRET, {
                k: k for k in ("GF_DATABASE_USER", "GF_DATABASE_PASSWORD")}, store),
            am.SECRET_NAME: self._external_secret(am.SECRET_NAME, {k: k for k in am.RECEIVER_KEYS}, store),
            POSTGRES_SECRET: self._external_secret(POSTGRES_SECRET, {"username": "username",
                                                                     "password": "password"}, store),
        }
        # The dead man's switch: Watchdog to an SNS topic whose silence pages through PagerDuty.
        self.heartbeat = Heartbeat(f"{name}-heartbeat", HeartbeatArgs(
            oidc_provider_arn=args.oidc_provider_arn, oidc_issuer=args.oidc_issuer, namespace=NAMESPACE,
            service_account=ALERTMANAGER_SA, tags=args.tags), opts=pulumi.ResourceOptions(parent=self))
        # Alertmanager's e-mail sender, verified in SES (the address confirms once; README).
        self.alert_sender = aws.sesv2.EmailIdentity(
            f"{name}-alert-sender", email_identity=cfg.alerting.email_from, tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self))
        # The whole Alertmanager configuration, with the SMTP user filled in from the receivers'
        # entry (Alertmanager reads the user from its config file only).
        self.alertmanager_config = pulumi.Output.all(self.heartbeat.topic.arn, args.region).apply(
            lambda v: am.alertmanager_config(cfg.alerting, am.HeartbeatTarget(topic_arn=v[0], region=v[1])))
        synced[am.CONFIG_SECRET] = self._external_secret(
            am.CONFIG_SECRET, {am.SMTP_USER_VAR: am.SMTP_USER_KEY}, store, remote=am.SECRET_NAME,
            template={"engineVersion": "v2",
                      "data": {am.CONFIG_KEY: self.alertmanager_config.apply(am.config_template)}})

        slos = tuple(args.slos)
        self.slo_rules = slo_rule_file(slos, cfg.runbook_base_url, edge_routes=args.public_routes)
        self.slo_window_rules = slo_window_rule_file(slos, cfg.runbook_base_url, edge_routes=args.public_routes)
        sources = scrape_sources(dict(args.workload_scrapes), envoy_gateway=bool(args.envoy_gateway_namespace))
        self.platform_rules = platform_rule_file(PlatformAlertSettings(
            runbook_base_url=cfg.runbook_base_url, sources=sources,
            suspect_severity="page" if args.protected else "ticket"))
        self.dashboards = all_dashboards(slos, workload_rows=args.dashboard_rows)

        self.long_term = LongTermMetrics(f"{name}-amp", LongTermMetricsArgs(
            region=args.region, oidc_provider_arn=args.oidc_provider_arn, oidc_issuer=args.oidc_issuer,
            retention_days=cfg.long_term_retention_days, window_rules=self.slo_window_rules,
            namespace=NAMESPACE, prometheus_service_account=PROMETHEUS_SA, grafana_service_account=GRAFANA_SA,
            ticket_emails=tuple(cfg.alerting.email_to), tags=args.tags), opts=pulumi.ResourceOptions(parent=self))

        self.prometheus = self._release("kube-prometheus-stack", self._prometheus_values(),
                                        after=[synced[GRAFANA_SECRET], synced[GRAFANA_DB_SECRET], synced[am.SECRET_NAME],
                                               synced[am.CONFIG_SECRET]])
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
        self.scraping = SloScraping(f"{name}-scrape", SloScrapingArgs(
            namespace=NAMESPACE, workloads=list(args.workload_monitors),
            cert_manager_namespace=args.cert_manager_namespace,
            envoy_gateway_namespace=args.envoy_gateway_namespace, depends_on=[self.prometheus]),
            opts=pulumi.ResourceOptions(parent=self, providers={"kubernetes": args.k8s_provider}))

        self._release("loki", self._loki_values(loki_bucket, loki_role))
        # Every pod's logs, from every node, into Loki; like every release it waits for the
        # namespace and the nodes, and its ServiceMonitor for the CRDs.
        self.log_shipper = LogShipper(f"{name}-logs", LogShipperArgs(
            namespace=NAMESPACE, loki_otlp_endpoint=f"{LOKI_URL}/otlp",
            depends_on=[*args.depends_on, self.prometheus]),
            opts=pulumi.ResourceOptions(parent=self, providers={"kubernetes": args.k8s_provider}))
        self._release("tempo", self._tempo_values(tempo_bucket, tempo_role))
        self._release("otel-collector", self._collector_values())
        # honorLabels keeps the pusher's job="pgbackup" instead of the scrape's own job label.
        self._release("pushgateway", {
            "serviceMonitor": {"enabled": True, "honorLabels": True},
            "persistentVolume": {"enabled": True, "size": "2Gi", "storageClass": args.storage_class},
            "resources": SMALL,
        }, after=[self.prometheus])
        self._release("postgres-exporter", self._postgres_exporter_values(),
                      after=[self.prometheus, synced[POSTGRES_SECRET]])
        self._egress_policies()

        self.loki_bucket = loki_bucket
        self.tempo_bucket = tempo_bucket
        self.amp_query_url = self.long_term.query_url
        self.amp_query_policy_arn = self.long_term.query_policy.arn
        self.register_outputs({"lokiBucket": loki_bucket, "tempoBucket": tempo_bucket,
                               "kmsKeyArn": self.kms_key.arn, "ampQueryUrl": self.amp_query_url})

    # --- values ----------------------------------------------------------------------------
    def _volume(self, size: str) -> dict:
        return {"volumeClaimTemplate": {"spec": {
            "storageClassName": self._args.storage_class, "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": size}}}}}

    def _prometheus_values(self) -> dict:
        cfg, a = self._args.config, self._args
        replicas = cfg.replicas
        return {
            "prometheus": {
                "serviceAccount": {"create": True, "name": PROMETHEUS_SA, "annotations": {
                    "eks.amazonaws.com/role-arn": self.long_term.writer_role.arn}},
                "prometheusSpec": {
                    "replicas": replicas,
                    # The long-term store de-duplicates an HA pair by `cluster` and `__replica__`.
                    "replicaExternalLabelName": "__replica__",
                    "retention": cfg.prometheus_retention,
                    # Alerts carry the cluster so Alertmanager groups by it.
                    "externalLabels": {"cluster": a.cluster_name},
                    "ruleSelectorNilUsesHelmValues": False, "ruleSelector": {},
                    "serviceMonitorSelectorNilUsesHelmValues": False,
                    "podMonitorSelectorNilUsesHelmValues": False,
                    "resources": resources("500m", "2Gi", "2", "4Gi"),
                    "storageSpec": self._volume(f"{cfg.prometheus_storage_gb}Gi"),
                    "remoteWrite": [{
                        "url": self.long_term.remote_write_url,
                        "sigv4": {"region": a.region},
                        # The SLO recordings, and the raw counters the store counts the window from.
                        "writeRelabelConfigs": remote_write_relabelings(tuple(self._args.slos),
                                                                   self._args.public_routes),
                    }],
                },
            },
            "alertmanager": {
                "serviceAccount": {"create": True, "name": ALERTMANAGER_SA, "annotations": {
                    "eks.amazonaws.com/role-arn": self.heartbeat.role.arn}},
                "alertmanagerSpec": {
                    # The configuration comes whole from the Secret External Secrets renders.
                    "useExistingSecret": True, "configSecret": am.CONFIG_SECRET,
                    # Two or more replicas form a cluster (the operator wires the peers); silences
                    # and the notification log live on each replica's volume.
                    "replicas": replicas,
                    # Mounted at /etc/alertmanager/secrets/<name>/, where the *_file fields point.
                    "secrets": [am.SECRET_NAME],
                    "storage": self._volume("2Gi"),
                    "resources": resources("50m", "128Mi", "200m", "256Mi"),
                },
            },
            "grafana": {
                "replicas": replicas,
                "resources": resources("100m", "256Mi", "500m", "512Mi"),
                "serviceAccount": {"create": True, "name": GRAFANA_SA, "annotations": {
                    "eks.amazonaws.com/role-arn": self.long_term.reader_role.arn}},
                "admin": {"existingSecret": GRAFANA_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"},
                # GF_DATABASE_USER and GF_DATABASE_PASSWORD, from Secrets Manager.
                "envFromSecret": GRAFANA_DB_SECRET,
                "grafana.ini": {
                    # SigV4 for the long-term store's data source, signed with the pod's IRSA role.
                    "auth": {"sigv4_auth_enabled": True}, "aws": {"allowed_auth_providers": "default"},
                    # Replicas behind one Service must share sessions and users: a database each
                    # (the default SQLite) logs users out whenever the next request lands elsewhere.
                    "database": {"type": "postgres", "name": GRAFANA_DB, "ssl_mode": "require",
                                 "host": pulumi.Output.concat(a.database_address, ":",
                                                              pulumi.Output.from_input(a.database_port).apply(str))},
                },
                "sidecar": {"resources": SMALL,
                            "dashboards": {"enabled": True, "label": SIDECAR_LABEL, "labelValue": "1",
                                           "searchNamespace": NAMESPACE, "folderAnnotation": "grafana_folder",
                                           "provider": {"foldersFromFilesStructure": True}}},
                "additionalDataSources": [
                    {"name": "Loki", "type": "loki", "uid": LOKI_UID, "url": LOKI_URL},
                    {"name": "Tempo", "type": "tempo", "uid": "tempo", "url": "http://tempo-query-frontend.monitoring.svc:3100"},
                    {"name": "Long-term (AMP)", "type": "prometheus", "uid": LONG_TERM_UID,
                     "url": self.long_term.query_url,
                     "jsonData": {"httpMethod": "POST", "sigV4Auth": True, "sigV4AuthType": "default",
                                  "sigV4Region": a.region}},
                ],
            },
            "prometheusOperator": {
                "resources": resources("100m", "128Mi", "500m", "256Mi"),
                # The sidecar beside every Prometheus and Alertmanager pod, and the certificate job.
                "prometheusConfigReloader": {"resources": SMALL},
                "admissionWebhooks": {"patch": {"resources": SMALL}},
            },
            **EKS_COMPONENTS,
            "kube-state-metrics": {"resources": resources("50m", "128Mi", "200m", "256Mi")},
            "prometheus-node-exporter": {"resources": SMALL},
        }

    def _loki_values(self, bucket: pulumi.Input[str], role: IrsaRole) -> dict:
        cfg, a = self._args.config, self._args
        # The chart's production guidance: three replicas, each write on three of them.
        replicas = 3 if cfg.replicas > 1 else 1
        return {
            "deploymentMode": "Monolithic",
            "loki": {
                "auth_enabled": False,
                "commonConfig": {"replication_factor": replicas},
                "schemaConfig": {"configs": [{"from": "2024-01-01", "store": "tsdb", "object_store": "s3",
                                              "schema": "v13", "index": {"prefix": "index_", "period": "24h"}}]},
                "storage": {"type": "s3", "bucketNames": {"chunks": bucket, "ruler": bucket, "admin": bucket},
                            "s3": {"region": a.region, "sse": {"type": "SSE-KMS", "kms_key_id": self.kms_key.arn}}},
                # The runbook's 720 h; the compactor deletes, the bucket lifecycle is the backstop.
                # OTLP resource attributes Loki indexes: its defaults (namespace, pod, container,
                # service) plus the shipper's `app`, which dashboards select streams by.
                "limits_config": {"retention_period": cfg.loki_retention, "otlp_config": {"resource_attributes": {
                    "attributes_config": [{"action": "index_label", "attributes": [APP_ATTRIBUTE]}]}}},
                "compactor": {"retention_enabled": True, "delete_request_store": "s3"},
            },
            "serviceAccount": {"name": "loki", "annotations": {"eks.amazonaws.com/role-arn": role.arn}},
            "singleBinary": {"replicas": replicas, "resources": resources("250m", "512Mi", "1", "2Gi"),
                             "persistence": {"enabled": True, "size": "10Gi", "storageClass": a.storage_class}},
            "read": {"replicas": 0}, "write": {"replicas": 0}, "backend": {"replicas": 0},
            # The chart sizes these for large clusters (8 GiB chunks cache); they must fit this one's nodes.
            "chunksCache": {"allocatedMemory": cfg.loki_chunks_cache_mb,
                            "resources": memcached_resources(cfg.loki_chunks_cache_mb)},
            "resultsCache": {"allocatedMemory": cfg.loki_results_cache_mb,
                             "resources": memcached_resources(cfg.loki_results_cache_mb)},
            "memcachedExporter": {"resources": SMALL},
            "gateway": {"replicas": min(cfg.replicas, 2), "resources": resources("50m", "64Mi", "200m", "256Mi")},
            "lokiCanary": {"resources": SMALL},
            "sidecar": {"resources": SMALL},
        }

    def _tempo_values(self, bucket: pulumi.Input[str], role: IrsaRole) -> dict:
        cfg, a = self._args.config, self._args
        ha = cfg.replicas > 1
        # The chart's production layout: three ingesters, each trace written to three, the WAL on a volume.
        ingesters = 3 if ha else 1
        component = lambda replicas, res: {"replicas": replicas, "resources": res}  # noqa: E731
        medium = resources("100m", "256Mi", "500m", "1Gi")
        return {
            "serviceAccount": {"name": "tempo", "annotations": {"eks.amazonaws.com/role-arn": role.arn}},
            "storage": {"trace": {"backend": "s3", "s3": {"bucket": bucket, "endpoint": pulumi.Output.concat("s3.", a.region, ".amazonaws.com"),
                                                           "sse": {"type": "SSE-KMS", "kms_key_id": self.kms_key.arn}}}},
            "ingester": {"replicas": ingesters, "resources": resources("250m", "512Mi", "1", "2Gi"),
                         "config": {"replication_factor": ingesters},
                         "persistence": {"enabled": True, "size": "10Gi", "storageClass": a.storage_class}},
            "distributor": component(2 if ha else 1, medium),
            "querier": component(2 if ha else 1, medium),
            "queryFrontend": component(2 if ha else 1, medium),
            "compactor": {**component(1, medium),
                          "config": {"compaction": {"block_retention": cfg.trace_retention}}},
            "memcached": {"resources": resources("100m", "128Mi", "500m", "256Mi")},
            "traces": {"otlp": {"grpc": {"enabled": True}, "http": {"enabled": True}}},
        }

    def _collector_values(self) -> dict:
        cfg = self._args.config
        return {
            "mode": "deployment",
            "replicaCount": cfg.replicas,
            "podDisruptionBudget": {"enabled": cfg.replicas > 1, "minAvailable": 1},
            "image": {"repository": "otel/opentelemetry-collector-contrib"},
            "resources": resources("100m", "256Mi", "500m", "512Mi"),
            "config": {
                "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": "0.0.0.0:4317"}, "http": {"endpoint": "0.0.0.0:4318"}}}},
                "exporters": {"otlp/tempo": {"endpoint": "tempo-distributor.monitoring.svc:4317", "tls": {"insecure": True}}},
                "service": {"pipelines": {"traces": {"receivers": ["otlp"], "processors": ["memory_limiter", "batch"],
                                                      "exporters": ["otlp/tempo"]}}},
            },
        }

    def _postgres_exporter_values(self) -> dict:
        a = self._args
        secret = lambda key: {"name": POSTGRES_SECRET, "key": key}  # noqa: E731
        return {
            # The Service, and so the scrape job, is `postgres-exporter` (catalog.SCRAPES).
            "fullnameOverride": "postgres-exporter",
            "config": {"datasource": {
                "host": a.database_address, "port": pulumi.Output.from_input(a.database_port).apply(str),
                "database": a.database_name, "sslmode": "require",
                # A login with pg_monitor only (README, "Prerequisites"), never the master user.
                "userSecret": secret("username"), "passwordSecret": secret("password")}},
            "serviceMonitor": {"enabled": True},
            "resources": SMALL,
        }

    # --- helpers ---------------------------------------------------------------------------
    def _release(self, key: str, values: dict, after: Sequence[pulumi.Resource] = ()) -> k8s.helm.v3.Release:
        opts = self._k8s if not after else pulumi.ResourceOptions.merge(
            self._k8s, pulumi.ResourceOptions(depends_on=list(after)))
        return helm_release(self._name, key, chart=CHARTS[key], namespace=NAMESPACE, values=values, opts=opts)

    def _bucket(self, purpose: str, expire_days: int) -> pulumi.Output[str]:
        return observability_bucket(self, f"{self._name}-{purpose}", kms_key_arn=self.kms_key.arn,
                                    expire_days=expire_days, tags=self._args.tags)

    def _irsa(self, purpose: str, service_account: str, bucket: pulumi.Input[str]) -> IrsaRole:
        a = self._args
        return IrsaRole(f"{self._name}-{purpose}", IrsaRoleArgs(
            oidc_provider_arn=a.oidc_provider_arn, oidc_issuer=a.oidc_issuer, namespace=NAMESPACE,
            service_account=service_account,
            policy_json=pulumi.Output.all(bucket, self.kms_key.arn).apply(lambda v: bucket_policy(v[0], v[1])),
            tags=a.tags),
            opts=pulumi.ResourceOptions(parent=self))

    def _aws_secret(self, purpose: str, secret_name: str, content: str) -> aws.secretsmanager.Secret:
        # No SecretVersion: the value is a prerequisite, set with `aws secretsmanager put-secret-value`.
        return aws.secretsmanager.Secret(
            f"{self._name}-{purpose}", name=secret_name, kms_key_id=self.kms_key.arn,
            description=f"{content}; set out of band, read by External Secrets",
            recovery_window_in_days=7, tags=self._args.tags, opts=pulumi.ResourceOptions(parent=self))

    def _secret_store(self) -> str:
        """A namespaced SecretStore whose service account may read only the declared secrets."""
        a = self._args
        eso = self._release("external-secrets", {
            "installCRDs": True,
            "resources": SMALL,
            "webhook": {"resources": SMALL},
            "certController": {"resources": SMALL},
        })
        # The workloads' SecretStores and ExternalSecrets wait for it too (domains/workloads.py).
        self.external_secrets = eso
        crd_opts = pulumi.ResourceOptions.merge(self._k8s, pulumi.ResourceOptions(depends_on=[eso]))
        policy = pulumi.Output.all(self.kms_key.arn, *(s.arn for s in self.secrets.values())).apply(
            lambda v: secrets_policy(sorted(v[1:]), v[0]))
        role = IrsaRole(f"{self._name}-secrets", IrsaRoleArgs(
            oidc_provider_arn=a.oidc_provider_arn, oidc_issuer=a.oidc_issuer, namespace=NAMESPACE,
            service_account="observability-secrets", policy_json=policy, tags=a.tags),
            opts=pulumi.ResourceOptions(parent=self))
        account = k8s.core.v1.ServiceAccount(
            f"{self._name}-secrets-sa",
            metadata={"name": "observability-secrets", "namespace": NAMESPACE,
                      "annotations": {"eks.amazonaws.com/role-arn": role.arn}},
            automount_service_account_token=False, opts=self._k8s)
        store = "aws-secrets-manager"
        self._store = k8s.apiextensions.CustomResource(
            f"{self._name}-secret-store", api_version=ESO_API, kind="SecretStore",
            metadata={"name": store, "namespace": NAMESPACE},
            spec={"provider": {"aws": {"service": "SecretsManager", "region": a.region, "auth": {
                "jwt": {"serviceAccountRef": {"name": "observability-secrets"}}}}}},
            opts=pulumi.ResourceOptions.merge(crd_opts, pulumi.ResourceOptions(depends_on=[eso, account])))
        return store

    def _external_secret(self, name: str, keys: dict[str, str], store: str, *, remote: Optional[str] = None,
                         template: Optional[dict] = None) -> k8s.apiextensions.CustomResource:
        """Secret `name` from the Secrets Manager entry declared for `remote` (default: `name`);
        `keys` maps the Secret's keys (or the template's variables) to the entry's JSON fields."""
        entry = self.secrets[remote or name].name
        target = {"name": name, "creationPolicy": "Owner", **({"template": template} if template else {})}
        return k8s.apiextensions.CustomResource(
            f"{self._name}-{name}", api_version=ESO_API, kind="ExternalSecret",
            # The engine waits until the Secret is synced, so a release that mounts it never
            # starts against a missing Secret (an unset Secrets Manager value stops the update here).
            metadata={"name": name, "namespace": NAMESPACE,
                      "annotations": {"pulumi.com/waitFor": "condition=Ready"}},
            spec={"refreshInterval": "1h",
                  "secretStoreRef": {"name": store, "kind": "SecretStore"},
                  "target": target,
                  "data": [{"secretKey": k, "remoteRef": {"key": entry, "property": prop}}
                           for k, prop in keys.items()]},
            opts=pulumi.ResourceOptions.merge(self._k8s, pulumi.ResourceOptions(depends_on=[self._store])))

    def _webhook_ingress_policies(self) -> list[k8s.networking.v1.NetworkPolicy]:
        """The API server's calls to the admission webhooks served here (failurePolicy Fail), which
        the namespace's default-deny would time out (aws/amazon-vpc-cni-k8s#2967): from the
        control plane's ENIs in the VPC, to the serving pods only, on the container port behind the
        Service's 443."""
        policies = []
        for pod, hook, release in webhook_pods({r: CHARTS[r].name for r in CHARTS}):
            name = f"allow-api-server-to-{release}-{pod.component}"
            policies.append(k8s.networking.v1.NetworkPolicy(
                f"{self._name}-{name}", metadata={"name": name, "namespace": NAMESPACE},
                spec={"podSelector": {"matchLabels": pod_labels(pod, release)}, "policyTypes": ["Ingress"],
                      "ingress": [{"from": [{"ipBlock": {"cidr": self._args.vpc_cidr}}],
                                   "ports": [{"protocol": "TCP", "port": hook.port}]}]},
                opts=self._k8s))
        return policies

    def _egress_policies(self) -> None:
        """What the namespace's default-deny would otherwise block: the exporter's and Grafana's
        connections to RDS inside the VPC, and Alertmanager's e-mail to the SMTP relay's port
        outside it."""
        a = self._args
        smtp_port = int(a.config.alerting.smtp_smarthost.rpartition(":")[2])
        policies = {
            "allow-postgres-exporter-egress": ({"app.kubernetes.io/name": "prometheus-postgres-exporter"},
                                               {"ipBlock": {"cidr": a.vpc_cidr}}, a.database_port),
            "allow-grafana-database-egress": ({"app.kubernetes.io/name": "grafana"},
                                              {"ipBlock": {"cidr": a.vpc_cidr}}, a.database_port),
            "allow-alertmanager-smtp-egress": ({"app.kubernetes.io/name": "alertmanager"},
                                               {"ipBlock": {"cidr": "0.0.0.0/0", "except": [a.vpc_cidr]}}, smtp_port),
        }
        for policy, (pods, peer, port) in policies.items():
            k8s.networking.v1.NetworkPolicy(
                f"{self._name}-{policy}", metadata={"name": policy, "namespace": NAMESPACE},
                spec={"podSelector": {"matchLabels": pods}, "policyTypes": ["Egress"],
                      "egress": [{"to": [peer], "ports": [{"protocol": "TCP", "port": port}]}]},
                opts=self._k8s)


def observability_bucket(owner: pulumi.Resource, name: str, *, kms_key_arn: pulumi.Input[str],
                         expire_days: int, tags: dict[str, str]) -> pulumi.Output[str]:
    """A hardened bucket `name` under `owner`, physically `<name>-<account id>`; returns that name.

    Bucket names are global across every AWS account: a name without the account can be taken
    first by anyone (squatted), and the stack then fails or, worse, writes logs to their bucket.
    The account suffix is what the backup buckets carry too."""
    # Before the hardened bucket, the bucket was `<name>-bucket` under the owner and its parts hung
    # off the bucket itself; the aliases keep their state.
    old_bucket = owner.urn.apply(lambda u: child_urn(u, PARTS["bucket"], f"{name}-bucket"))
    previous = {**moved_parts(owner.urn, {"bucket": f"{name}-bucket"}),
                **moved_parts(old_bucket, {"public-access": f"{name}-public-access",
                                           "encryption": f"{name}-sse",
                                           "ownership": f"{name}-ownership",
                                           "lifecycle": f"{name}-lifecycle",
                                           "policy": f"{name}-tls-only"})}
    physical = aws.get_caller_identity_output().account_id.apply(
        lambda account: f"{name}-{account}")
    HardenedBucket(name, HardenedBucketArgs(
        bucket_name=physical, kms_key_arn=kms_key_arn,
        # Retention is the application's job; expiring a day later keeps a missed compaction
        # cheap. Versioning keeps what the compactor deletes as noncurrent versions: a day.
        lifecycle_rules=[{"id": "expire", "status": "Enabled", "filter": {},
                          "expiration": {"days": expire_days + 1},
                          "noncurrent_version_expiration": {"noncurrent_days": 1},
                          "abort_incomplete_multipart_upload": {"days_after_initiation": 1}}],
        previous_urns=previous, tags=tags), opts=pulumi.ResourceOptions(parent=owner))
    return physical


def _seconds(text: str) -> int:
    from leadgen.observability.durations import parse_duration
    return parse_duration(text)
