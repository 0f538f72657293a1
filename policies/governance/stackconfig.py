"""The one reader of a stack's `leadgen:` config as the engine hands it over, shared by the program
(`leadgen/config/base.py`, which types and validates every declared key) and the pack
(`governance/config.py`, which reads the governance settings from PULUMI_CONFIG).

Both spellings a stack file may use are read alike: flat leaves (`leadgen:governance.prometheusUrl`)
and objects (`leadgen:governance` holding `{"prometheusUrl": ...}`, which `pulumi config set --path`
writes and the engine passes as a JSON string), at any depth. An object wins over a flat leaf,
because under the real CLI the flat leaf is always present with Pulumi.yaml's default, so the
object is the explicit choice; of two objects that spell the same leaf, the more specific one
(`leadgen:governance.x` over `leadgen:governance`) wins.

Standard library only: the program imports it without the pack's dependencies.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Iterable, Mapping, Optional

NAMESPACE = "leadgen"


def maybe_json(value: Any) -> Any:
    """A JSON-encoded object or list as the engine passes it, decoded; anything else as it is."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def leaves(config: Mapping[str, Any], is_leaf: Callable[[str], bool], *,
           roots: Optional[Iterable[str]] = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(leaves, others) of the `leadgen:` keys of `config` (full keys to values).

    `is_leaf(path)` says which dotted paths are declared leaves (arrays and object lists are leaves,
    never walked into); objects are walked down until the path is one. `others` holds what is no
    declared leaf: a value where an object was expected, or a path below no leaf. With `roots`,
    only paths under those first segments are read."""
    prefix = NAMESPACE + ":"
    roots = None if roots is None else frozenset(roots)
    flat: dict[str, Any] = {}
    nested: dict[str, tuple[int, Any]] = {}  # path -> (depth of the object it came from, value)
    others: dict[str, Any] = {}
    for full_key, value in config.items():
        if not isinstance(full_key, str) or not full_key.startswith(prefix):
            continue
        path = full_key[len(prefix):]
        if roots is not None and path.split(".", 1)[0] not in roots:
            continue
        if is_leaf(path):
            flat[path] = value
            continue
        decoded = maybe_json(value)
        if isinstance(decoded, Mapping):
            _walk(path, decoded, path.count("."), is_leaf, nested, others)
        else:
            others[path] = value
    for path, (_, value) in nested.items():
        flat[path] = value
    return flat, others


def _walk(path: str, value: Any, depth: int, is_leaf: Callable[[str], bool],
          out: dict[str, tuple[int, Any]], others: dict[str, Any]) -> None:
    if is_leaf(path):
        if path not in out or out[path][0] <= depth:
            out[path] = (depth, value)
        return
    if not isinstance(value, Mapping):
        others[path] = value
        return
    for key, child in value.items():
        _walk(f"{path}.{key}", child, depth, is_leaf, out, others)
