"""The pack's settings, read from the stack's `leadgen:` config.

Keys are flat dotted leaves (`leadgen:governance.protectedStacks`) as the program declares them;
the nested form that `pulumi config set --path` writes (`leadgen:governance` holding an object) is
accepted too. A bad value never raises: it becomes a `problem` that the gates report, naming the key.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

NAMESPACE = "leadgen"
DEFAULT_PROTECTED_STACKS = ("production",)
DEFAULT_CHANGES_DIR = "changes"

# (key, type, default, description) - the lead declares the same keys in the program's schema.
KEYS = (
    ("changeRequest", "string", "", "ID of the change request (changes/<ID>.yaml) this update carries"),
    ("governance.protectedStacks", "array", list(DEFAULT_PROTECTED_STACKS),
     "stacks that need a change request, a window and error budget to change"),
    ("governance.prometheusUrl", "string", "",
     "Prometheus base URL the error-budget gate queries; empty fails the gate closed on protected stacks"),
    ("governance.monthlyBudgetUsd", "number", 25000, "monthly spending limit, USD"),
    ("governance.s3StorageGb", "number", 500, "expected S3 storage in GB, spread over the stack's buckets"),
    ("governance.changesDir", "string", DEFAULT_CHANGES_DIR,
     "folder of change requests, relative to the project root"),
)


@dataclass(frozen=True)
class GovernanceConfig:
    change_request: str = ""
    protected_stacks: tuple[str, ...] = DEFAULT_PROTECTED_STACKS
    prometheus_url: str = ""
    monthly_budget_usd: float = 25000.0
    s3_storage_gb: float = 500.0
    changes_dir: str = DEFAULT_CHANGES_DIR
    # One line per unusable key, e.g. "leadgen:governance.monthlyBudgetUsd must be a number, got 'lots'".
    problems: tuple[str, ...] = field(default=())


def _lookup_nested(lookup: Callable[[str], Optional[str]], key: str) -> Any:
    """Value of a dotted key, first as a flat leaf, then inside the object at its first segment."""
    raw = lookup(key)
    if raw is not None:
        return raw
    head, _, rest = key.partition(".")
    if not rest:
        return None
    outer = lookup(head)
    if outer is None:
        return None
    try:
        node: Any = json.loads(outer) if isinstance(outer, str) else outer
    except ValueError:
        return None
    for part in rest.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def read(lookup: Callable[[str], Optional[str]]) -> GovernanceConfig:
    """Build the settings from `lookup(key) -> raw string or None` (e.g. `pulumi.Config("leadgen").get`)."""
    problems: list[str] = []
    values: dict[str, Any] = {}

    def key_name(key: str) -> str:
        return f"{NAMESPACE}:{key}"

    for key, typ, default, _ in KEYS:
        raw = _lookup_nested(lookup, key)
        if raw is None or raw == "":
            values[key] = default
            continue
        try:
            values[key] = _convert(raw, typ)
        except ValueError as err:
            problems.append(f"{key_name(key)} {err}")
            values[key] = default
    stacks = values["governance.protectedStacks"]
    if not all(isinstance(s, str) and s for s in stacks):
        problems.append(f"{key_name('governance.protectedStacks')} must be a list of stack names")
        stacks = list(DEFAULT_PROTECTED_STACKS)
    # Same defaults and bounds as the program's schema (leadgen/config/governance.py).
    if values["governance.monthlyBudgetUsd"] <= 0:
        problems.append(f"{key_name('governance.monthlyBudgetUsd')} must be positive, "
                        f"got {values['governance.monthlyBudgetUsd']:g}")
        values["governance.monthlyBudgetUsd"] = 25000
    if values["governance.s3StorageGb"] < 0:
        problems.append(f"{key_name('governance.s3StorageGb')} must not be negative, "
                        f"got {values['governance.s3StorageGb']:g}")
        values["governance.s3StorageGb"] = 500
    return GovernanceConfig(
        change_request=values["changeRequest"].strip(),
        protected_stacks=tuple(stacks),
        prometheus_url=values["governance.prometheusUrl"].strip().rstrip("/"),
        monthly_budget_usd=float(values["governance.monthlyBudgetUsd"]),
        s3_storage_gb=float(values["governance.s3StorageGb"]),
        changes_dir=values["governance.changesDir"].strip() or DEFAULT_CHANGES_DIR,
        problems=tuple(problems),
    )


def from_mapping(config: dict[str, Any]) -> GovernanceConfig:
    """Same as `read`, from a `{"leadgen:key": value}` mapping (PULUMI_CONFIG, or a test's dict)."""
    def lookup(key: str) -> Optional[str]:
        value = config.get(f"{NAMESPACE}:{key}")
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value)
    return read(lookup)


def _convert(raw: Any, typ: str) -> Any:
    if typ == "string":
        if not isinstance(raw, str):
            raise ValueError(f"must be a string, got {json.dumps(raw)}")
        return raw
    if typ == "number":
        try:
            number = float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"must be a number, got {raw!r}") from None
        if isinstance(raw, bool) or not math.isfinite(number):
            raise ValueError(f"must be a number, got {raw!r}")
        return number
    if typ == "array":
        value = raw
        if isinstance(raw, str):
            try:
                value = json.loads(raw)
            except ValueError:
                raise ValueError(f"must be a JSON list, got {raw!r}") from None
        if not isinstance(value, list):
            raise ValueError(f"must be a list, got {raw!r}")
        return value
    raise AssertionError(typ)
