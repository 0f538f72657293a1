"""Checks shared by every config section, each as strict as the service that consumes the value.

Each check returns None when the value is good, else the reason as the end of a one-line message
("leadgen:<key> <reason> in Pulumi.<stack>.yaml"): the sections raise it with `values.error`,
before any resource is registered.
"""
from __future__ import annotations

import ipaddress
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Iterable, Optional, Sequence

# --- AWS regions: the one list (commercial and GovCloud partitions, 2026-11) -----------------------
# docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html
AWS_REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2",
    "af-south-1",
    "ap-east-1", "ap-east-2", "ap-south-1", "ap-south-2", "ap-northeast-1", "ap-northeast-2",
    "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
    "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
    "ca-central-1", "ca-west-1",
    "eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2", "eu-west-3", "eu-south-1",
    "eu-south-2", "eu-north-1",
    "il-central-1", "me-south-1", "me-central-1", "mx-central-1", "sa-east-1",
    "us-gov-east-1", "us-gov-west-1",
)


def region_error(region: str) -> Optional[str]:
    if region not in AWS_REGIONS:
        return f"({region!r}) is not an AWS region (e.g. us-east-1)"
    return None


# --- stack names: they become S3 bucket, RDS, EKS and IAM names -----------------------------------
# The longest name built from the stack is the backup bucket `<project>-<stack>-backups-<account>`
# (S3: at most 63 lower-case letters, digits and hyphens); RDS identifiers take letters, digits and
# single hyphens, starting with a letter; IAM role names stop at 64 characters. A stack name of
# lower-case words joined by single hyphens, at most 24 characters, is valid in all of them.
STACK_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
STACK_NAME_MAX = 24


def stack_name_error(stack: str) -> Optional[str]:
    if len(stack) > STACK_NAME_MAX or not STACK_NAME.fullmatch(stack):
        return (f"stack name {stack!r} would make invalid S3, RDS or EKS names: use lower-case "
                f"letters, digits and single hyphens, starting with a letter, at most {STACK_NAME_MAX} characters")
    return None


# --- AWS tags ------------------------------------------------------------------------------------
TAG_KEY_MAX, TAG_VALUE_MAX = 128, 256
_TAG_PUNCTUATION = set(" _.:/=+-@")


def tag_value_error(value: str) -> Optional[str]:
    """AWS tag values: at most 256 Unicode letters, digits, spaces and `_ . : / = + - @`."""
    if len(value) > TAG_VALUE_MAX:
        return f"is {len(value)} characters long; an AWS tag value takes at most {TAG_VALUE_MAX}"
    for char in value:
        if char in _TAG_PUNCTUATION:
            continue
        if unicodedata.category(char)[0] in "LN":
            continue
        return (f"({value!r}) holds {char!r}, which AWS tags refuse (letters, digits, spaces and "
                "_ . : / = + - @ only)")
    return None


def tag_key_error(key: str) -> Optional[str]:
    if not key or len(key) > TAG_KEY_MAX:
        return f"is {len(key)} characters long; an AWS tag key takes 1 to {TAG_KEY_MAX}"
    if key.lower().startswith("aws:"):
        return f"({key!r}) starts with aws:, which AWS reserves"
    return tag_value_error(key)


# --- networks ------------------------------------------------------------------------------------
# Ranges a VPC may not use: "this network", loopback, link-local, multicast and the reserved block.
_NOT_FOR_VPCS = tuple(ipaddress.ip_network(n) for n in
                      ("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4"))
# A subnet is /16 to /28 (AWS): smaller ones hold no usable addresses after AWS takes its five.
SUBNET_PREFIXES = (16, 28)


def vpc_range_error(net: ipaddress.IPv4Network) -> Optional[str]:
    for bad in _NOT_FOR_VPCS:
        if net.overlaps(bad):
            kind = ("multicast" if bad.is_multicast else "loopback" if bad.is_loopback else
                    "link-local" if bad.is_link_local else "reserved")
            return f"({net}) overlaps the {kind} range {bad}, which a VPC cannot use"
    return None


