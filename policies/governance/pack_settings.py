"""The pack's own configuration: which stacks are protected, whatever a stack's config says.

A stack's config is written by whoever changes the stack, so it cannot be where protection is
decided: `leadgen:governance.protectedStacks: []` in Pulumi.production.yaml used to switch every
gate off. Protection comes from here instead: the pack declares `protectedStacks` in the config
schema of its `change-request-required` policy, with `["production"]` as the default, and the
organisation sets it as a policy group sets any pack's config (`--policy-pack-config`, or the
group's pack config in Pulumi Cloud). The CLI validates the value against the schema and sends
it in `Configure`; this module keeps it for every policy of the pack, because the SDK hands each
policy only its own config and the rds and gate policies all need the same list.

The stack's config may still add stacks (`config.is_protected`), and a stack whose
`leadgen:environment` is production is protected under any name.
"""
from __future__ import annotations

import threading
from typing import Any, Mapping, Optional

from .config import DEFAULT_PROTECTED_STACKS

OWNER = "change-request-required"  # the policy whose config schema declares the setting
PROPERTY = "protectedStacks"
SCHEMA = {
    PROPERTY: {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "default": list(DEFAULT_PROTECTED_STACKS),
        "description": "Stacks whose updates need a signed change request in its window, error budget "
                       "and cost budget. A stack's own config may add to this list, never remove from it.",
    },
}

_lock = threading.Lock()
_configured: dict[str, Any] = {"stacks": None, "problem": None}


def record(policy_config: Mapping[str, Mapping[str, Any]]) -> None:
    """Keep `protectedStacks` from a Configure request's per-policy properties (any policy's value
    counts; the values of several are united, so none can shrink another's list)."""
    stacks: Optional[set[str]] = None
    problem = None
    for name, properties in policy_config.items():
        if not isinstance(properties, Mapping) or PROPERTY not in properties:
            continue
        value = properties[PROPERTY]
        if not isinstance(value, list) or not all(isinstance(s, str) and s.strip() for s in value):
            problem = (f"policy config {name}.{PROPERTY} ({value!r}) must be a list of stack names; "
                       f"using {list(DEFAULT_PROTECTED_STACKS)}")
            value = list(DEFAULT_PROTECTED_STACKS)
        stacks = (stacks or set()) | {s.strip() for s in value}
    with _lock:
        _configured["stacks"] = tuple(sorted(stacks)) if stacks is not None else None
        _configured["problem"] = problem


def stacks() -> Optional[tuple[str, ...]]:
    """The pack's protected stacks as configured, or None when nothing was configured (then the
    declared default applies, as the CLI itself would fill it in)."""
    with _lock:
        return _configured["stacks"]


def problem() -> Optional[str]:
    with _lock:
        return _configured["problem"]


def install(locked: frozenset[str] = frozenset()) -> None:
    """Wrap the SDK's Configure so the pack sees the config of every policy, not only its own, and
    so no config lowers a `locked` policy below mandatory.

    The gates judge whether an update may run at all; a `--policy-pack-config` that set them to
    `disabled` or `advisory` updated production with no change request, window, attestation or budget
    check. A policy group's config may still tune the guardrails; the gates report only on protected
    stacks, so holding them mandatory everywhere is holding them mandatory where they speak."""
    import pulumi_policy.policy as sdk
    from google.protobuf import json_format
    from pulumi.runtime.proto import analyzer_pb2

    servicer = sdk._PolicyAnalyzerServicer
    if getattr(servicer.Configure, "__leadgen_settings__", False):
        return
    original = servicer.Configure

    def configure(self, request, context):
        record({name: json_format.MessageToDict(request.policyConfig[name].properties)
                for name in request.policyConfig})
        for name in locked:
            if name in request.policyConfig:
                request.policyConfig[name].enforcementLevel = analyzer_pb2.MANDATORY
        return original(self, request, context)
    configure.__leadgen_settings__ = True
    servicer.Configure = configure
