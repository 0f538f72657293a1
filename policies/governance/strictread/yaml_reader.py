"""Strict YAML: the document read as PyYAML events and built into `Node`s with every trap refused
(aliases capped, duplicate keys, non-text keys, YAML 1.1's silent conversions reported as "quote
it"), then checked for the strings a caller requires."""
from __future__ import annotations

import dataclasses
import fnmatch
import math
import re
from typing import Any, Callable, Optional, Union

import yaml
from yaml.nodes import ScalarNode

from .. import escape
from .limits import YAML_LIMITS, Limits, PathSpec, ReadError, Source, Stats, display_name, read_bytes

# --- YAML --------------------------------------------------------------------------------------
_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_TAG}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # only its event parser is used
_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


@dataclasses.dataclass
class Node:
    """One YAML node with where it came from.

    kind: "scalar", "list" or "map". For scalars `value` is the Python value YAML 1.1 gives,
    `text` the characters as written, `tag` the resolved type (str, int, float, bool, null,
    timestamp) and `quoted` whether it was quoted or a block scalar (so text was certainly meant).
    For lists `value` is a list of Nodes, for maps a dict of key -> Node (keys are always text).
    """

    kind: str
    path: str
    line: int
    source: str
    value: Any
    tag: str = ""
    text: str = ""
    quoted: bool = False

    def plain(self) -> Any:
        """Plain Python data: dicts, lists and scalar values."""
        if self.kind == "map":
            return {k: v.plain() for k, v in self.value.items()}
        if self.kind == "list":
            return [v.plain() for v in self.value]
        return self.value

    def get(self, key: str, default: Any = None) -> Any:
        return self.value.get(key, default) if self.kind == "map" else default

    def error(self, cause: str) -> ReadError:
        return ReadError(self.source, self.path or f"line {self.line}", cause)

    def string(self, *, single_line: bool = False) -> str:
        """The value as text, or a ReadError saying why it is not text (and how to quote it)."""
        if self.kind != "scalar":
            raise self.error(f"expected text, got a {'list' if self.kind == 'list' else 'mapping'}")
        if self.tag != "str":
            raise self.error(_not_text(self))
        if single_line:
            bad = escape.INVISIBLE.search(self.value)
            if bad is not None:
                if self.value.endswith(("\n", "\r")) and bad.start() >= len(self.value.rstrip("\r\n")):
                    raise self.error("ends with a line break; one line of text is expected "
                                     "(a `|` block keeps its last newline: use `|-` or a quoted string)")
                raise self.error(f"contains the control character {escape.show(bad)}; one line of text is expected")
        return self.value


def _reads_as(node: Node) -> str:
    """What YAML 1.1 made of an unquoted scalar, in words."""
    if node.tag == "timestamp":
        return f"the date {node.value.isoformat()}"
    return {"null": "null", "bool": f"the boolean {node.value}", "int": f"the integer {node.value}",
            "float": f"the number {node.value!r}"}.get(node.tag, f"a {node.tag}")


def _not_text(node: Node) -> str:
    if node.tag == "null" and not node.text.strip():
        return "is empty (read as null); give the value as quoted text"
    return f"must be quoted: unquoted {node.text} would become {_reads_as(node)}; write \"{node.text}\""


def _child_path(parent: str, key: Union[str, int]) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


@dataclasses.dataclass
class _Open:
    """A list or map still being read."""

    node: Node
    anchor: Optional[str]
    key: Optional[str] = None  # a map's key whose value comes next
    key_lines: dict = dataclasses.field(default_factory=dict)  # key -> line it first appeared on


