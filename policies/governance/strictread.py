"""One strict reader for every file taken in: stack files, change requests, exemptions, exports.

`yaml.safe_load` and `json.load` trust their input in ways that bit this project: a 1 KB alias
bomb expands to gigabytes when the value is serialised, the last of two duplicate keys (or of two
`config:` blocks) silently wins, YAML 1.1 turns an unquoted `2.10` into the number 2.1 and `on`
into True, and deep nesting ends in a RecursionError or, in ijson's prefix-building `parse`,
in quadratic memory. This module reads the same documents with every one of those refused:

- size capped before parsing, UTF-8 only, nesting depth capped, alias uses and the nodes they
  expand to capped, duplicate keys refused at any depth, keys always text, one document only;
- YAML scalars keep their original text, style and resolved tag (`Node`), so a caller can say
  which paths must be strings and get "quote it" instead of a silently converted value;
- JSON is read as a stream of ijson `basic_parse` events with the same checks. Not `ijson.parse`:
  its prefix strings grow with depth, so a 400 KB document nested 200,000 deep costs ~10 GB.
  Digit runs are cut off *before* ijson's C backend sees them: without `use_float`, ijson 3.6's
  yajl2_c crashes the interpreter (SIGSEGV) on an integer over Python's 4,300-digit limit.

Every problem is a `ReadError` whose str() is one line: the file, the key or JSON path, the cause.
Nothing here imports the rest of the project, so any layer may use it. It lives in the pack because
the pack runs under the Pulumi CLI with only `policies/` importable (as `governance.strictread`);
the program and platformctl import the same file as `policies.governance.strictread`, so the pack
and the CLI refuse the same files with the same words.
"""
from __future__ import annotations

import codecs
import dataclasses
import fnmatch
import io
import json
import math
import os
import re
from typing import Any, Callable, Iterable, Iterator, Optional, Union

import ijson
import yaml
from yaml.nodes import ScalarNode

from . import capped

Source = Union[str, bytes, os.PathLike]
PathSpec = Union[Iterable[str], Callable[[str], bool], None]

KIB, MIB = 1024, 1024 * 1024


_WHERE_MAX = 120


class ReadError(ValueError):
    """A document refused; str() is one line: `<file>: <key or path>: <cause>`."""

    def __init__(self, source: str, where: str, cause: str):
        self.source, self.where, self.cause = source, where, cause
        self.syntax = False
        if len(where) > _WHERE_MAX:  # a path 200 levels deep says no more than its two ends
            where = f"{where[:_WHERE_MAX // 2 - 2]}...{where[-(_WHERE_MAX // 2 - 1):]}"
        super().__init__(visible(f"{source}: {where}: {cause}" if where else f"{source}: {cause}"))


@dataclasses.dataclass(frozen=True)
class Limits:
    """Caps applied while reading; None means no cap (only sensible for streamed exports)."""

    max_bytes: Optional[int] = 1 * MIB
    max_depth: int = 64
    max_aliases: int = 16  # alias uses (`*name`) per document; our files need none
    max_nodes: Optional[int] = 100_000  # nodes after alias expansion
    max_int_digits: int = 32


YAML_LIMITS = Limits()
# Exports are streamed and may be hundreds of MB; Helm values nest deeper than config does.
JSON_LIMITS = Limits(max_bytes=None, max_depth=128, max_aliases=0, max_nodes=None, max_int_digits=64)
# A JSON document read whole (not streamed) is held in memory, so it is capped in size.
DOCUMENT_JSON_LIMITS = dataclasses.replace(JSON_LIMITS, max_bytes=16 * MIB)


@dataclasses.dataclass
class Stats:
    """What a read consumed; tests use it to prove a hostile input stopped early."""

    events: int = 0
    aliases: int = 0
    nodes: int = 0
    depth: int = 0  # deepest nesting reached
    bytes_read: int = 0


