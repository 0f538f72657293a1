"""Names and tags derived from the stack, so every resource is traceable to it."""
from __future__ import annotations

import re

_DNS = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def is_dns_label(name: str) -> bool:
    return len(name) <= 63 and bool(_DNS.match(name))


def cluster_name(stack: str) -> str:
    """The EKS cluster's name: the runbook's `--name insurance-lead-gen-production`."""
    return f"insurance-lead-gen-{stack}"


def required_tags(environment: str, owner: str, cost_center: str) -> dict[str, str]:
    """The tags every taggable AWS resource carries (the governance pack checks them)."""
    return {"environment": environment, "owner": owner, "cost-center": cost_center}


def with_name(tags: dict[str, str], name: str) -> dict[str, str]:
    return {**tags, "Name": name}


# --- URNs, for aliases that keep a moved resource's state ------------------------------------------
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


def child_urn(parent_urn: str, type_: str, name: str) -> str:
    """The URN the engine gives a resource of `type_` named `name` under `parent_urn`: the parent's
    whole type chain, then `$` and the child's type (pulumi pkg/resource/urn.go). Children of the
    stack itself carry no parent type."""
    prefix, parent_type, _ = _split(parent_urn)
    chain = type_ if parent_type == ROOT_STACK_TYPE else f"{parent_type}${type_}"
    return f"{prefix}::{chain}::{name}"


def retyped_urn(urn: str, type_: str) -> str:
    """`urn` with its own (last) type replaced, as it was before the type token was renamed."""
    prefix, chain, name = _split(urn)
    parents = chain.rsplit("$", 1)[0] + "$" if "$" in chain else ""
    return f"{prefix}::{parents}{type_}::{name}"


def _split(urn: str) -> tuple[str, str, str]:
    # urn:pulumi:<stack>::<project>::<type chain>::<name>; the name may itself contain `::`.
    parts = urn.split("::", 3)
    if len(parts) != 4 or not parts[0].startswith("urn:pulumi:"):
        raise ValueError(f"not a Pulumi URN: {urn!r}")
    return f"{parts[0]}::{parts[1]}", parts[2], parts[3]
