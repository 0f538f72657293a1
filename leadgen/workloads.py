"""Everything a workload gets, derived from its `leadgen:workloads.<name>` entry, in one place.

Each derivation below is a pure function of the workload's config (and, for wiring, of plain
facts about the site: its VPC, its database's port). The program (domains/workloads.py), the
observability stack, the scrape catalog, `platformctl dr check` and `platformctl cost` all call
them through `derive(piece, ...)`, so adding a workload to a stack file gives it every piece and
a piece dropped here is dropped everywhere at once, where the completeness test sees it
(tests/foundation/test_workloads_as_data.py).

What a workload's container may rely on (its environment, ports and the metrics the SLOs read)
is written down in docs/app-contract.md; the names there are the ones built here.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Mapping, Optional

from leadgen.config.validate import cpu_cores
from leadgen.config.workloads import SLO_WINDOW, WorkloadConfig
from leadgen.observability.catalog import Scrape
from leadgen.observability.slo import SLO

NAMESPACE = "production"
PART_OF = "leadgen"
HTTP_PORT_NAME, METRICS_PORT_NAME = "http", "metrics"
METRICS_PATH = "/metrics"
# The collector chart's Service (`<release>-opentelemetry-collector`) and its pods' labels; gRPC
# on 4317, and the protocol said out loud: SDKs default to http/protobuf, which the gRPC port refuses.
MONITORING_NAMESPACE = "monitoring"
OTLP_HOST = f"otel-collector-opentelemetry-collector.{MONITORING_NAMESPACE}.svc"
OTLP_PORT, OTLP_PROTOCOL = 4317, "grpc"
OTLP_PROTOCOLS = {4317: "grpc", 4318: "http/protobuf"}
COLLECTOR_PODS = {"app.kubernetes.io/name": "opentelemetry-collector", "app.kubernetes.io/instance": "otel-collector"}
REDIS_PORT = 6379
HTTPS = 443
# The Secret an ExternalSecret fills with the Redis AUTH token, and its key.
REDIS_TOKEN_KEY = "token"
# The SecretStore each workload reads its own Secrets Manager entries through, as its own role.
SECRET_STORE = "{name}-aws"
# The pieces every workload gets; `uses` adds its own (`secrets` for Redis).
PIECES = ("deployment", "service", "autoscaler", "disruption_budget", "service_account", "iam_role",
          "network_policy", "service_monitor", "image_repository", "slos", "absent_alert", "dashboard",
          "dr_capacity", "cost")


# --- labels and names --------------------------------------------------------------------------

def labels(app: str, track: str = "stable") -> dict[str, str]:
    """The labels a workload's pods, Service and scrape target carry; `app` is what the runbook
    selects on (`kubectl logs -l app=api`) and every track of a service shares it."""
    return {"app": app, "track": track, "app.kubernetes.io/name": app, "app.kubernetes.io/part-of": PART_OF}


def selector(app: str, track: str = "stable") -> dict[str, str]:
    return {"app": app, "track": track}


def db_user(w: WorkloadConfig) -> str:
    """The PostgreSQL role a workload logs in as with IAM authentication (GRANT rds_iam TO it)."""
    return w.name.replace("-", "_")


def bucket_env(bucket: str) -> str:
    return "S3_BUCKET_" + re.sub(r"[^A-Z0-9]", "_", bucket.upper())


def redis_secret(w: WorkloadConfig) -> str:
    return f"{w.name}-redis"


# --- site facts the wiring needs -----------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Site:
    """Where the workloads run: plain values known before any resource exists."""

    vpc_cidr: str
    # The subnets the database and Redis live in: egress to their ports goes there only.
    data_subnets: tuple[str, ...]
    db_port: int = 5432
    redis_port: int = REDIS_PORT
    otlp_port: int = OTLP_PORT


@dataclass(frozen=True, kw_only=True)
class Endpoints:
    """The data plane's addresses; values may be the program's outputs (pulumi Inputs)."""

    db_host: Any = None
    db_port: Any = None
    db_name: Any = None
    redis_host: Any = None
    redis_port: Any = None
    region: Any = None


@dataclass(frozen=True, kw_only=True)
class Grants:
    """ARNs and ids the IAM policy names, resolved (plain strings)."""

    region: str
    account: str
    db_resource_id: str = ""
    redis_secret_arn: str = ""
    redis_kms_key_arn: str = ""


# --- derivations ---------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class DeploymentSpec:
    name: str
    port: int
    metrics_port: int
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str
    env: dict[str, Any] = field(default_factory=dict)
    # variable -> (Secret, key): credentials, never values
    secret_env: dict[str, tuple[str, str]] = field(default_factory=dict)


def otel_env(service: str, track: str = "stable", port: int = OTLP_PORT) -> dict[str, str]:
    """What an OpenTelemetry SDK reads to export traces and metrics to the collector."""
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{OTLP_HOST}:{port}",
            "OTEL_EXPORTER_OTLP_PROTOCOL": OTLP_PROTOCOLS[port],
            "OTEL_SERVICE_NAME": service, "OTEL_RESOURCE_ATTRIBUTES": f"deployment.track={track}"}


def deployment(w: WorkloadConfig, endpoints: Endpoints, track: str = "stable") -> DeploymentSpec:
    env: dict[str, Any] = {"PORT": str(w.port), "METRICS_PORT": str(w.metrics_port),
                           # the OpenTelemetry Prometheus exporter's own variable for the same port
                           "OTEL_EXPORTER_PROMETHEUS_PORT": str(w.metrics_port),
                           **otel_env(w.name, track)}
    secret_env: dict[str, tuple[str, str]] = {}
    if w.uses_postgres or w.buckets:
        env["AWS_REGION"] = endpoints.region
    if w.uses_postgres:
        # libpq's own variables; the password is an IAM token the app signs with its role
        # (`rds generate-db-auth-token`), valid 15 minutes, so nothing is stored.
        env.update({"PGHOST": endpoints.db_host, "PGPORT": endpoints.db_port, "PGDATABASE": endpoints.db_name,
                    "PGUSER": db_user(w), "PGSSLMODE": "require", "DB_IAM_AUTH": "true"})
    if w.uses_redis:
        env.update({"REDIS_HOST": endpoints.redis_host, "REDIS_PORT": endpoints.redis_port, "REDIS_TLS": "true"})
        secret_env["REDIS_AUTH_TOKEN"] = (redis_secret(w), REDIS_TOKEN_KEY)
    for bucket in w.buckets:
        env[bucket_env(bucket)] = bucket
    return DeploymentSpec(name=w.name, port=w.port, metrics_port=w.metrics_port, cpu_request=w.cpu_request,
                          memory_request=w.memory_request, cpu_limit=w.cpu_limit, memory_limit=w.memory_limit,
                          env=env, secret_env=secret_env)


def service(w: WorkloadConfig) -> list[dict]:
    """The Service's ports: the app's, and /metrics on its own port (never routed publicly)."""
    return [{"name": HTTP_PORT_NAME, "port": w.port, "targetPort": HTTP_PORT_NAME, "protocol": "TCP"},
            {"name": METRICS_PORT_NAME, "port": w.metrics_port, "targetPort": METRICS_PORT_NAME, "protocol": "TCP"}]


def autoscaler(w: WorkloadConfig) -> Optional[dict]:
    return {"min_replicas": w.min_replicas, "max_replicas": w.max_replicas, "target_cpu": w.target_cpu}


def disruption_budget(w: WorkloadConfig) -> Optional[dict]:
    # One pod at a time may be evicted: node drains and upgrades never take the service down.
    return {"maxUnavailable": 1}


def service_account(w: WorkloadConfig) -> Optional[str]:
    return w.name


def iam_role(w: WorkloadConfig) -> Optional[str]:
    """The IRSA role's service account (`system:serviceaccount:production:<name>`)."""
    return w.name