# --- showing text safely -----------------------------------------------------------------------
# C0 controls (incl. TAB, CR, LF, NUL, ESC), DEL, C1 controls, and the Unicode format characters
# that reorder or hide text (bidi embeddings/overrides/isolates, marks, line/paragraph separators,
# zero-width characters, BOM): the "Trojan Source" set (CVE-2021-42574) and friends.
# Lone surrogates and U+FFFE/U+FFFF (from JSON `\ud800` escapes) are shown too: they cannot be
# written as UTF-8 and XML 1.0 forbids them.
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff"
                        "\ud800-\udfff\ufffe\uffff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _show(match: re.Match) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: str) -> str:
    """`text` with every control and invisible formatting character shown as an escape (`\\x1b`)."""
    return _INVISIBLE.sub(_show, str(text))


# --- bytes in ----------------------------------------------------------------------------------
def _display(source: Source, name: Optional[str]) -> str:
    if name is not None:
        return name
    if isinstance(source, (bytes, bytearray)):
        return "<input>"
    return os.fspath(source)


def _size(n: int) -> str:
    if n % MIB == 0:
        return f"{n // MIB} MiB"
    if n % KIB == 0:
        return f"{n // KIB} KiB"
    return f"{n} bytes"


def read_bytes(source: Source, name: str, max_bytes: Optional[int]) -> bytes:
    """The whole input, refusing anything over `max_bytes` without reading past the cap."""
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        try:
            data = capped.read_capped(source, max_bytes)  # a FIFO, device or directory: refused
        except capped.TooLarge:
            raise ReadError(name, "", f"larger than {_size(max_bytes)}, the limit for this file") from None
        except OSError as exc:
            raise ReadError(name, "", f"cannot be read ({exc.strerror or exc.__class__.__name__})") from None
    if max_bytes is not None and len(data) > max_bytes:
        raise ReadError(name, "", f"larger than {_size(max_bytes)}, the limit for this file")
    return data


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
            bad = _INVISIBLE.search(self.value)
            if bad is not None:
                if self.value.endswith(("\n", "\r")) and bad.start() >= len(self.value.rstrip("\r\n")):
                    raise self.error("ends with a line break; one line of text is expected "
                                     "(a `|` block keeps its last newline: use `|-` or a quoted string)")
                raise self.error(f"contains the control character {_show(bad)}; one line of text is expected")
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
_NOT_PRINTABLE = re.compile("(?![\t\n\r])(?:" + _INVISIBLE.pattern +
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
    name = _display(source, name)
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


# --- JSON --------------------------------------------------------------------------------------
# Python refuses to convert an integer over 4,300 digits and ijson's C backend crashes the process
# when that happens, so no run of this many digits may ever reach it.
_DIGIT_RUN_GUARD = 4000
_DIGITS = b"0123456789"
_DIGIT_RUN = re.compile(rb"[0-9]{%d}" % _DIGIT_RUN_GUARD)
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_:\-]*\Z")


def json_path(parts: Iterable[Union[str, int]]) -> str:
    """`$.deployment.resources[3].urn`; odd keys in brackets as JSON strings."""
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _PLAIN_KEY.match(part):
            out.append(f".{part}")
        else:
            out.append(f"[{json.dumps(part, ensure_ascii=False)}]")
    return "".join(out)


