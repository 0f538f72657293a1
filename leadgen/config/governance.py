"""What the governance pack reads from the stack. The program only records the change request."""
from __future__ import annotations

import re
from dataclasses import dataclass

from leadgen.config.base import Key, Values

_CR_ID = re.compile(r"^CR-\d{4}-\d{3,}$")

KEYS = [
    Key("changeRequest", "string", "", "ID of the change request this update runs under "
        "(changes/<ID>.yaml); recorded as a stack output."),
    Key("governance.protectedStacks", "array", ["production"], "Stacks whose updates need an "
        "approved change request, a window, error budget and cost budget.", items="string"),
    Key("governance.prometheusUrl", "string", "", "Prometheus the error-budget gate queries for "
        "slo_error_budget_remaining."),
    Key("governance.monthlyBudgetUsd", "integer", 25000, "Monthly cost budget, USD; the cost gate "
        "blocks above it and warns from 80 %."),
    Key("governance.s3StorageGb", "integer", 500, "Expected S3 storage, GB, for the cost estimate."),
    Key("governance.changesDir", "string", "changes", "Folder of change requests, relative to "
        "the project root."),
]


@dataclass(frozen=True)
class GovernanceConfig:
    change_request: str
    protected_stacks: tuple[str, ...]
    prometheus_url: str
    monthly_budget_usd: int
    s3_storage_gb: int
    changes_dir: str


def build(values: Values) -> GovernanceConfig:
    cr = values.get("changeRequest")
    if cr and not _CR_ID.match(cr):
        raise values.error("changeRequest", f"({cr!r}) must look like CR-2026-014")
    url = values.get("governance.prometheusUrl")
    if url and not url.startswith(("http://", "https://")):
        raise values.error("governance.prometheusUrl", f"({url!r}) must be an http(s) URL")
    budget = values.get("governance.monthlyBudgetUsd")
    if budget <= 0:
        raise values.error("governance.monthlyBudgetUsd", f"({budget}) must be positive")
    gb = values.get("governance.s3StorageGb")
    if gb < 0:
        raise values.error("governance.s3StorageGb", f"({gb}) must be >= 0")
    return GovernanceConfig(cr, tuple(values.get("governance.protectedStacks")), url, budget, gb,
                            values.get("governance.changesDir"))
