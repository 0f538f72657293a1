"""Every declared config key, given what a careless operator or an attacker would give it.

The cases are generated from `leadgen.config.all_keys()` (template keys with the built-in group
`general`): wrong types, huge numbers, a trailing line break, control and bidi characters, lists
and objects where text is meant. Each must end in one clean line that names the key (or an item
or field under it) and the stack file, with nothing registered: the real program runs under the
mock engine for every case.
"""
from __future__ import annotations

import json
import unicodedata

import pytest

from leadgen.config import ConfigError, all_keys
from leadgen.config.base import NAME, Key
from tests.helpers import run_program

STACK = "production"
GROUP = "general"  # a built-in node group, so its template keys are real paths

HUGE = "1" + "0" * 20          # 10^20: past every bound and past 2^53
ENORMOUS = "9" * 5000          # past what Python's int() takes by default


def _path(key: Key) -> str:
    return key.path.replace(NAME, GROUP)


def _bad_values(key: Key) -> list[tuple[str, str]]:
    """(label, value as the engine hands it: a string, JSON for lists and objects)."""
    text = "platform" if not isinstance(key.default, str) or not key.default else key.default
    if key.type == "string":
        return [("list", json.dumps([text])), ("object", json.dumps({"value": text})),
                ("trailing-newline", text + "\n"), ("carriage-return", text + "\r"),
                ("ansi-escape", "\x1b[31m" + text), ("nul", text + "\x00"),
                ("bidi-override", text + "\u202e")]
    if key.type == "integer":
        return [("word", "three"), ("fraction", "1.5"), ("huge", HUGE), ("huge-negative", "-" + HUGE),
                ("enormous", ENORMOUS), ("boolean", "true"), ("list", "[1]"), ("newline", "3\n4")]
    if key.type == "number":
        return [("word", "three"), ("nan", "NaN"), ("infinity", "inf"), ("overflow", "1e400"),
                ("huge", HUGE), ("enormous", ENORMOUS), ("list", "[1]")]
    if key.type == "boolean":
        return [("yes", "yes"), ("number", "2"), ("list", '["true"]'), ("newline", "true\n")]
    if key.type == "array":
        item = {"string": text + "\n", "integer": "x", "number": "x", "boolean": "maybe"}[key.items]
        cases = [("scalar", "not-a-list"), ("object", '{"a": 1}'), ("nested-list", "[[1]]"),
                 ("null-item", "[null]"), ("bad-item", json.dumps([item]))]
        if key.items == "string":
            cases += [("control-item", json.dumps(["a\x1bb"])), ("object-item", '[{"a": 1}]')]
        if key.items == "integer":
            cases += [("huge-item", f"[{HUGE}]")]
        return cases
    if key.type == "objects":
        return [("scalar", "x"), ("list-of-scalars", "[1]"), ("object", '{"a": 1}'),
                ("control-in-field", json.dumps([{"name": "a\x1bb"}])),
                ("newline-in-field", json.dumps([{"name": "a\n"}]))]
    raise AssertionError(key.type)


CASES = [(_path(k), label, value) for k in all_keys() for label, value in _bad_values(k)]


def test_every_declared_key_is_fuzzed():
    fuzzed = {path for path, _, _ in CASES}
    assert fuzzed == {_path(k) for k in all_keys()}
    assert len(CASES) > 400


def _printable(line: str) -> bool:
    return all(unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp") for c in line)


@pytest.mark.parametrize("path,label,value", CASES, ids=[f"{p}:{label}" for p, label, _ in CASES])
def test_bad_value_is_one_clean_line_naming_the_key_and_registers_nothing(path, label, value):
    with pytest.raises(ConfigError) as caught:
        run_program(STACK, {f"leadgen:{path}": value})
    message = str(caught.value)
    assert message.startswith(f"leadgen:{path}"), message
    # The key itself, an item of it (`[0]`) or a field under it (`.name`), then a space.
    assert message[len(f"leadgen:{path}")] in " [.", message
    assert message.endswith(f"in Pulumi.{STACK}.yaml"), message
    assert "\n" not in message and _printable(message), repr(message)
    assert len(message) < 400, message
    assert caught.value.registered == []
