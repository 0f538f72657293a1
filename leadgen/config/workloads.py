"""The workloads: a map keyed by workload name, each entry an image, a port and what it uses.

`leadgen:workloads.<name>.*` declares a workload; a new one needs its tag and port, everything
else has the runbook's defaults (requests cpu 500m / memory 512Mi, limits 1000m / 1Gi,
`kubectl autoscale deployment/api --min=3 --max=10 --cpu-percent=70`; availability 99.9 % and
99 % of requests under 0.5 s over 28 days). Both spellings reach the same checks:

    pulumi config set 'leadgen:workloads.scoring.tag' 1.0.0
    pulumi config set --path 'leadgen:workloads.scoring.port' 8000

What a workload gets from its entry (Deployment, Service, autoscaler, IAM role, egress, SLOs...)
is derived in one place, leadgen/workloads.py.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterator

from leadgen.config.base import NAME, Key, Values
from leadgen.config.validate import CPU_MAX_CORES, MEMORY_MAX_BYTES, cpu_cores, memory_bytes, number

WORKLOADS = f"workloads.{NAME}"
OWN_REPOSITORY = ("empty: the stack's own ECR repository `<account>.dkr.ecr.<region>.amazonaws.com/"
                  "<project>-<stack>/<name>`, which the program declares")
_IMAGE = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
# A tag may carry the digest it resolved to, `2.14.0@sha256:<64 hex>`: one value, so a new tag can
# never run under the old tag's digest (the kubelet pulls by the digest and ignores the tag).
DIGEST_SEPARATOR = "@"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
TAG_FORMAT = ("a tag, optionally with the digest it resolved to as `<tag>@sha256:<64 hex>` (production "
              "requires the digest, pack policy kubernetes-container-image-digest-pinned)")
# A workload's name is its Deployment, Service, ServiceAccount, ECR repository, IAM role and the
# `service` label of its metrics: a DNS label short enough for `<name>-canary` and role names.
_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$")
# S3 bucket names (docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html), no dots:
# virtual-hosted TLS to a dotted name fails the wildcard certificate.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
# One Deployment's HPA may not scale past this: more pods than the node groups could ever hold.
MAX_REPLICAS_CAP = 100
# What a workload may declare it uses; `s3:<bucket>` names one bucket.
USES = ("postgres", "redis", "s3:<bucket>")
# The port apps serve /metrics on (OpenTelemetry's Prometheus exporter default), never the
# Service's public port, so the route in front of `api` cannot serve it.
METRICS_PORT = 9464
SLO_WINDOW = "28d"

# field: (type, default, items, description); a default of None makes the field required.
_FIELDS = {
    "image": ("string", "", None, "Container image repository of workload `<name>` (no tag); "
              + OWN_REPOSITORY + "."),
    "tag": ("string", None, None, "Image tag of workload `<name>`: " + TAG_FORMAT + "; never `latest`. "
            "Setting it declares the workload."),
    "port": ("integer", None, None, "Container and Service port of workload `<name>` (1024-65535)."),
    "metricsPort": ("integer", METRICS_PORT, None, "Port workload `<name>` serves /metrics on; never "
                    "its Service port, so no public route serves it (docs/app-contract.md)."),
    "minReplicas": ("integer", 3, None, "HPA minimum replicas of workload `<name>`."),
    "maxReplicas": ("integer", 10, None, "HPA maximum replicas of workload `<name>`."),
    "targetCpuUtilization": ("integer", 70, None, "HPA CPU target of workload `<name>`, percent."),
    "cpuRequest": ("string", "500m", None, "CPU request of workload `<name>`."),
    "memoryRequest": ("string", "512Mi", None, "Memory request of workload `<name>`."),
    "cpuLimit": ("string", "1000m", None, "CPU limit of workload `<name>`."),
    "memoryLimit": ("string", "1Gi", None, "Memory limit of workload `<name>`."),
    "uses": ("array", [], "string", "What workload `<name>` connects to: `postgres`, `redis`, "
             "`s3:<bucket>`; it gets their endpoints, credentials, IAM grants and egress, nothing else."),
    "slo.availability": ("number", 99.9, None, "Availability SLO of workload `<name>`, percent of "
                         "requests not answered 5xx over 28d."),
    "slo.latency": ("number", 99, None, "Latency SLO of workload `<name>`, percent of requests faster "
                    "than slo.latencyThreshold over 28d."),
    "slo.latencyThreshold": ("number", 0.5, None, "Latency SLO threshold of workload `<name>`, seconds "
                             "(a histogram bucket bound the app exports)."),
}
WORKLOAD_FIELDS = tuple(_FIELDS)

KEYS = [Key(path=f"{WORKLOADS}.{f}", type=t, default=d, description=desc, items=items, required=d is None)
        for f, (t, d, items, desc) in _FIELDS.items()]


@dataclass(frozen=True, kw_only=True)
class WorkloadConfig:
    name: str
    image: str
    tag: str
    port: int
    metrics_port: int = METRICS_PORT
    min_replicas: int = 3
    max_replicas: int = 10
    target_cpu: int = 70
    cpu_request: str = "500m"
    memory_request: str = "512Mi"
    cpu_limit: str = "1000m"
    memory_limit: str = "1Gi"
    uses_postgres: bool = False
    uses_redis: bool = False
    buckets: tuple[str, ...] = ()
    availability_objective: Decimal = Decimal("99.9")
    latency_objective: Decimal = Decimal("99")
    latency_threshold: Decimal = Decimal("0.5")


@dataclass(frozen=True, kw_only=True)
class WorkloadsConfig:
    """The declared workloads, by name, in name order."""

    items: tuple[WorkloadConfig, ...]

    def __iter__(self) -> Iterator[WorkloadConfig]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, name: object) -> bool:
        return any(w.name == name for w in self.items)

    def __getitem__(self, name: str) -> WorkloadConfig:
        for w in self.items:
            if w.name == name:
                return w
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(w.name for w in self.items)


def check_image(values: Values, key: str) -> str:
    """A full repository reference without tag, or "" for the stack's own ECR repository."""
    image = values.get(key)
    if image == "":
        return image
    if ":" in image.rsplit("/", 1)[-1] or "@" in image:
        raise values.error(key, f"({image!r}) must not carry a tag or digest; set the tag key")
    if not _IMAGE.fullmatch(image):
        raise values.error(key, f"({image!r}) is not an image repository reference")
    return image


