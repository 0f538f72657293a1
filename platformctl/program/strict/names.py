"""Names as AWS and Kubernetes accept them, and as the providers make them when none is given."""
from __future__ import annotations

import hashlib
import re
from typing import Iterator, Optional

from platformctl.program.strict.aws_limits import LIMITS

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

# Types the provider auto-names when the program gives no name: the input it fills and whether it
# lowercases the logical name first (names AWS accepts only in lower case). pulumi-aws appends a
# dash and 7 random hex characters; with `<key>Prefix` it is the prefix and 26 characters
# (terraform's PrefixedUniqueId).
AUTONAMED: dict[str, tuple[str, bool]] = {
    "aws:iam/role:Role": ("name", False),
    "aws:iam/policy:Policy": ("name", False),
    "aws:iam/rolePolicy:RolePolicy": ("name", False),
    "aws:s3/bucket:Bucket": ("bucket", True),
    "aws:rds/instance:Instance": ("identifier", True),
    "aws:rds/subnetGroup:SubnetGroup": ("name", True),
    "aws:rds/parameterGroup:ParameterGroup": ("name", True),
    "aws:elasticache/replicationGroup:ReplicationGroup": ("replicationGroupId", True),
    "aws:elasticache/subnetGroup:SubnetGroup": ("name", True),
    "aws:cloudwatch/logGroup:LogGroup": ("name", False),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("name", False),
    "aws:ecr/repository:Repository": ("name", True),
    "aws:eks/cluster:Cluster": ("name", False),
    "aws:eks/nodeGroup:NodeGroup": ("nodeGroupName", False),
    "aws:sns/topic:Topic": ("name", False),
    "aws:secretsmanager/secret:Secret": ("name", False),
    "aws:ec2/launchTemplate:LaunchTemplate": ("name", False),
    "aws:ec2/securityGroup:SecurityGroup": ("name", False),
    "aws:lb/loadBalancer:LoadBalancer": ("name", False),
    "aws:lb/targetGroup:TargetGroup": ("name", False),
}
AUTONAME_SUFFIX = 7
PREFIX_SUFFIX = 26


def autoname(logical: str, lower: bool = False) -> str:
    """The provider's auto-name: `<logical>-<7 hex>` (random there; derived from the name here, so
    runs agree, and the same length, which is what a limit sees)."""
    base = logical.lower() if lower else logical
    return f"{base}-{hashlib.sha256(logical.encode()).hexdigest()[:AUTONAME_SUFFIX]}"


def physical(resource: dict, key: str) -> tuple[Optional[str], str]:
    """(the value AWS receives for `key`, how it was made): given, prefixed or auto-named."""
    inputs = resource.get("inputs") or {}
    value = inputs.get(key)
    if isinstance(value, str):
        return value, "given"
    prefix = inputs.get(f"{key}Prefix")
    if isinstance(prefix, str):
        return prefix + "0" * PREFIX_SUFFIX, f"{key}Prefix plus {PREFIX_SUFFIX} characters"
    auto = AUTONAMED.get(resource["type"])
    if auto and auto[0] == key and value is None:
        return autoname(resource["name"], auto[1]), "auto-named"
    return None, ""


def _aws(resources: list[dict]) -> Iterator[str]:
    for r in resources:
        rules = LIMITS.get(r["type"])
        if not rules or r.get("external"):
            continue
        for key, rule in rules.items():
            value, how = physical(r, key)
            if value is None or UNKNOWN in value:
                continue
            where = f"{r['type']} resource '{r['name']}' has a problem:"
            limit = f"({rule['api']}; {rule['source']})"
            lo, hi = rule.get("min", 0), rule.get("max")
            if len(value) < lo or (hi is not None and len(value) > hi):
                yield (f"{where} expected length of {key} to be in the range ({lo} - {hi}), got {value} "
                       f"({len(value)} characters, {how}) {limit}")
            elif rule.get("pattern") and not re.fullmatch(rule["pattern"], value):
                yield f"{where} invalid value for {key} ({how}): {value!r} must match {rule['pattern']} {limit}"


# --- Kubernetes: what the API server validates (k8s.io/apimachinery validation) ------------------
DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
# Kinds whose names are DNS-1123 labels (63), not subdomains (253): they become DNS names or labels.
LABEL_NAMED = {"Namespace", "Service"}
HELM_RELEASE_MAX = 53  # Helm: release names become label values with a suffix


def _k8s(resources: list[dict]) -> Iterator[str]:
    for r in resources:
        typ = r["type"]
        if not typ.startswith("kubernetes:") or typ.startswith("kubernetes:yaml") or r.get("external"):
            continue
        inputs = r.get("inputs") or {}
        where = f"{typ} resource '{r['name']}' has a problem:"
        if typ == "kubernetes:helm.sh/v3:Release":
            name = inputs.get("name")
            if isinstance(name, str) and UNKNOWN not in name and (
                    len(name) > HELM_RELEASE_MAX or not DNS1123_SUBDOMAIN.fullmatch(name)):
                yield (f"{where} release name {name!r}: must be a DNS-1123 subdomain of at most "
                       f"{HELM_RELEASE_MAX} characters (Helm)")
            continue
        meta = inputs.get("metadata") or {}
        kind = typ.rsplit(":", 1)[-1]
        name = meta.get("name")
        if isinstance(name, str) and UNKNOWN not in name:
            if kind in LABEL_NAMED:
                if len(name) > 63 or not DNS1123_LABEL.fullmatch(name):
                    yield (f"{where} metadata.name: Invalid value: {name!r}: a lowercase RFC 1123 label must "
                           "consist of lower case alphanumeric characters or '-', and must be at most 63 characters")
            elif len(name) > 253 or not DNS1123_SUBDOMAIN.fullmatch(name):
                yield (f"{where} metadata.name: Invalid value: {name!r}: a lowercase RFC 1123 subdomain must "
                       "consist of lower case alphanumeric characters, '-' or '.', and must be at most 253 characters")
        for key, value in (meta.get("labels") or {}).items():
            if isinstance(value, str) and UNKNOWN not in value and (len(value) > 63 or not LABEL_VALUE.fullmatch(value)):
                yield (f"{where} metadata.labels: Invalid value: {value!r}: a valid label must be 63 characters "
                       "or less and consist of alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric")


def check(resources: list[dict]) -> list[str]:
    return [*_aws(resources), *_k8s(resources)]