class _YamlBuilder:
    """Composes nodes from parser events without recursion, enforcing every cap as it goes."""

    def __init__(self, name: str, limits: Limits, stats: Stats):
        self.name, self.limits, self.stats = name, limits, stats
        self.stack: list[_Open] = []
        self.anchors: dict[str, Node] = {}
        self.root: Optional[Node] = None
        self.documents = 0

    def fail(self, where: str, line: int, cause: str) -> ReadError:
        return ReadError(self.name, where or f"line {line}", cause)

    def _count(self, path: str, line: int, n: int = 1) -> None:
        self.stats.nodes += n
        if self.limits.max_nodes is not None and self.stats.nodes > self.limits.max_nodes:
            raise self.fail(path, line, f"more than {self.limits.max_nodes} values (aliases expand to too much)")

    def _next_path(self) -> str:
        if not self.stack:
            return ""
        frame = self.stack[-1]
        if frame.node.kind == "list":
            return _child_path(frame.node.path, len(frame.node.value))
        return _child_path(frame.node.path, frame.key)

    def _depth_check(self, path: str, line: int, depth: int) -> None:
        self.stats.depth = max(self.stats.depth, depth)
        if depth > self.limits.max_depth:
            raise self.fail(path, line, f"nested deeper than {self.limits.max_depth} levels")

    def _attach(self, node: Node, anchor: Optional[str]) -> None:
        if anchor is not None:
            self.anchors[anchor] = node
        if not self.stack:
            self.root = node
            return
        frame = self.stack[-1]
        if frame.node.kind == "list":
            frame.node.value.append(node)
        else:
            frame.node.value[frame.key] = node
            frame.key = None

    def _awaiting_key(self) -> bool:
        return bool(self.stack) and self.stack[-1].node.kind == "map" and self.stack[-1].key is None

    def feed(self, event: Any) -> None:
        line = event.start_mark.line + 1 if event.start_mark is not None else 0
        anchor = getattr(event, "anchor", None)
        if anchor is not None and self.limits.max_aliases == 0 and not isinstance(event, yaml.AliasEvent):
            # A file that takes no aliases has no use for an anchor; say so where it is defined.
            where = self.stack[-1].node.path if self._awaiting_key() else self._next_path()
            raise self.fail(where, line, f"carries an anchor (&{anchor}); this file takes no aliases: "
                                         "write every value out, once")
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise self.fail("", line, "a second YAML document (---) follows the first; one document is expected "
                                          "and a reader could take either")
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            is_map = isinstance(event, yaml.MappingStartEvent)
            if self._awaiting_key():
                raise self.fail(self.stack[-1].node.path, line, "a key must be text, not a list or mapping")
            expected = f"{_TAG}{'map' if is_map else 'seq'}"
            if event.tag not in (None, "!", expected):
                raise self.fail(self._next_path(), line, f"tag {event.tag} is not allowed")
            path = self._next_path()
            self._depth_check(path, line, len(self.stack) + 1)
            self._count(path, line)
            node = Node("map" if is_map else "list", path, line, self.name, {} if is_map else [])
            self.stack.append(_Open(node, event.anchor))
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            frame = self.stack.pop()
            self._attach(frame.node, frame.anchor)
        elif isinstance(event, yaml.ScalarEvent):
            if self._awaiting_key():
                self._key(event, line)
                return
            path = self._next_path()
            self._count(path, line)
            self._attach(self._scalar(event, path, line), event.anchor)
        elif isinstance(event, yaml.AliasEvent):
            self.stats.aliases += 1
            path = self._next_path()
            if self.stats.aliases > self.limits.max_aliases:
                raise self.fail(path, line, f"more than {self.limits.max_aliases} alias uses (*{event.anchor}); "
                                            "aliases are capped so a small file cannot expand to gigabytes")
            if self._awaiting_key():
                raise self.fail(self.stack[-1].node.path, line, f"alias *{event.anchor} used as a key; keys must be text")
            target = self.anchors.get(event.anchor)
            if target is None:
                raise self.fail(path, line, f"alias *{event.anchor} refers to no anchor defined before it")
            self._attach(self._copy(target, path, line, len(self.stack)), None)

    def _copy(self, node: Node, path: str, line: int, depth: int) -> Node:
        """An alias is expanded in place (its values get their own paths), counted node by node."""
        self._count(path, line)
        if node.kind == "scalar":
            return dataclasses.replace(node, path=path, line=line)
        self._depth_check(path, line, depth + 1)
        if node.kind == "list":
            items = [self._copy(v, _child_path(path, i), line, depth + 1) for i, v in enumerate(node.value)]
            return dataclasses.replace(node, path=path, line=line, value=items)
        return dataclasses.replace(node, path=path, line=line,
                                   value={k: self._copy(v, _child_path(path, k), line, depth + 1)
                                          for k, v in node.value.items()})

    def _key(self, event: Any, line: int) -> None:
        frame = self.stack[-1]
        parent = frame.node
        tag = self._resolve(event)
        key = event.value
        if tag == f"{_TAG}merge":
            raise self.fail(parent.path, line, "merge keys (<<) are not allowed; write the keys out")
        if tag != f"{_TAG}str":
            scalar = self._scalar(event, _child_path(parent.path, key), line)
            raise self.fail(_child_path(parent.path, key), line,
                            f"key {key} would become {_reads_as(scalar)}; keys must be text: write \"{key}\"")
        first = frame.key_lines.get(key)
        if first is not None:
            raise self.fail(_child_path(parent.path, key), line,
                            f"duplicate key (first on line {first}, again on line {line}); "
                            "the last would silently win")
        frame.key_lines[key] = line
        frame.key = key

    def _resolve(self, event: Any) -> str:
        if event.tag in (None, "!"):
            return _RESOLVER.resolve(ScalarNode, event.value, event.implicit)
        return event.tag

    def _scalar(self, event: Any, path: str, line: int) -> Node:
        tag = self._resolve(event)
        if tag not in _SCALAR_TAGS:
            raise self.fail(path, line, f"tag {event.tag} is not allowed")
        short = tag[len(_TAG):]
        text = event.value
        quoted = event.style not in (None, "")  # libyaml reports a plain scalar as ""
        if short == "int":
            digits = re.sub(r"[^0-9a-fA-F]", "", text.lstrip("+-").replace("0x", "").replace("0b", "").replace("0o", ""))
            if len(digits) > self.limits.max_int_digits:
                raise self.fail(path, line, f"integer with {len(digits)} digits; the limit is "
                                            f"{self.limits.max_int_digits}")
        try:
            value = _CONSTRUCTOR.construct_object(ScalarNode(tag, text, event.start_mark, event.end_mark,
                                                             style=event.style), deep=True)
        except (ValueError, OverflowError, yaml.constructor.ConstructorError) as exc:
            if short == "timestamp":
                raise self.fail(path, line, f"{text} is not a real date ({exc})") from None
            raise self.fail(path, line, f"{text!r} is not a valid {short} ({exc})") from None
        if short == "float" and not math.isfinite(value):
            raise self.fail(path, line, f"{text} is not a finite number")
        return Node("scalar", path, line, self.name, value, tag=short, text=text, quoted=quoted)