def check_tag(values: Values, key: str) -> str:
    """A tag, or `<tag>@sha256:<digest>`: what follows the repository and `:` in the image reference."""
    value = values.get(key)
    tag, _, digest = value.partition(DIGEST_SEPARATOR)
    if tag == "latest":
        raise values.error(key, "(\"latest\") must be a pinned version: `latest` makes rollouts unrepeatable")
    if not _TAG.fullmatch(tag):
        raise values.error(key, f"({value!r}) is not a valid image tag")
    if DIGEST_SEPARATOR in value and not _DIGEST.fullmatch(digest):
        raise values.error(key, f"({value!r}) has a malformed digest: expected <tag>@sha256: and 64 lower-case "
                           "hex digits, as `aws ecr describe-images` reports it")
    return value


def pinned_by_digest(tag: str) -> bool:
    """Whether a checked tag value carries its digest."""
    return DIGEST_SEPARATOR in tag


def _port(values: Values, key: str) -> int:
    port = values.get(key)
    if not 1024 <= port <= 65535:
        raise values.error(key, f"({port}) must be an unprivileged port (1024-65535)")
    return port


def _percent(values: Values, key: str) -> Decimal:
    value = number(values.get(key))
    if value is None or not Decimal(0) < value < Decimal(100):
        raise values.error(key, f"({values.get(key)}) must be above 0 and below 100 (percent)")
    return value


def _uses(values: Values, p: str) -> tuple[bool, bool, tuple[str, ...]]:
    postgres = redis = False
    buckets: list[str] = []
    seen: set[str] = set()
    for i, entry in enumerate(values.get(f"{p}.uses")):
        where = f"{p}.uses[{i}]"
        if entry in seen:
            raise values.error(where, f"({entry!r}) is listed twice")
        seen.add(entry)
        if entry == "postgres":
            postgres = True
        elif entry == "redis":
            redis = True
        elif entry.startswith("s3:"):
            bucket = entry[3:]
            if not _BUCKET.fullmatch(bucket) or "--" in bucket:
                raise values.error(where, f"({entry!r}) does not name an S3 bucket (3-63 lower-case "
                                   "letters, digits and dashes, no dots)")
            buckets.append(bucket)
        else:
            raise values.error(where, f"({entry!r}) must be one of: {', '.join(USES)}")
    return postgres, redis, tuple(buckets)