def subnet_size_error(net: ipaddress.IPv4Network) -> Optional[str]:
    lo, hi = SUBNET_PREFIXES
    if not lo <= net.prefixlen <= hi:
        return f"({net}) must be between /{lo} and /{hi}: AWS subnets are that size"
    return None


# The public endpoint's allow list may cover at most this many addresses in all (one /8): more is
# "the internet" however it is split (0.0.0.0/1 + 128.0.0.0/1 is 0.0.0.0/0).
PUBLIC_ACCESS_MAX_ADDRESSES = 2 ** 24


def public_access_error(networks: Sequence[ipaddress.IPv4Network]) -> Optional[str]:
    """The union of the ranges, not each range alone, decides how open the endpoint is."""
    union = list(ipaddress.collapse_addresses(networks))
    total = sum(n.num_addresses for n in union)
    if any(n.prefixlen == 0 for n in union):
        return "together open the API endpoint to the whole internet (their union is 0.0.0.0/0)"
    if total > PUBLIC_ACCESS_MAX_ADDRESSES:
        return (f"together cover {total:,} addresses ({', '.join(map(str, union))}), more than a /8: "
                "list your runners' and offices' egress ranges")
    return None


# --- Kubernetes quantities -----------------------------------------------------------------------
# apimachinery resource.Quantity: a decimal number and one suffix; CPU in cores or milli-cores,
# memory in bytes with binary (Ki...) or decimal (k, M, G...) suffixes.
_CPU = re.compile(r"(?P<n>\d+(\.\d+)?)(?P<u>m?)")
_MEMORY = re.compile(r"(?P<n>\d+(\.\d+)?)(?P<u>Ki|Mi|Gi|Ti|k|M|G|T)?")
_MEMORY_UNITS = {None: 1, "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40,
                 "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12}
# What one container may sensibly ask for on this platform's node types.
CPU_MAX_CORES = Decimal(64)
MEMORY_MAX_BYTES = 512 * 2 ** 30


def cpu_cores(text: str) -> Optional[Decimal]:
    """Cores in a CPU quantity (`500m` -> 0.5), None when it is not one."""
    m = _CPU.fullmatch(text) if len(text) <= 20 else None
    if not m:
        return None
    n = Decimal(m.group("n"))
    return n / 1000 if m.group("u") else n


def memory_bytes(text: str) -> Optional[Decimal]:
    m = _MEMORY.fullmatch(text) if len(text) <= 24 else None
    if not m:
        return None
    return Decimal(m.group("n")) * _MEMORY_UNITS[m.group("u")]


# --- durations -----------------------------------------------------------------------------------
# promtool's (Prometheus model.ParseDuration) units; the total must fit an int64 of nanoseconds.
_PROM_DURATION = re.compile(r"((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?")
_PROM_UNITS = (365 * 86400 * 1000, 7 * 86400 * 1000, 86400 * 1000, 3600 * 1000, 60 * 1000, 1000, 1)
_INT64_MS = (2 ** 63 - 1) // 10 ** 6


def prometheus_duration_ms(text: str) -> Optional[int]:
    """Milliseconds in a duration promtool accepts, None for anything it refuses."""
    if not text or text == "0" or len(text) > 64:
        return None
    m = _PROM_DURATION.fullmatch(text)
    if not m:
        return None
    ms = sum(int(m.group(2 * i + 2)) * unit for i, unit in enumerate(_PROM_UNITS) if m.group(2 * i + 2))
    if ms > _INT64_MS:
        return None
    return ms


def number(text: object) -> Optional[Decimal]:
    try:
        value = Decimal(str(text))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def first_control(text: str) -> Optional[str]:
    """The first line break or other control/invisible character in `text`, shown visibly."""
    from leadgen.pack import escape

    for char in text:
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            return escape.visible(char)
    return None


def strings_in(value: object, where: str) -> Iterable[tuple[str, str]]:
    """Every string inside a nested value, with its path (`key[0].window`)."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield where, str(k)
            yield from strings_in(v, f"{where}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from strings_in(v, f"{where}[{i}]")