class _GuardedReader(io.RawIOBase):
    """Hands bytes to ijson, stopping (as if at end of file) before anything it must not see:
    a byte that is not UTF-8 or a digit run long enough to crash it. The reason is kept so the
    event loop can report it at the JSON path reached."""

    def __init__(self, raw: Any, name: str, limits: Limits, stats: Stats):
        self.raw, self.name, self.limits, self.stats = raw, name, limits, stats
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.digit_run = 0  # digits at the end of what was handed over
        self.quoteless = 0  # bytes since the last '"' handed over
        self.stopped: Optional[str] = None

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.stopped is not None or size == 0:
            return b""
        # ijson's C backend rescans a token from its start each time more bytes arrive: a 40 MB
        # string fed in 16 KiB reads cost 2,500 rescans (over a minute). Inside a long run with no
        # quote the reads grow with the run, so the rescans add up to a few times its length.
        chunk = self.raw.read(max(size, min(self.quoteless, _LONG_READ_MAX)) if size > 0 else size)
        if not chunk:
            try:
                self.decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                self.stopped = "not UTF-8 text (the file ends inside a multi-byte character)"
            return b""
        start = self.stats.bytes_read
        self.stats.bytes_read += len(chunk)
        quote = chunk.rfind(b'"')
        self.quoteless = self.quoteless + len(chunk) if quote < 0 else len(chunk) - quote - 1
        if self.limits.max_bytes is not None and self.stats.bytes_read > self.limits.max_bytes:
            raise ReadError(self.name, "", f"larger than {_size(self.limits.max_bytes)}, the limit for this file")
        pending = len(self.decoder.getstate()[0])
        try:
            self.decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            cut = max(0, exc.start - pending)
            self.stopped = f"not UTF-8 text (byte 0x{chunk[cut]:02x} at offset {start + cut})"
            chunk = chunk[:cut]
        lead = len(chunk) - len(chunk.lstrip(_DIGITS))
        if self.digit_run + lead >= _DIGIT_RUN_GUARD:
            cut = _DIGIT_RUN_GUARD - 1 - self.digit_run
        else:
            found = _DIGIT_RUN.search(chunk)
            cut = None if found is None else found.start() + _DIGIT_RUN_GUARD - 1
        if cut is not None:
            self.stopped = f"a number (or digit run) longer than {_DIGIT_RUN_GUARD - 1} digits"
            chunk = chunk[:max(0, cut)]
        if lead == len(chunk):
            self.digit_run += lead
        else:
            self.digit_run = len(chunk) - len(chunk.rstrip(_DIGITS))
        return chunk

    def readinto(self, buffer: Any) -> int:  # pragma: no cover - ijson calls read()
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def _ijson_cause(exc: Exception) -> str:
    raw = exc.args[0] if exc.args else ""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    text = (str(raw).strip().splitlines() or [type(exc).__name__])[0].strip()
    if "incomplete" in text.lower() or "premature" in text.lower():
        return f"truncated JSON ({text})"
    if "integer overflow" in text:
        # With use_float, yajl keeps integers in 64 bits; no real export holds a larger one.
        return "integer too large (beyond 64 bits)"
    return f"not valid JSON ({text})"


class _Frame:
    __slots__ = ("kind", "pos", "keys", "value", "target")

    def __init__(self, kind: str, value: Any, target: bool):
        self.kind, self.value, self.target = kind, value, target
        self.pos: Union[str, int, None] = -1 if kind == "list" else None
        self.keys: Optional[set] = set() if kind == "map" else None


# yajl reports a syntax error for a whole buffer at once, dropping the events before it in that
# buffer, so the path reached can lag the fault. For a file this small, a second pass with ijson's
# pure-Python backend (one event at a time) finds the exact path; bigger files keep the lag.
_RELOCATE_MAX = 4 * MIB
# yajl2_c turns a whole buffer into event tuples before the first is seen; 16 KiB keeps that
# burst near 1 MB (64 KiB of `[` would be 4 MB) at no measurable cost in speed.
_BUFFER = 16 * KIB
_LONG_READ_MAX = 64 * MIB  # the largest read while a long string streams in


def _relocate(source: Source, name: str, limits: Limits, at: Optional[tuple[str, ...]], cause: str) -> None:
    """Re-reads one event at a time to raise `cause` at its exact path; a fault of our own found
    earlier in the dropped events (a duplicate key, say) is raised as it is."""
    try:
        for _ in _walk_json(source, name, limits, Stats(), at, ijson.get_backend("python")):
            pass
    except ReadError as exact:
        if exact.syntax:
            raise ReadError(name, exact.where, cause) from None
        raise exact from None


