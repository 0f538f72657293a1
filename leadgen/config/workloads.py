"""The `api` and `backend` workloads: images, sizing (the runbook's), autoscaling."""
from __future__ import annotations

import re
from dataclasses import dataclass

from leadgen.config.base import Key, Values
from leadgen.config.validate import CPU_MAX_CORES, MEMORY_MAX_BYTES, cpu_cores, memory_bytes

WORKLOADS = ("api", "backend")

# The runbook sizes both services: requests cpu 500m / memory 512Mi, limits 1000m / 1Gi,
# `kubectl autoscale deployment/api --min=3 --max=10 --cpu-percent=70`.
# Images default to the stack's own ECR repository (components/registry.py), "" below.
_DEFAULTS = {
    "api": ("", "1.0.0", 3000),
    "backend": ("", "1.0.0", 8080),
}
OWN_REPOSITORY = ("empty: the stack's own ECR repository `<account>.dkr.ecr.<region>.amazonaws.com/"
                  "<project>-<stack>/{image}`, which the program declares")
_IMAGE = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
# One Deployment's HPA may not scale past this: more pods than the node groups could ever hold.
MAX_REPLICAS_CAP = 100


def _keys(name: str) -> list[Key]:
    image, tag, port = _DEFAULTS[name]
    p = f"workloads.{name}"
    return [
        Key(f"{p}.image", "string", image, f"Container image repository of `{name}` (no tag); "
            + OWN_REPOSITORY.format(image=name) + "."),
        Key(f"{p}.tag", "string", tag, f"Image tag of `{name}`; never `latest`."),
        Key(f"{p}.port", "integer", port, f"Container and Service port of `{name}`."),
        Key(f"{p}.minReplicas", "integer", 3, f"HPA minimum replicas of `{name}`."),
        Key(f"{p}.maxReplicas", "integer", 10, f"HPA maximum replicas of `{name}`."),
        Key(f"{p}.targetCpuUtilization", "integer", 70, f"HPA CPU target of `{name}`, percent."),
        Key(f"{p}.cpuRequest", "string", "500m", f"CPU request of `{name}`."),
        Key(f"{p}.memoryRequest", "string", "512Mi", f"Memory request of `{name}`."),
        Key(f"{p}.cpuLimit", "string", "1000m", f"CPU limit of `{name}`."),
        Key(f"{p}.memoryLimit", "string", "1Gi", f"Memory limit of `{name}`."),
    ]


KEYS = [k for w in WORKLOADS for k in _keys(w)]


@dataclass(frozen=True)
class WorkloadConfig:
    name: str
    image: str
    tag: str
    port: int
    min_replicas: int
    max_replicas: int
    target_cpu: int
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str


@dataclass(frozen=True)
class WorkloadsConfig:
    api: WorkloadConfig
    backend: WorkloadConfig


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
    tag = values.get(key)
    if tag == "latest":
        raise values.error(key, "(\"latest\") must be a pinned version: `latest` makes rollouts unrepeatable")
    if not _TAG.fullmatch(tag):
        raise values.error(key, f"({tag!r}) is not a valid image tag")
    return tag


def _workload(values: Values, name: str) -> WorkloadConfig:
    p = f"workloads.{name}"
    image = check_image(values, f"{p}.image")
    tag = check_tag(values, f"{p}.tag")
    port = values.get(f"{p}.port")
    if not 1024 <= port <= 65535:
        raise values.error(f"{p}.port", f"({port}) must be an unprivileged port (1024-65535)")
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
    return WorkloadConfig(name, image, tag, port, lo, hi, cpu,
                          values.get(f"{p}.cpuRequest"), values.get(f"{p}.memoryRequest"),
                          values.get(f"{p}.cpuLimit"), values.get(f"{p}.memoryLimit"))


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
    return WorkloadsConfig(_workload(values, "api"), _workload(values, "backend"))
