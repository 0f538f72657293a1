"""The config machinery every section shares: declared keys, typed reads, one-line errors.

Keys are flat dotted leaves in the `leadgen:` namespace (`leadgen:cluster.nodeGroups.general.maxSize`).
Pulumi's project schema can only declare scalars and arrays of scalars, so each leaf is declared in
Pulumi.yaml with its type, description and default. A stack file may also give a subtree as an
object (what `pulumi config set --path` writes); it is flattened to the same leaves, so both
spellings reach the same validation and the same error messages.

A key path may hold one `<name>` segment (`cluster.nodeGroups.<name>.minSize`): a template for a
map of named records, like terraform's `map(object)`. The stack file chooses the names; each
`cluster.nodeGroups.arm.minSize` it sets is read with the template's type, default and checks.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping, Optional, Sequence

import pulumi

from leadgen.config.validate import first_control, strings_in
from leadgen.pack import stackconfig

NAMESPACE = "leadgen"
NAME = "<name>"  # the template segment a stack file fills with a name of its choosing

TYPES = ("string", "integer", "number", "boolean", "array", "objects")


class ConfigError(pulumi.RunError):
    """A config problem, reported as one line that names the full key and the stack file.

    It derives from `pulumi.RunError` so the real CLI prints the message without a traceback.
    """


@dataclass(frozen=True, kw_only=True)
class Key:
    """One declared config leaf."""

    path: str
    type: str
    default: Any
    description: str
    items: Optional[str] = None  # element type of an `array`
    choices: Optional[Sequence[Any]] = None
    # Keys whose value must be given by the stack file (no sensible default).
    required: bool = False
    # Keys whose own check refuses a URL with credentials, in the words of the code that reads
    # it (the pack's settings: its store URL rule is the readers'); others get the rule below.
    own_url_rule: bool = False

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"{self.path}: unknown type {self.type}")
        if self.type == "array" and self.items not in ("string", "integer", "number", "boolean"):
            raise ValueError(f"{self.path}: arrays need a scalar items type")

    @property
    def full(self) -> str:
        return f"{NAMESPACE}:{self.path}"

    @property
    def is_template(self) -> bool:
        return NAME in self.path.split(".")


def _template(path: str) -> re.Pattern[str]:
    """`a.<name>.b` matches `a.<any segment>.b` and captures the segment."""
    return re.compile(r"\.".join("([^.]+)" if s == NAME else re.escape(s) for s in path.split(".")) + "$")


class _Known:
    """Declared paths, exact or templates: what `flatten` stops at and `Values` can read."""

    def __init__(self, paths: Iterable[str]):
        self.exact: set[str] = set()
        self.templates: list[tuple[str, re.Pattern[str]]] = []
        for p in paths:
            if NAME in p.split("."):
                self.templates.append((p, _template(p)))
            else:
                self.exact.add(p)

    def template_of(self, path: str) -> Optional[str]:
        return next((t for t, rx in self.templates if rx.match(path)), None)

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and (path in self.exact or self.template_of(path) is not None)


def flatten(raw: Mapping[str, Any], known_paths: Iterable[str]) -> dict[str, Any]:
    """Flatten `leadgen:` config into dotted leaves.

    `raw` maps full keys (`leadgen:cluster`) to values as the engine passes them: strings, where
    objects and lists arrive JSON-encoded. A nested object is walked down until the path is a
    declared leaf (arrays and object lists are leaves, never walked into).
    """
    flat, others = stackconfig.leaves(raw, _Known(known_paths).__contains__)
    # What is no declared leaf stays, so it is reported as an unknown key.
    return {**others, **flat}


_INT = re.compile(r"-?\d+")
# No config number means more than this; a larger one is a typo, and far past what the value's
# consumer (a replica count, a port, GiB) could take.
INT_MAX = 2 ** 53


# scheme://user[:password]@host...: the userinfo part of any URL-shaped string value.
_URL_USERINFO = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#\s]*@")


class Values:
    """Typed access to one stack's flattened config, with errors that name key and file."""

    def __init__(self, stack: str, raw: Mapping[str, Any], keys: Sequence[Key]):
        self.stack = stack
        self.stack_file = f"Pulumi.{stack}.yaml"
        self._keys = {k.path: k for k in keys}
        self._known = _Known(self._keys)
        self._flat = flatten(raw, self._keys)
        self._cache: dict[str, Any] = {}

    # -- errors ---------------------------------------------------------------------------
    def error(self, path: str, message: str) -> ConfigError:
        return ConfigError(f"{NAMESPACE}:{path} {message} in {self.stack_file}")

    def unknown_keys(self) -> list[str]:
        return sorted(p for p in self._flat if p not in self._known)

    def is_set(self, path: str) -> bool:
        return path in self._flat

    def names(self, template: str) -> list[str]:
        """The names a stack file gives a template's `<name>` (`cluster.nodeGroups.<name>`), sorted."""
        rx = re.compile(_template(template).pattern.removesuffix("$") + r"\.")
        return sorted({m.group(1) for p in self._flat if (m := rx.match(p))})

    def set_paths(self, template: str) -> list[str]:
        """The paths the stack file sets under a template key (`cluster.nodeGroups.<name>.minSize`)."""
        rx = _template(template)
        return sorted(p for p in self._flat if rx.match(p))

    def _key(self, path: str) -> Key:
        if path in self._keys:
            return self._keys[path]
        template = self._known.template_of(path)
        if template is None:
            raise KeyError(path)  # a programming error, not bad input
        return replace(self._keys[template], path=path)

    # -- typed reads ----------------------------------------------------------------------
    def get(self, path: str) -> Any:
        if path in self._cache:
            return self._cache[path]
        key = self._key(path)
        if path not in self._flat:
            if key.required:
                raise self.error(path, "is required but not set")
            value = key.default
        else:
            value = self._coerce(key, self._flat[path])
        if key.choices is not None and value not in key.choices:
            allowed = ", ".join(str(c) for c in key.choices)
            raise self.error(path, f"({_show(value)}) must be one of: {allowed}")
        self._cache[path] = value
        return value

    def _coerce(self, key: Key, value: Any) -> Any:
        t = key.type
        if t == "array":
            items = stackconfig.maybe_json(value)
            if not isinstance(items, list):
                raise self.error(key.path, f"({_show(value)}) must be a list of {key.items}s")
            return [self._scalar(key, key.items, v, index=i) for i, v in enumerate(items)]
        if t == "objects":
            items = stackconfig.maybe_json(value)
            if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
                raise self.error(key.path, f"({_show(value)}) must be a list of mappings")
            for where, text in strings_in(items, key.path):
                bad = first_control(text)
                if bad:
                    raise self.error(where, f"contains the control character {bad}; one line of text is expected")
            return [dict(i) for i in items]
        return self._scalar(key, t, value)

    def _scalar(self, key: Key, t: str, value: Any, index: Optional[int] = None) -> Any:
        where = key.path if index is None else f"{key.path}[{index}]"
        if t == "string":
            if isinstance(value, (dict, list)) or value is None:
                raise self.error(where, f"({_show(value)}) must be a string")
            if isinstance(value, str) and isinstance(stackconfig.maybe_json(value), (dict, list)):
                # The engine hands an object or list as JSON text; a string key never means one.
                kind = "a list" if isinstance(stackconfig.maybe_json(value), list) else "an object"
                raise self.error(where, f"must be text, not {kind}")
            text = str(value)
            bad = first_control(text)
            if bad:
                # Every string here ends in a tag, a name, a regex-checked field or a URL: a line
                # break or escape would pass a `$` anchor and reach AWS or the cluster.
                why = "ends with a line break" if text.rstrip("\r\n") != text else f"contains the control character {bad}"
                raise self.error(where, f"{why}; one line of text is expected")
            if _URL_USERINFO.match(text) and not key.own_url_rule:
                # Config reaches state, rendered files and logs in plaintext; the value is not
                # repeated here for the same reason.
                raise self.error(where, "holds a user name or password in its URL; credentials belong in AWS "
                                        "Secrets Manager (the component's secret), not in stack config")
            return text
        if t == "boolean":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise self.error(where, f"({_show(value)}) must be true or false")
        if t == "integer":
            if isinstance(value, bool):
                raise self.error(where, f"({_show(value)}) must be an integer")
            number = None
            if isinstance(value, int):
                number = value
            elif isinstance(value, float) and value.is_integer():
                number = int(value)
            elif isinstance(value, str) and _INT.fullmatch(value.strip()):
                digits = value.strip().lstrip("-")
                # int() of thousands of digits is slow and, past 4,300, refused by Python itself.
                number = int(value.strip()) if len(digits) <= 32 else INT_MAX + 1
                if number > INT_MAX:
                    raise self.error(where, f"({_short(value.strip())}) is out of range: at most {INT_MAX}")
            if number is None:
                raise self.error(where, f"({_show(value)}) must be an integer")
            if abs(number) > INT_MAX:
                raise self.error(where, f"({_short(number)}) is out of range: at most {INT_MAX}")
            return number
        if t == "number":
            if isinstance(value, bool):
                raise self.error(where, f"({_show(value)}) must be a number")
            try:
                number = float(value)
            except (TypeError, ValueError, OverflowError):
                raise self.error(where, f"({_show(value)}) must be a number") from None
            if not math.isfinite(number) or abs(number) > INT_MAX:
                raise self.error(where, f"({_short(value)}) must be a finite number of at most {INT_MAX}")
            return number
        raise AssertionError(t)


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else f"{text[:20]}...{text[-8:]} ({len(text)} characters)"


def _show(value: Any) -> str:
    if isinstance(value, str):
        text = json.dumps(value)
    else:
        text = json.dumps(value, default=str) if isinstance(value, (list, dict)) else str(value)
    # A value pasted by mistake can be megabytes: the line names it, it need not repeat it.
    return text if len(text) <= 120 else f"{text[:60]}...{text[-20:]} ({len(text)} characters)"