def _workload(values: Values, name: str) -> WorkloadConfig:
    p = f"workloads.{name}"
    if not _NAME.fullmatch(name):
        raise values.error(p, "is not a valid workload name: lower-case letters, digits and '-', "
                           "starting with a letter, at most 40 characters")
    image = check_image(values, f"{p}.image")
    tag = check_tag(values, f"{p}.tag")
    port = _port(values, f"{p}.port")
    metrics_port = _port(values, f"{p}.metricsPort")
    if metrics_port == port:
        raise values.error(f"{p}.metricsPort", f"({metrics_port}) must differ from {p}.port: the public "
                           "route serves the Service port, and /metrics must not be public")
    lo, hi = values.get(f"{p}.minReplicas"), values.get(f"{p}.maxReplicas")
    if lo < 1:
        raise values.error(f"{p}.minReplicas", f"({lo}) must be >= 1")
    if hi < lo:
        raise values.error(f"{p}.maxReplicas", f"({hi}) must be >= minReplicas ({lo})")
    if hi > MAX_REPLICAS_CAP:
        raise values.error(f"{p}.maxReplicas", f"({hi}) must be at most {MAX_REPLICAS_CAP}")
    cpu = values.get(f"{p}.targetCpuUtilization")
    if not 10 <= cpu <= 95:
        raise values.error(f"{p}.targetCpuUtilization", f"({cpu}) must be between 10 and 95")
    _quantities(values, p)
    postgres, redis, buckets = _uses(values, p)
    threshold = number(values.get(f"{p}.slo.latencyThreshold"))
    if threshold is None or threshold <= 0 or threshold > 60:
        raise values.error(f"{p}.slo.latencyThreshold", f"({values.get(f'{p}.slo.latencyThreshold')}) must be "
                           "above 0 and at most 60 (seconds)")
    return WorkloadConfig(
        name=name, image=image, tag=tag, port=port, metrics_port=metrics_port, min_replicas=lo,
        max_replicas=hi, target_cpu=cpu, cpu_request=values.get(f"{p}.cpuRequest"),
        memory_request=values.get(f"{p}.memoryRequest"), cpu_limit=values.get(f"{p}.cpuLimit"),
        memory_limit=values.get(f"{p}.memoryLimit"), uses_postgres=postgres, uses_redis=redis,
        buckets=buckets, availability_objective=_percent(values, f"{p}.slo.availability"),
        latency_objective=_percent(values, f"{p}.slo.latency"), latency_threshold=threshold)


def _quantities(values: Values, p: str) -> None:
    """Requests and limits as the API server parses them: a request above its limit, or a limit
    of zero, is refused by Kubernetes only when the Deployment is applied, mid-update."""
    parsed = {}
    for f, parse, most, unit in (("cpuRequest", cpu_cores, CPU_MAX_CORES, "cores"),
                                 ("cpuLimit", cpu_cores, CPU_MAX_CORES, "cores"),
                                 ("memoryRequest", memory_bytes, MEMORY_MAX_BYTES, "bytes"),
                                 ("memoryLimit", memory_bytes, MEMORY_MAX_BYTES, "bytes")):
        v = values.get(f"{p}.{f}")
        amount = parse(v)
        if amount is None:
            raise values.error(f"{p}.{f}", f"({v!r}) is not a Kubernetes quantity")
        if amount <= 0:
            raise values.error(f"{p}.{f}", f"({v!r}) must be more than zero")
        if amount > most:
            raise values.error(f"{p}.{f}", f"({v!r}) is more than one container can get "
                               f"({'64 cores' if unit == 'cores' else '512Gi'})")
        parsed[f] = amount
    for request, limit in (("cpuRequest", "cpuLimit"), ("memoryRequest", "memoryLimit")):
        if parsed[request] > parsed[limit]:
            raise values.error(f"{p}.{request}", f"({values.get(f'{p}.{request}')!r}) must not exceed "
                               f"{limit} ({values.get(f'{p}.{limit}')!r})")


def build(values: Values) -> WorkloadsConfig:
    names = values.names(WORKLOADS)
    items = tuple(_workload(values, n) for n in names)
    # A canary Deployment is `<name>-canary`: a workload of that name would collide with it.
    for w in items:
        if w.name.endswith("-canary"):
            raise values.error(f"workloads.{w.name}", "must not end in -canary: that name is the canary "
                               "track's Deployment")
    return WorkloadsConfig(items=items)