@dataclasses.dataclass
class _Peek:
    want: frozenset
    until: frozenset
    found: dict = dataclasses.field(default_factory=dict)
    root_keys: list = dataclasses.field(default_factory=list)


def _walk_json(source: Source, name: str, limits: Limits, stats: Stats,
               at: Optional[tuple[str, ...]], backend: Any = ijson,
               peek: Optional[_Peek] = None) -> Iterator[tuple[Any, Any]]:
    """Yields (index, item) for each element of the array at path `at`, or once (None, document)
    when `at` is None. Builds only what it yields; checks everything it reads. With `peek`, builds
    nothing and records the scalars it wants, stopping early as `peek_json` describes."""
    stack: list[_Frame] = []

    def where(pending: bool) -> str:
        parts = [f.pos for f in stack if f.pos is not None and f.pos != -1]
        if pending and stack and stack[-1].kind == "list":
            # The parser stopped inside the list's next element, which has no event yet.
            parts = parts[:-1] + [stack[-1].pos + 1] if stack[-1].pos != -1 else parts + [0]
        return json_path(parts)

    def fail(cause: str, pending: bool = False) -> ReadError:
        error = ReadError(name, where(pending), cause)
        error.syntax = pending  # raised by the parser or the byte guard, not by a check of ours
        return error

    def child_position() -> None:
        if stack and stack[-1].kind == "list":
            stack[-1].pos += 1

    def building() -> bool:
        if peek is not None:
            return False
        return at is None or (bool(stack) and (stack[-1].target or stack[-1].value is not None))

    def is_target_path() -> bool:
        return at is not None and len(stack) == len(at) and all(f.pos == a for f, a in zip(stack, at))

    def finish(value: Any) -> Iterator[tuple[Any, Any]]:
        if not stack:
            if at is None:
                yield None, value
            return
        parent = stack[-1]
        if parent.target:
            yield parent.pos, value
        elif parent.value is not None:
            if parent.kind == "list":
                parent.value.append(value)
            else:
                parent.value[parent.pos] = value

    handle = None
    if isinstance(source, (bytes, bytearray)):
        raw: Any = io.BytesIO(bytes(source))
    else:
        try:
            raw = handle = capped.open_regular(source)
        except OSError as exc:
            raise ReadError(name, "", f"cannot be read ({exc.strerror or exc.__class__.__name__})") from None
    reader = _GuardedReader(raw, name, limits, stats)
    seen = False
    try:
        try:
            for event, value in backend.basic_parse(reader, use_float=True, buf_size=_BUFFER):
                stats.events += 1
                seen = True
                if event == "map_key":
                    frame = stack[-1]
                    if value in frame.keys:
                        frame.pos = value
                        raise fail("duplicate key; the last would silently win")
                    frame.keys.add(value)
                    frame.pos = value
                    if peek is not None and len(stack) == 1:
                        peek.root_keys.append(value)
                elif event == "start_map" or event == "start_array":
                    child_position()
                    if len(stack) + 1 > limits.max_depth:
                        stats.depth = len(stack) + 1
                        raise fail(f"nested deeper than {limits.max_depth} levels")
                    stats.depth = max(stats.depth, len(stack) + 1)
                    if peek is not None:
                        if not stack and event != "start_map":
                            raise fail("the document is an array; expected an object")
                        here = tuple(f.pos for f in stack)
                        if here in peek.until and peek.want <= peek.found.keys():
                            return  # all that was wanted is known; the rest is for another pass
                    target = is_target_path()
                    if target and event != "start_array":
                        raise fail("expected a list, got an object")
                    container = ({} if event == "start_map" else []) if building() and not target else None
                    stack.append(_Frame("map" if event == "start_map" else "list", container, target))
                elif event == "end_map" or event == "end_array":
                    frame = stack.pop()
                    if frame.value is not None:
                        yield from finish(frame.value)
                else:
                    child_position()
                    if event == "number" and isinstance(value, int) and not isinstance(value, bool):
                        if abs(value) >= 10 ** limits.max_int_digits:
                            digits = len(str(abs(value)))
                            if reader.stopped is not None and digits >= _DIGIT_RUN_GUARD - 1:
                                raise fail(reader.stopped)  # the number was cut short by the guard
                            raise fail(f"integer with {digits} digits; the limit is {limits.max_int_digits}")
                    if peek is not None:
                        if not stack:
                            raise fail(f"the document is a single {type(value).__name__} value; expected an object")
                        here = tuple(f.pos for f in stack)
                        if here in peek.want:
                            peek.found[here] = value
                    if is_target_path():
                        raise fail(f"expected a list, got {'null' if value is None else type(value).__name__}")
                    if building():
                        yield from finish(value)
        except ReadError:
            raise
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            if stats.bytes_read == 0:
                raise ReadError(name, "", "empty file, expected a JSON document") from None
            cause = reader.stopped if reader.stopped is not None else _ijson_cause(exc)
            if backend is ijson and stats.bytes_read <= _RELOCATE_MAX:
                _relocate(source, name, limits, at, cause)
            raise fail(cause, pending=True) from None
        if reader.stopped is not None:
            if backend is ijson and stats.bytes_read <= _RELOCATE_MAX:
                _relocate(source, name, limits, at, reader.stopped)
            raise fail(reader.stopped, pending=True)
        if not seen:
            raise ReadError(name, "", "empty file, expected a JSON document")
    finally:
        if handle is not None:
            handle.close()


