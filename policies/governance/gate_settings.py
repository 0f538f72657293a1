"""The gate settings of protected stacks, from `governance/gates.yaml` (the CAB's file).

A stack's config is written by whoever changes the stack, so nothing in it may decide whether the
change passes: pointing `leadgen:governance.prometheusUrl` at a Prometheus of one's own turned a
feature freeze into a pass, raising `monthlyBudgetUsd` switched the cost gate off, and
`leadgen:environment: staging` in Pulumi.production-dr.yaml unprotected the recovery stack.
So for a protected stack:

- which stacks and environments are protected, the SLO store, the monthly budget and the S3
  estimate come from gates.yaml (changed only through CAB review, see .github/CODEOWNERS);
- protection is decided by the stack's name (gates.yaml's `protected_stacks`, which always holds
  production and production-dr) or by an environment that can only add protection, never by an
  environment that takes it away;
- a stack file that sets a gate setting to anything but its declared default is refused by
  `governance-gate-settings` (a gate, mandatory) with one line naming the key, so the switch cannot
  be left lying there for a later reader to trust.

Unprotected stacks (dev, staging) keep their own values: their gates do not block anything.
`apply` never raises; a gates.yaml the pack cannot use becomes a problem line and the defaults
(which fail closed: no SLO store, the declared budget).
"""
from __future__ import annotations

import dataclasses
import functools
import pathlib
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from . import changes
from .config import BY_PATH, DEFAULT_COST_WARNING_PERCENT, NAMESPACE, GovernanceConfig, is_protected, show_value
from .files import file_version as _version

FOLDER = "governance"
FILE = "gates.yaml"
SHOWN = f"{FOLDER}/{FILE}"
DEFAULT_STACKS = ("production", "production-dr")
DEFAULT_ENVIRONMENTS = ("production",)
# The stack settings gates.yaml decides for a protected stack: its key below `stacks.<name>` and the
# GovernanceConfig field, with the stack-config key it replaces.
PER_STACK = {"prometheus_url": "governance.prometheusUrl", "monthly_budget_usd": "governance.monthlyBudgetUsd",
             "s3_storage_gb": "governance.s3StorageGb"}
TOP_FIELDS = ("protected_stacks", "protected_environments", "stacks", "cost_warning_percent")


@dataclass(frozen=True)
class Gates:
    protected_stacks: tuple[str, ...] = DEFAULT_STACKS
    protected_environments: tuple[str, ...] = DEFAULT_ENVIRONMENTS
    stacks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    cost_warning_percent: int = DEFAULT_COST_WARNING_PERCENT


def load(project_root: pathlib.Path) -> Gates:
    path = pathlib.Path(project_root) / FOLDER / FILE
    return _load(str(project_root), _version(path))


@functools.lru_cache(maxsize=4)
def _load(root: str, version: tuple) -> Gates:
    if version == (-1,):
        return Gates()  # no file: the defaults, which protect production and production-dr
    try:
        doc = changes.read_document(changes.read_in_repo(pathlib.Path(root), FOLDER, FILE), SHOWN)
    except (changes.RequestUnreadable, changes._Refused) as err:
        return Gates(problems=(f"{SHOWN}: {err}; using the defaults",))
    return parse(doc)


def parse(doc: Any) -> Gates:
    problems: list[str] = []
    if not isinstance(doc, dict):
        return Gates(problems=(f"{SHOWN}: must be a mapping of {', '.join(TOP_FIELDS)}",))
    for key in sorted(set(doc) - set(TOP_FIELDS)):
        problems.append(f"{SHOWN}: {key} is not a gates setting ({', '.join(TOP_FIELDS)})")
    lists = {}
    for key, default in (("protected_stacks", DEFAULT_STACKS), ("protected_environments", DEFAULT_ENVIRONMENTS)):
        value = doc.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            problems.append(f"{SHOWN}: {key} must be a list of names")
            value = list(default)
        # The defaults can be added to, never taken away: production-dr is protected whatever the file says.
        lists[key] = tuple(sorted({v.strip() for v in value} | set(default)))
    stacks: dict[str, dict] = {}
    listed = doc.get("stacks", {})
    if not isinstance(listed, dict):
        problems.append(f"{SHOWN}: stacks must map each stack name to its gate settings")
        listed = {}
    for name, entry in listed.items():
        where = f"{SHOWN}: stacks.{name}"
        if not isinstance(entry, dict):
            problems.append(f"{where} must map {', '.join(PER_STACK)} to values")
            continue
        values: dict[str, Any] = {}
        for key, value in entry.items():
            setting = BY_PATH.get(PER_STACK.get(key, ""))
            if setting is None:
                problems.append(f"{where}.{key} is not a gate setting ({', '.join(PER_STACK)})")
                continue
            ok = isinstance(value, str) if setting.type == "string" else (
                isinstance(value, int) and not isinstance(value, bool))
            reason = None if not ok else setting.check(setting.normalize(value))
            if not ok or reason:
                problems.append(f"{where}.{key} ({show_value(value)}) {reason or 'must be a ' + setting.type}")
                continue
            values[setting.field] = setting.normalize(value)
        stacks[str(name)] = values
    warning = doc.get("cost_warning_percent", DEFAULT_COST_WARNING_PERCENT)
    if isinstance(warning, bool) or not isinstance(warning, int) or not 1 <= warning <= 100:
        problems.append(f"{SHOWN}: cost_warning_percent ({warning!r}) must be a whole percent from 1 to 100")
        warning = DEFAULT_COST_WARNING_PERCENT
    return Gates(lists["protected_stacks"], lists["protected_environments"], stacks, tuple(problems), warning)


def _differs(setting_path: str, value: Any) -> bool:
    setting = BY_PATH[setting_path]
    return value != setting.normalize(setting.default)


def apply(settings: GovernanceConfig, stack: str, gates: Gates,
          pack_stacks: Optional[tuple[str, ...]] = None) -> GovernanceConfig:
    """`settings` (from the stack's config) as the gates of `stack` must see them: protection from
    gates.yaml, and for a protected stack the gate settings from gates.yaml, with a problem line for
    each gate setting its stack file sets."""
    governed = dataclasses.replace(settings, governed_stacks=gates.protected_stacks,
                                   protected_environments=gates.protected_environments,
                                   cost_warning_percent=gates.cost_warning_percent)
    problems = list(settings.problems) + list(gates.problems)
    if not is_protected(stack, governed, pack_stacks):
        return dataclasses.replace(governed, problems=tuple(problems))
    # From here on every line is the gate's own (governance-gate-settings, which `platformctl gate`
    # runs too): a protected stack whose file holds a switch does not pass the pre-flight either.
    chosen = gates.stacks.get(stack, {})
    replaced = {}
    for name, path in PER_STACK.items():
        setting = BY_PATH[path]
        own = getattr(settings, setting.field)
        if _differs(path, own):
            problems.append(f"{NAMESPACE}:{path} is set in Pulumi.{stack}.yaml; {stack} is protected, so its gate "
                            f"settings live in {SHOWN} (stacks.{stack}.{name}), never in the stack's config: "
                            f"remove the key")
        replaced[setting.field] = chosen.get(setting.field, setting.normalize(setting.default))
    return dataclasses.replace(governed, **replaced, problems=tuple(settings.problems),
                               gate_problems=tuple(problems[len(settings.problems):]),
                               gate_settings_from=f"{SHOWN} stacks.{stack}")