def _yaml_error(name: str, text: str, exc: yaml.YAMLError) -> ReadError:
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else 0
        char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
        return ReadError(name, f"line {line}", f"character U+{char:04X} is not allowed in YAML")
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return ReadError(name, where, f"not valid YAML ({problem})")


# Refused anywhere in a YAML file, before parsing: what YAML 1.1 itself refuses (outside its
# `c-printable`), and what it accepts but no file of ours needs: NEL and U+2028/2029 (YAML line
# breaks that most editors do not show) and bidi/zero-width characters (text that reads other
# than it parses). TAB, LF and CR are the only controls left.
_NOT_PRINTABLE = re.compile("(?![\t\n\r])(?:" + escape.INVISIBLE.pattern +
                            "|[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff])")
_PLACEHOLDER = "\ue000"  # printable to YAML, never in our files: marks a bad character's place


def _place(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    return f"line {line}, column {index - (text.rfind(chr(10), 0, index) + 1) + 1}"


def _key_at(text: str, index: int, name: str, limits: Limits) -> str:
    """The path of the value (or key) holding the character at `index`, found by parsing a copy
    with a placeholder there; "" when it is in a comment or the copy does not parse either."""
    copy = text[:index] + _PLACEHOLDER + text[index + 1:]
    builder = _YamlBuilder(name, limits, Stats())
    try:
        for event in yaml.parse(copy, Loader=_LOADER):
            builder.feed(event)
    except (yaml.YAMLError, ReadError):
        return ""
    pending = [builder.root] if builder.root is not None else []
    while pending:
        node = pending.pop()
        if node.kind == "scalar":
            if _PLACEHOLDER in node.text:
                return node.path
        elif node.kind == "list":
            pending.extend(reversed(node.value))
        else:
            for key, child in node.value.items():
                if _PLACEHOLDER in key:
                    return child.path.replace(_PLACEHOLDER, "\ufffd")
            pending.extend(reversed(list(node.value.values())))
    return ""


def parse_yaml(source: Source, *, name: Optional[str] = None, limits: Limits = YAML_LIMITS,
               expect: Optional[str] = "map", stats: Optional[Stats] = None) -> Node:
    """The document as a `Node` tree, every cap enforced; an empty document is an empty map.

    `source` is a path or the file's bytes; `name` is how errors name the file (default: the
    path). `expect` is "map", "list" or None (anything).
    """
    name = display_name(source, name)
    stats = stats if stats is not None else Stats()
    data = read_bytes(source, name, limits.max_bytes)
    stats.bytes_read = len(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Name the key as well as the place: the bytes before the fault are text, the rest is
        # decoded leniently only to find which value the fault sits in.
        good = data[:exc.start].decode("utf-8")
        text = good + _PLACEHOLDER + data[exc.end:].decode("utf-8", "replace")
        raise ReadError(name, _key_at(text, len(good), name, limits),
                        f"not UTF-8 text (byte 0x{data[exc.start]:02x} at {_place(text, len(good))})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    bad = _NOT_PRINTABLE.search(text)
    if bad is not None:
        raise ReadError(name, _key_at(text, bad.start(), name, limits),
                        f"character U+{ord(bad.group()):04X} at {_place(text, bad.start())} is not allowed "
                        "(a control or invisible formatting character)")
    builder = _YamlBuilder(name, limits, stats)
    try:
        for event in yaml.parse(text, Loader=_LOADER):
            stats.events += 1
            builder.feed(event)
    except yaml.YAMLError as exc:
        raise _yaml_error(name, text, exc) from None
    root = builder.root
    if root is None or (root.kind == "scalar" and root.tag == "null" and not root.text.strip()):
        root = Node("list" if expect == "list" else "map", "", 1, name, [] if expect == "list" else {})
    if expect is not None and root.kind != expect:
        got = {"map": "a mapping", "list": "a list"}.get(root.kind, f"a single {root.tag} value")
        raise ReadError(name, "", f"the document is {got}; expected {'a mapping' if expect == 'map' else 'a list'}")
    return root


def _matcher(spec: PathSpec) -> Callable[[str], bool]:
    if spec is None:
        return lambda path: False
    if callable(spec):
        return spec
    patterns = tuple(spec)
    return lambda path: any(fnmatch.fnmatchcase(path, p) for p in patterns)


def check_strings(root: Node, strings: PathSpec = None, single_line: PathSpec = None) -> None:
    """Refuses a non-text value at every path `strings` matches, and a line break or other control
    character at every path `single_line` matches (which implies text).

    Specs are fnmatch patterns over paths (`config.leadgen:workloads.*.tag`, `approvals[*].by`;
    `*` also crosses `.` and `[]`) or a callable taking the path.
    """
    want_text, want_line = _matcher(strings), _matcher(single_line)
    pending = [root]
    while pending:
        node = pending.pop()
        if node.path:
            one_line = want_line(node.path)
            if one_line or want_text(node.path):
                node.string(single_line=one_line)
                continue
        if node.kind == "map":
            pending.extend(reversed(list(node.value.values())))
        elif node.kind == "list":
            pending.extend(reversed(node.value))


def load_yaml(source: Source, *, name: Optional[str] = None, limits: Limits = YAML_LIMITS,
              expect: Optional[str] = "map", strings: PathSpec = None, single_line: PathSpec = None,
              stats: Optional[Stats] = None) -> Any:
    """`parse_yaml` + `check_strings`, returned as plain Python data."""
    root = parse_yaml(source, name=name, limits=limits, expect=expect, stats=stats)
    check_strings(root, strings, single_line)
    return root.plain()

