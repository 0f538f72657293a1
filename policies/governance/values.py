"""Reading resource properties that may be unknown at preview time.

During `pulumi preview` any property computed from another resource's output arrives as one of
the engine's unknown sentinels. A policy that sees one must skip the check (the value is decided
later, and `pulumi up` runs the pack again with the real value), never report a violation.
"""
from __future__ import annotations

from typing import Any, Iterable

# The sentinels pulumi_policy uses (pulumi_policy/proxy.py); the string one is by far the most common.
UNKNOWN_VALUES = frozenset({
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # boolean
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9",  # string
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
    "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
    "e48ece36-62e2-4504-bad9-02848725956a",  # archive
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
})
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


class Unknown(Exception):
    """Raised by `get` when a value on the path is not known yet; the wrapper turns it into a skip."""


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value in UNKNOWN_VALUES


def has_unknown(value: Any) -> bool:
    """True when the value or anything nested in it is unknown."""
    if is_unknown(value):
        return True
    if isinstance(value, dict):
        return any(has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(has_unknown(v) for v in value)
    return False


def get(props: Any, path: str, default: Any = None) -> Any:
    """`get(props, "vpcConfig.endpointPublicAccess")`; raises Unknown on an unknown value on the way."""
    value = props
    for part in path.split("."):
        if is_unknown(value):
            raise Unknown(path)
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return default
        if value is None:
            return default
    if is_unknown(value):
        raise Unknown(path)
    return value


def as_list(value: Any) -> list:
    if value is None:
        return []
    if is_unknown(value):
        raise Unknown("list")
    return value if isinstance(value, list) else [value]


def truthy(value: Any) -> bool:
    """Booleans that some providers type as strings ("true" in launch-template block devices)."""
    if is_unknown(value):
        raise Unknown("bool")
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True


def plain(value: Any) -> Any:
    """pulumi_policy wraps properties in proxies that raise on unknowns; policies want plain data."""
    target = None
    try:
        target = value["__target"]
    except (TypeError, KeyError, IndexError):
        pass
    if target is not None and not isinstance(value, (dict, list, str)):
        value = target
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf Struct turns every number into a float
    return value


def first(items: Iterable[Any], default: Any = None) -> Any:
    return next(iter(items), default)