def iam_policy(w: WorkloadConfig, g: Grants) -> Optional[str]:
    """Only what the workload uses: `rds-db:connect` as its own database user, its buckets' objects,
    the Redis AUTH token it reads through External Secrets, and the keys those are encrypted with."""
    statements: list[dict] = []
    if w.uses_postgres:
        statements.append({"Sid": "ConnectAsItsDatabaseUser", "Effect": "Allow", "Action": "rds-db:connect",
                           "Resource": f"arn:aws:rds-db:{g.region}:{g.account}:dbuser:{g.db_resource_id}/{db_user(w)}"})
    if w.uses_redis:
        statements.append({"Sid": "ReadRedisAuthToken", "Effect": "Allow",
                           "Action": "secretsmanager:GetSecretValue", "Resource": g.redis_secret_arn})
        statements.append({"Sid": "DecryptRedisAuthToken", "Effect": "Allow", "Action": "kms:Decrypt",
                           "Resource": g.redis_kms_key_arn,
                           "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{g.region}.amazonaws.com"}}})
    if w.buckets:
        arns = [f"arn:aws:s3:::{b}" for b in w.buckets]
        statements.append({"Sid": "ItsBucketsObjects", "Effect": "Allow",
                           "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                           "Resource": [f"{a}/*" for a in arns]})
        statements.append({"Sid": "ListItsBuckets", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": arns})
        # The buckets' SSE-KMS keys, whichever they are, only as S3 uses them for these buckets.
        statements.append({"Sid": "ItsBucketsKeysThroughS3", "Effect": "Allow",
                           "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                           "Resource": f"arn:aws:kms:{g.region}:{g.account}:key/*",
                           "Condition": {"StringEquals": {"kms:ViaService": f"s3.{g.region}.amazonaws.com"},
                                         "ForAnyValue:StringEquals": {"kms:EncryptionContext:aws:s3:arn": arns}}})
    if not statements:
        return None
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _tcp(*ports: int) -> list[dict]:
    return [{"protocol": "TCP", "port": p} for p in ports]


def network_policy(w: WorkloadConfig, site: Site) -> Optional[dict]:
    """Its pods' egress, exactly: the collector, then per use the database's and Redis' ports in
    the data subnets, HTTPS to the VPC's interface endpoints (STS for its role) and to S3 through
    the gateway endpoint. Ingress: Prometheus on the metrics port. DNS and the namespace's own
    pods come from the namespace's policies."""
    # The collector's OTLP port in the monitoring namespace (its pods' labels are the chart's to change).
    egress = [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": MONITORING_NAMESPACE}}}],
               "ports": _tcp(site.otlp_port)}]
    data = [{"ipBlock": {"cidr": c}} for c in site.data_subnets]
    if w.uses_postgres:
        egress.append({"to": data, "ports": _tcp(site.db_port)})
    if w.uses_redis:
        egress.append({"to": data, "ports": _tcp(site.redis_port)})
    if w.uses_postgres or w.buckets:
        # STS (AssumeRoleWithWebIdentity) answers on an interface endpoint inside the VPC.
        egress.append({"to": [{"ipBlock": {"cidr": site.vpc_cidr}}], "ports": _tcp(HTTPS)})
    if w.buckets:
        # The S3 gateway endpoint routes S3's public addresses; NetworkPolicy cannot name a prefix list.
        egress.append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [site.vpc_cidr]}}], "ports": _tcp(HTTPS)})
    return {
        "podSelector": {"matchLabels": {"app": w.name}},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
            "kubernetes.io/metadata.name": MONITORING_NAMESPACE}}}], "ports": _tcp(w.metrics_port)}],
        "egress": egress,
    }


@dataclass(frozen=True, kw_only=True)
class Monitor:
    """A ServiceMonitor for one track of a workload; the scrape `job` is the Service's name."""

    name: str
    job: str
    namespace: str
    selector: dict[str, str]
    port: str = METRICS_PORT_NAME
    path: str = METRICS_PATH
    # False for a track that may have no target by design (the canary at zero weight).
    watched: bool = True


def service_monitor(w: WorkloadConfig, track: str = "stable") -> Optional[Monitor]:
    job = w.name if track == "stable" else f"{w.name}-{track}"
    return Monitor(name=f"workload-{job}", job=job, namespace=NAMESPACE, selector=labels(w.name, track),
                   watched=track == "stable")


def image_repository(w: WorkloadConfig) -> Optional[str]:
    """The stack's own ECR repository `<prefix>/<name>` (used when `image` is empty)."""
    return w.name


def slos(w: WorkloadConfig) -> tuple[SLO, ...]:
    return (SLO(name=f"{w.name}-availability", service=w.name, objective=w.availability_objective,
                window=SLO_WINDOW, sli="availability",
                description=f"Requests to {w.name} not answered with a 5xx."),
            SLO(name=f"{w.name}-latency", service=w.name, objective=w.latency_objective, window=SLO_WINDOW,
                sli="latency", threshold=w.latency_threshold,
                description=f"Requests to {w.name} answered within {w.latency_threshold} s."))


def absent_alert(w: WorkloadConfig) -> Optional[Scrape]:
    """Its scrape job, watched by `MetricsSourceDown`: without targets its SLOs go blind."""
    m = derive("service_monitor", w)
    if m is None:
        return None
    return Scrape(jobs=(m.job,), kind="ServiceMonitor", name=m.name, watched=m.watched)


def dashboard(w: WorkloadConfig) -> list[tuple[str, str, str]]:
    """(title, PromQL, unit) of its row on the Workloads dashboard."""
    s = f'service="{w.name}"'
    return [
        (f"{w.name}: requests per second", f"sum by (track) (rate(http_requests_total{{{s}}}[$__rate_interval]))", "reqps"),
        (f"{w.name}: 5xx ratio", f'sum(rate(http_requests_total{{{s},code=~"5.."}}[$__rate_interval]))\n/\n'
                                 f"sum(rate(http_requests_total{{{s}}}[$__rate_interval]))", "percentunit"),
        (f"{w.name}: p99 latency", "histogram_quantile(0.99, sum by (le) "
                                   f"(rate(http_request_duration_seconds_bucket{{{s}}}[$__rate_interval])))", "s"),
    ]


def dr_capacity(w: WorkloadConfig) -> Optional[int]:
    """Replicas a recovery site must be able to scale to: the primary's peak (its maxReplicas)."""
    return w.max_replicas


def cost(w: WorkloadConfig) -> Optional[Decimal]:
    """CPU cores it reserves at its minimum: its share of the on-demand nodes' cost."""
    return cpu_cores(w.cpu_request) * w.min_replicas


DERIVATIONS: dict[str, Callable[..., Any]] = {
    "deployment": deployment, "service": service, "autoscaler": autoscaler,
    "disruption_budget": disruption_budget, "service_account": service_account, "iam_role": iam_role,
    "iam_policy": iam_policy, "network_policy": network_policy, "service_monitor": service_monitor,
    "image_repository": image_repository, "slos": slos, "absent_alert": absent_alert,
    "dashboard": dashboard, "dr_capacity": dr_capacity, "cost": cost,
}


def derive(piece: str, w: WorkloadConfig, *args: Any, **kwargs: Any) -> Any:
    """The `piece` of workload `w`; None (or empty) when the derivation gives it nothing."""
    return DERIVATIONS[piece](w, *args, **kwargs)


# --- over the whole map --------------------------------------------------------------------------

def all_slos(workloads, extra: tuple[SLO, ...] = ()) -> tuple[SLO, ...]:
    return (*(s for w in workloads for s in (derive("slos", w) or ())), *extra)


def all_scrapes(workloads, canary_of: Optional[str] = None) -> dict[str, Scrape]:
    """Scrape sources by name: one per workload, and its canary track's when it has one."""
    out: dict[str, Scrape] = {}
    for w in workloads:
        scrape = derive("absent_alert", w)
        if scrape is not None:
            out[scrape.name] = scrape
        if w.name == canary_of:
            m = derive("service_monitor", w, "canary")
            if m is not None:
                out[m.name] = Scrape(jobs=(m.job,), kind="ServiceMonitor", name=m.name, watched=m.watched)
    return out


def all_monitors(workloads, canary_of: Optional[str] = None) -> list[Monitor]:
    out = []
    for w in workloads:
        for track in ("stable", "canary") if w.name == canary_of else ("stable",):
            m = derive("service_monitor", w, track)
            if m is not None:
                out.append(m)
    return out


def images(workloads) -> tuple[str, ...]:
    """The ECR repositories the stack owns for its workloads."""
    return tuple(r for w in workloads if (r := derive("image_repository", w)))


def dashboard_rows(workloads) -> Mapping[str, list[tuple[str, str, str]]]:
    return {w.name: rows for w in workloads if (rows := derive("dashboard", w))}
