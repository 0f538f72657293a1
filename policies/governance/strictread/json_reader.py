"""Strict JSON: a stream of ijson `basic_parse` events with the same checks as the YAML reader (size,
depth, duplicate keys, digit runs cut off before ijson's C backend sees them), read whole
(`load_json`), streamed at a path (`iter_json`) or peeked at a few paths (`peek_json`)."""
from __future__ import annotations

import codecs
import dataclasses
import io
import json
import re
from typing import Any, Iterable, Iterator, Optional, Union

import ijson

from .. import capped
from .limits import (DOCUMENT_JSON_LIMITS, JSON_LIMITS, KIB, MIB, Limits, ReadError, Source, Stats, display_name,
                     size_text)

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
            raise ReadError(self.name, "", f"larger than {size_text(self.limits.max_bytes)}, the limit for this file")
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
    name = display_name(source, name)
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
    name = display_name(source, name)
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
    name = display_name(source, name)
    peek = _Peek(frozenset(map(tuple, want)), frozenset(map(tuple, until)))
    for _ in _walk_json(source, name, limits, stats if stats is not None else Stats(), None, peek=peek):
        pass  # pragma: no cover - a peek yields nothing
    return peek.found, peek.root_keys
