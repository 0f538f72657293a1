"""Names and tags derived from the stack, so every resource is traceable to it."""
from __future__ import annotations

import re

_DNS = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def resource_prefix(project: str, stack: str) -> str:
    """The prefix of physical names: `leadgen-production`."""
    return f"{project}-{stack}"


def is_dns_label(name: str) -> bool:
    return len(name) <= 63 and bool(_DNS.match(name))


def required_tags(environment: str, owner: str, cost_center: str) -> dict[str, str]:
    """The tags every taggable AWS resource carries (the governance pack checks them)."""
    return {"environment": environment, "owner": owner, "cost-center": cost_center}


def with_name(tags: dict[str, str], name: str) -> dict[str, str]:
    return {**tags, "Name": name}
