"""The governance settings, declared once: keys, types, defaults, descriptions and checks.

Three readers share this declaration. The program (`leadgen/config/governance.py`) turns each
`Setting` into its config `Key`, which also generates Pulumi.yaml's config block and the README
table, and raises on the first problem; the pack (`from_mapping` on PULUMI_CONFIG) and platformctl
(the same function on the stack file) never raise: a bad value becomes a `problem` line that the
governance-config-valid gate reports.

Why the declaration lives here, inside the pack, and not in `leadgen/config`: the pack is the unit
that has to stand alone. The CLI runs it as `python -m pulumi.policy <engine> policies` with only
this folder on sys.path and its own requirements, and `pulumi policy publish` ships this folder
and nothing else, so the pack must not import the program. The program and platformctl load this
file as `governance.config` too, through `leadgen/pack.py`. So this module imports nothing outside the standard library and nothing else from
the pack but `stackconfig` (the one reader of a stack's config) and `signed_http` (the one rule
for which store URLs may be asked), both standard library only too: importing it from the
program costs no pulumi_policy and no YAML.

Both spellings a stack file may use are read alike, as the program reads them: flat leaves
(`leadgen:governance.prometheusUrl`) and objects (`leadgen:governance` holding
`{"prometheusUrl": ...}`, which `pulumi config set --path` writes and PULUMI_CONFIG carries as a
JSON string), at any depth. An object wins over a flat leaf, because under the real CLI the flat
leaf is always present with Pulumi.yaml's default, so the object is the explicit choice.
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from . import signed_http, stackconfig

NAMESPACE = "leadgen"
# The shape of a change request ID (changes/<ID>.yaml); checked before the ID is joined to a path.
# ASCII digits only, and nothing after them (`$` would also match before a final newline):
# `\d` matches any Unicode digit, so "CR-٢٠٢٦-014" would name a file nobody can find by eye.
CHANGE_REQUEST_ID = re.compile(r"^CR-[0-9]{4}-[0-9]{3,}\Z")
DEFAULT_PROTECTED_STACKS = ("production",)
# Change requests live in the repository's own `changes/` folder and nowhere else. It used to be a
# stack setting; a stack that names its own folder (absolute, `..`, a symlink) chooses which
# "approved" requests its gates read, so the folder is a fact of the repository, not of the stack.
CHANGES_DIR = "changes"
DEFAULT_CHANGES_DIR = CHANGES_DIR
# The share of the monthly budget from which the cost gate warns: governance/gates.yaml's
# `cost_warning_percent` decides it (the CAB's); this is only what holds when that file is absent.
DEFAULT_COST_WARNING_PERCENT = 80
# `governance.prometheusUrl` may name, instead of a URL, the Amazon Managed Prometheus workspace the
# stack itself declares: AWS assigns its id at creation, so no URL can be written before the first
# update. The gate reads the workspace's `prometheusEndpoint` from the stack (see gates.py).
STACK_AMP_WORKSPACE = "amp:stack"
# The stack environment that is always protected, whatever the stack is called.
PROTECTED_ENVIRONMENT = "production"
ENVIRONMENT_KEY = "leadgen:environment"


# -- checks: each returns the reason a typed value is refused, or None --------------------------
def _change_request_id(value: str) -> Optional[str]:
    return "must look like CR-2026-014" if value and not CHANGE_REQUEST_ID.match(value) else None


def _stack_names(value: tuple) -> Optional[str]:
    return "must be a list of stack names" if not all(value) else None


def _http_url(value: str) -> Optional[str]:
    if not value or value == STACK_AMP_WORKSPACE:
        return None
    parsed = urllib.parse.urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return f"must be an http(s) URL or {STACK_AMP_WORKSPACE} (the stack's own AMP workspace)"
    # Every reader of the store (the gate, `dr step-check`, the weekly report) refuses such a URL
    # at query time, so a stack file naming one could never pass a gate: refused here, once, in
    # the readers' own words (credentials, a query, plain http off this machine).
    return signed_http.store_refusal(value)


def _changes_folder(value: str) -> Optional[str]:
    # Kept as a setting only so stack files and Pulumi.yaml that name it still read; the one value
    # is the repository's own folder (see CHANGES_DIR).
    if value.rstrip("/") != CHANGES_DIR:
        return f"must be {CHANGES_DIR}: change requests are read only from the repository's {CHANGES_DIR}/ folder"
    return None


def _positive(value: int) -> Optional[str]:
    return "must be positive" if value <= 0 else None


def _not_negative(value: int) -> Optional[str]:
    return "must not be negative" if value < 0 else None


@dataclass(frozen=True)
class Setting:
    """One governance setting, in the `leadgen:` namespace."""

    path: str  # dotted key below `leadgen:`
    field: str  # attribute of GovernanceConfig
    type: str  # "string", "integer" or "array" (of `items`), as leadgen.config.base.Key spells them
    default: Any
    description: str
    items: Optional[str] = None
    normalize: Callable[[Any], Any] = lambda value: value
    check: Callable[[Any], Optional[str]] = lambda value: None
    # What the pack uses when the check refuses a value. False keeps the value: the gate that reads
    # it names the refused value itself and fails closed ("... is not a change request ID").
    # True falls back to the default: the safe value (protected stacks, a positive budget).
    fallback: bool = True

    @property
    def full(self) -> str:
        return f"{NAMESPACE}:{self.path}"


SETTINGS: tuple[Setting, ...] = (
    Setting("changeRequest", "change_request", "string", "",
            "ID of the change request this update runs under (changes/<ID>.yaml); recorded as a "
            "stack output.",
            normalize=str.strip, check=_change_request_id, fallback=False),
    Setting("governance.protectedStacks", "protected_stacks", "array", list(DEFAULT_PROTECTED_STACKS),
            "Stacks whose updates need an approved change request, a window, error budget and cost "
            "budget.",
            items="string", normalize=lambda stacks: tuple(s.strip() for s in stacks), check=_stack_names),
    Setting("governance.prometheusUrl", "prometheus_url", "string", "",
            "Where the error-budget gate reads slo_error_budget_remaining: an https Prometheus URL "
            "without credentials or a query in it (plain http only to a loopback address), or `amp:stack` for "
            "the Amazon Managed Prometheus workspace the stack declares (queried with SigV4).",
            normalize=lambda url: url.strip().rstrip("/"), check=_http_url, fallback=False),
    Setting("governance.monthlyBudgetUsd", "monthly_budget_usd", "integer", 25000,
            "Monthly cost budget, USD; the cost gate blocks above it and warns from governance/gates.yaml's "
            "cost_warning_percent of it.",
            check=_positive),
    Setting("governance.s3StorageGb", "s3_storage_gb", "integer", 500,
            "Expected S3 storage, GB, for the cost estimate.", check=_not_negative),
    Setting("governance.changesDir", "changes_dir", "string", DEFAULT_CHANGES_DIR,
            "Folder of change requests, relative to the project root.",
            normalize=str.strip, check=_changes_folder),
)
BY_PATH = {s.path: s for s in SETTINGS}
# Keys below these prefixes belong to this declaration; anything else there is a typo.
_OWNED_ROOTS = ("changeRequest", "governance")


@dataclass(frozen=True)
class GovernanceConfig:
    change_request: str = ""
    protected_stacks: tuple[str, ...] = DEFAULT_PROTECTED_STACKS
    prometheus_url: str = ""
    monthly_budget_usd: int = 25000
    s3_storage_gb: int = 500
    changes_dir: str = DEFAULT_CHANGES_DIR
    # `leadgen:environment`, read beside the settings (the program declares the key): a stack whose
    # environment is production is protected whatever its name and its protectedStacks say.
    environment: str = ""
    # Stacks and environments governance/gates.yaml protects (the CAB's file, never the stack's);
    # these defaults hold when the file is not there: production and its recovery stack.
    governed_stacks: tuple[str, ...] = ("production", "production-dr")
    protected_environments: tuple[str, ...] = (PROTECTED_ENVIRONMENT,)
    # Digest of the stack's whole resolved config (binding.py), what an approval signs; "" unknown.
    config_digest: str = ""
    # The image tags the stack's config resolves to (`leadgen:<...>.tag`), as (key, tag), sorted:
    # what a promoted stack must share with what staging ran (promotion.py).
    images: tuple[tuple[str, str], ...] = ()
    # Gate settings a protected stack's file sets, and a gates.yaml that cannot be used (gate_settings).
    gate_problems: tuple[str, ...] = ()
    # From which share of the budget the cost gate warns, from governance/gates.yaml (every stack).
    cost_warning_percent: int = DEFAULT_COST_WARNING_PERCENT
    # One line per unusable key, e.g. 'leadgen:governance.monthlyBudgetUsd (-5) must be positive'.
    problems: tuple[str, ...] = field(default=())
    # Where a protected stack's gate settings come from ('governance/gates.yaml stacks.production',
    # set by gate_settings.apply); "" when they are the stack's own config (see `setting_name`).
    gate_settings_from: str = ""


@dataclass(frozen=True)
class Problem:
    path: str
    reason: str  # without the key: '("lots") must be an integer'

    @property
    def line(self) -> str:
        return f"{NAMESPACE}:{self.path} {self.reason}"


class _Refused(ValueError):
    """A value of the wrong type, worded as leadgen.config.base words it."""

    def __init__(self, reason: str, where: str):
        super().__init__(reason)
        self.reason, self.where = reason, where


# -- the readers ---------------------------------------------------------------------------------
def settle(leaves: Mapping[str, Any], problems: Optional[list[Problem]] = None
           ) -> tuple[GovernanceConfig, list[Problem]]:
    """Settings from flat leaves (`{"governance.prometheusUrl": value}`; a missing leaf takes its
    default), with every problem. Values may be raw strings or already typed."""
    values: dict[str, Any] = {}
    problems = list(problems or ())
    for setting in SETTINGS:
        if setting.path not in leaves:
            values[setting.field] = setting.normalize(_typed(setting, setting.default))
            continue
        raw = leaves[setting.path]
        try:
            value = setting.normalize(_typed(setting, raw))
        except _Refused as refused:
            problems.append(Problem(refused.where, refused.reason))
            values[setting.field] = setting.normalize(_typed(setting, setting.default))
            continue
        reason = setting.check(value)
        if reason is not None:
            problems.append(Problem(setting.path, f"({show_value(value)}) {reason}"))
            if setting.fallback:
                value = setting.normalize(_typed(setting, setting.default))
        values[setting.field] = value
    return GovernanceConfig(**values, problems=tuple(p.line for p in problems)), problems


def from_mapping(config: Mapping[str, Any]) -> GovernanceConfig:
    """The settings from a stack's config as `{"leadgen:key": value}`: PULUMI_CONFIG as the CLI
    hands it to the pack (objects as JSON strings), or a parsed stack file (objects as dicts).
    Never raises; unusable values are in `.problems`."""
    leaves, unknown = _leaves(config)
    settings, _ = settle(leaves, [Problem(path, _unknown_reason(path)) for path in unknown])
    environment = config.get(ENVIRONMENT_KEY)
    if isinstance(environment, str) and environment.strip():
        settings = dataclasses.replace(settings, environment=environment.strip())
    return dataclasses.replace(settings, config_digest=config_digest(config), images=images_of(config))


IMAGE_TAG = re.compile(r"^leadgen:[A-Za-z0-9_.-]+\.tag\Z")


def images_of(config: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The image tags a stack's resolved config sets (empty ones, an unused canary, left out)."""
    return tuple(sorted((k, v.strip()) for k, v in config.items()
                        if isinstance(k, str) and IMAGE_TAG.match(k) and isinstance(v, str) and v.strip()))