def load_json(source: Source, *, name: Optional[str] = None, limits: Limits = DOCUMENT_JSON_LIMITS,
              expect: Optional[str] = "object", stats: Optional[Stats] = None) -> Any:
    """A whole (small) JSON document, every cap enforced. `expect` is "object", "array" or None."""
    name = _display(source, name)
    stats = stats if stats is not None else Stats()
    # Drain the walk: trailing garbage after the document is only found after it is yielded.
    for _, document in list(_walk_json(source, name, limits, stats, None)):
        kinds = {"object": dict, "array": list}
        if expect is not None and not isinstance(document, kinds[expect]):
            got = "an object" if isinstance(document, dict) else "an array" if isinstance(document, list) else (
                f"a single {type(document).__name__} value")
            raise ReadError(name, "$", f"the document is {got}; expected an {expect}")
        return document
    raise ReadError(name, "", "empty file, expected a JSON document")  # pragma: no cover - _walk_json raises


def iter_json(source: Source, at: tuple[str, ...], *, name: Optional[str] = None, limits: Limits = JSON_LIMITS,
              stats: Optional[Stats] = None) -> Iterator[tuple[int, Any]]:
    """Streams (index, item) for each element of the array at key path `at` (e.g.
    `("deployment", "resources")`), holding one item at a time; the whole file is still checked
    (duplicate keys, depth, integers, UTF-8, well-formed to the end). A missing array yields nothing.
    """
    name = _display(source, name)
    stats = stats if stats is not None else Stats()
    yield from _walk_json(source, name, limits, stats, tuple(at))


def peek_json(source: Source, want: Iterable[tuple], *, until: Iterable[tuple] = (), name: Optional[str] = None,
              limits: Limits = JSON_LIMITS, stats: Optional[Stats] = None) -> tuple[dict[tuple, Any], list[str]]:
    """A header read: the scalar values at the key paths in `want` (e.g. `("version",)`,
    `("checkpoint", "stack")`) and the root object's keys, as ({path: value}, [root keys]).

    Reading stops at the first container at a path in `until` (e.g. `("deployment",
    "resources")`) once every wanted value is known, so a header costs a few events however
    large the file; what was read is checked as strictly as `iter_json` checks everything.
    """
    name = _display(source, name)
    peek = _Peek(frozenset(map(tuple, want)), frozenset(map(tuple, until)))
    for _ in _walk_json(source, name, limits, stats if stats is not None else Stats(), None, peek=peek):
        pass  # pragma: no cover - a peek yields nothing
    return peek.found, peek.root_keys