CHANGE_REQUEST_KEY = f"{NAMESPACE}:changeRequest"


def config_digest(config: Mapping[str, Any]) -> str:
    """`sha256:<hex>` of a stack's resolved config (`{"ns:key": value}`, as PULUMI_CONFIG carries
    it or platformctl resolves it), what an approval binds. Values are compared as the CLI hands
    them to the pack (strings; objects and lists as JSON, re-serialised canonically so spacing does
    not matter). `leadgen:changeRequest` is left out: it is set after the approval, to name it."""
    import hashlib

    def canonical(value: Any) -> str:
        decoded = stackconfig.maybe_json(value)
        if isinstance(decoded, (dict, list)):
            return json.dumps(decoded, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return value if isinstance(value, str) else json.dumps(value)
    body = {str(k): canonical(v) for k, v in config.items() if k != CHANGE_REQUEST_KEY}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def protected_stacks(settings: GovernanceConfig, pack_stacks: Optional[tuple[str, ...]] = None
                     ) -> frozenset[str]:
    """The stacks protected for this stack's update: the pack's own list (its policy config, as an
    organisation's policy group sets it; the default when none is set) plus whatever the stack's
    config adds. The stack's config can only add: its `protectedStacks: []` removes nothing."""
    pack = DEFAULT_PROTECTED_STACKS if pack_stacks is None else tuple(pack_stacks)
    return frozenset(pack) | frozenset(settings.protected_stacks)


def is_protected(stack: str, settings: GovernanceConfig, pack_stacks: Optional[tuple[str, ...]] = None) -> bool:
    """Whether an update of `stack` goes through the gates: listed by the pack or the stack, or a
    stack of the production environment under any name."""
    return (stack in protected_stacks(settings, pack_stacks) or stack in settings.governed_stacks
            or settings.environment.strip().lower() in settings.protected_environments)


def _leaves(config: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Flat leaves of this declaration's keys, and the unknown keys below its roots."""
    flat, others = stackconfig.leaves(config, BY_PATH.__contains__, roots=_OWNED_ROOTS)
    return flat, sorted(others)


def _unknown_reason(path: str) -> str:
    close = difflib.get_close_matches(path, list(BY_PATH), n=1)
    return "is not a known key" + (f"; did you mean {NAMESPACE}:{close[0]}?" if close else "")


# -- types: the same rules, and the same words, as leadgen.config.base.Values ------------------
_INT = re.compile(r"^-?\d+$")


def _typed(setting: Setting, value: Any) -> Any:
    if setting.type == "array":
        items = stackconfig.maybe_json(value)
        if not isinstance(items, list):
            raise _Refused(f"({_show(value)}) must be a list of {setting.items}s", setting.path)
        return [_scalar(setting.items, v, f"{setting.path}[{i}]") for i, v in enumerate(items)]
    return _scalar(setting.type, value, setting.path)


def _scalar(typ: str, value: Any, where: str) -> Any:
    if typ == "string":
        if isinstance(value, (dict, list)) or value is None:
            raise _Refused(f"({_show(value)}) must be a string", where)
        return str(value)
    if typ == "integer":
        if isinstance(value, bool):
            raise _Refused(f"({_show(value)}) must be an integer", where)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and _INT.match(value.strip()):
            return int(value.strip())
        raise _Refused(f"({_show(value)}) must be an integer", where)
    raise AssertionError(typ)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    return json.dumps(value, default=str) if isinstance(value, (list, dict)) else str(value)


def setting_name(settings: GovernanceConfig, field_name: str) -> str:
    """How a line names the gate setting behind `settings.<field_name>`: gates.yaml's key for a
    protected stack (its stack file may not set it), the stack's config key otherwise."""
    if settings.gate_settings_from:
        return f"{settings.gate_settings_from}.{field_name}"
    return next(s.full for s in SETTINGS if s.field == field_name)


def show_value(value: Any) -> str:
    if isinstance(value, tuple):
        return json.dumps(list(value))
    # A refused URL is shown without its credentials or query: the line reaches terminals and CI
    # logs. Other text (a `?` in a change request id) is shown as it is.
    return repr(signed_http.shown(value) if isinstance(value, str) and "://" in value else value)
