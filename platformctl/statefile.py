"""Reads a `pulumi stack export` file (version 3 or 4), a checkpoint file (`.pulumi/stacks/*.json`
and its history copies) or what older CLIs wrote (versions 1 and 2), as a stream.

An audit must work on exports far larger than the program itself (hundreds of MB once Helm
releases and kubeconfigs are in state), so the file is never loaded whole: a short header read
finds the version and the envelope, then the strict reader (`policies/governance/strictread/`) yields one
resource at a time while checking the whole file (duplicate keys, depth, huge numbers, UTF-8,
truncation, trailing garbage). The caller analyses each resource as it arrives and keeps only what
it needs.

The Pulumi CLI reads state with Go's encoding/json, which matches keys case-insensitively, and
newer CLIs write checkpoints with `Stack` / `Latest`: the envelope keys are matched the same way,
so a file the CLI reads is read here. A file the CLI could not deploy from - `deployment: null`,
`latest: null`, `resources` that is not a list - is refused, never audited as an empty stack.

Files up to FAST_MAX_BYTES take a fast path: the C JSON parser reads the whole document with
hooks that refuse everything the strict reader refuses (duplicate keys, NaN, integers beyond 64
bits, overlong digit runs, nesting deeper than its limit, bytes that are not UTF-8), about four
times faster. Anything the fast path does not accept is read again by the strict reader, which
alone decides what is wrong and words it; larger files always stream.

Every problem becomes a `StateError` whose message is one line naming the file, where in it, and
the cause; the CLI prints it and exits 1.
"""
from __future__ import annotations

import dataclasses
import json
import pathlib
import re
from typing import Any, Iterator, Optional

import ijson

from platformctl.pack import capped, escape, strictread

# Every state version the CLI has written: 1 and 2 (before 2020), 3 (checkpoints and exports
# since), 4 (exports carrying `features`). Resources have kept their shape across them.
SUPPORTED_VERSIONS = (1, 2, 3, 4)

# How Pulumi marks a secret in state (sdk/go/common/resource/sig: the "special signature" key
# and the value meaning "secret"). The value beside it is `ciphertext`, or `plaintext` when the
# export was made with --show-secrets; neither may ever reach a report or a log.
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270"
REDACTED = "[secret]"
_MAX_DEPTH = strictread.JSON_LIMITS.max_depth
# Exports stream in constant memory, so their cap is about the disk and the clock, not memory: a
# large production export is a few hundred MB; /dev/zero or a mistaken disk image is not one.
MAX_STATE_BYTES = 4 * 2**30
STATE_LIMITS = dataclasses.replace(strictread.JSON_LIMITS, max_bytes=MAX_STATE_BYTES)
_PENDING = re.compile(rb'"pending_operations"', re.IGNORECASE)
# Whole-document parsing holds the text and its objects (about ten times the file) at once: kept
# for files where that is a few hundred MB at most; larger ones stream in constant memory.
FAST_MAX_BYTES = 32 * 2**20
_DIGITS_AS_ZERO = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))
_DIGIT_RUN = b"0" * 4000  # strictread's guard: yajl must never see a run of 4,000 digits
_MAX_DEPTH_SEEN = strictread.JSON_LIMITS.max_depth - 8  # the fast path accepts clearly shallower files only


class _Refused(ValueError):
    """The fast path declines; the strict reader reads the file and says why."""


def _strict_int(text: str) -> int:
    value = int(text)
    if not -2**63 <= value < 2**63:
        raise _Refused(text)
    return value


def _strict_float(text: str) -> float | int:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Refused(text)
    # Whole numbers as ints, as the pack sees them after protobuf (values.plain).
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _refuse_constant(text: str):
    raise _Refused(text)


class _Hooks:
    def __init__(self) -> None:
        self.secrets = 0

    def object(self, pairs: list) -> Any:
        out = dict(pairs)
        if len(out) != len(pairs):
            raise _Refused("duplicate key")
        if out.get(SECRET_SIG_KEY) == SECRET_SIG_VALUE:
            self.secrets += 1
            return REDACTED
        return out


def _bounded_depth_parse(text: str, hooks: _Hooks) -> Any:
    """json.loads with nesting bounded below the strict limit: the C scanner counts each level
    against the recursion limit, lowered for the call to what the stack now holds plus that bound."""
    import inspect
    import sys

    old = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack(0)) + _MAX_DEPTH_SEEN)
    try:
        return json.loads(text, object_pairs_hook=hooks.object, parse_int=_strict_int,
                          parse_float=_strict_float, parse_constant=_refuse_constant)
    finally:
        sys.setrecursionlimit(old)


def _depth_is_bounded() -> bool:
    """Whether lowering the recursion limit bounds the C scanner's nesting here (CPython 3.11 does;
    a runtime that counts C recursion apart would not): without it there is no fast path."""
    try:
        _bounded_depth_parse("[" * (_MAX_DEPTH_SEEN + 40) + "]" * (_MAX_DEPTH_SEEN + 40), _Hooks())
    except RecursionError:
        return True
    return False


_FAST = _depth_is_bounded()


def _fast_document(path: pathlib.Path) -> Optional[tuple[dict, int]]:
    """(the whole document, secrets replaced) when the fast path accepts the file, else None."""
    if not _FAST:
        return None
    try:
        data = capped.read_capped(path, min(FAST_MAX_BYTES, STATE_LIMITS.max_bytes))
    except (OSError, capped.TooLarge):
        return None  # the streaming pass reads it, or refuses it in one line
    if _DIGIT_RUN in data.translate(_DIGITS_AS_ZERO):
        return None
    hooks = _Hooks()
    try:
        document = _bounded_depth_parse(data.decode("utf-8"), hooks)
    except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError, _Refused
        return None
    return (document, hooks.secrets) if isinstance(document, dict) else None


_MISSING = object()


def _at(document: dict, path: tuple[str, ...]) -> Any:
    node: Any = document
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
    return node


class StateError(Exception):
    """A state file that cannot be audited; str() is the one line the user sees."""


@dataclasses.dataclass
class StateHeader:
    version: int
    envelope: str  # "deployment" or "checkpoint"
    stack: str | None = None
    project: str | None = None
    # The exact key path of the resources list, in the file's own spelling; None when the
    # deployment has no such key (an empty stack). `base`: the deployment's own path.
    resources_at: Optional[tuple[str, ...]] = None
    base: tuple[str, ...] = ()


def redact(value: Any) -> tuple[Any, int]:
    """Returns `value` with every secret replaced by "[secret]", and how many were replaced.
    Whole numbers read as floats become ints, as the pack sees them after protobuf (`values.plain`)."""
    if isinstance(value, float):
        return (int(value) if value.is_integer() and abs(value) < 2**53 else value), 0
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG_VALUE:
            return REDACTED, 1
        count = 0
        out = {}
        for key, item in value.items():
            out[key], found = redact(item)
            count += found
        return out, count
    if isinstance(value, list):
        count = 0
        out_list = []
        for item in value:
            clean, found = redact(item)
            out_list.append(clean)
            count += found
        return out_list, count
    return value, 0


def split_urn(urn: str) -> tuple[str, str, str, str]:
    """`urn:pulumi:<stack>::<project>::<qualified type>::<name>` -> (stack, project, type, name).

    The name is everything after the third `::`, since names may themselves contain `::`.
    """
    parts = urn.split("::", 3)
    if not urn.startswith("urn:pulumi:") or len(parts) != 4:
        raise ValueError(f"not a Pulumi URN: {urn!r}")
    stack = parts[0][len("urn:pulumi:"):]
    return stack, parts[1], parts[2], parts[3]


def provider_urn(reference: str | None) -> str | None:
    """A resource's `provider` is `<provider urn>::<provider id>`; the id follows the last `::`."""
    if not reference:
        return None
    return reference.rsplit("::", 1)[0]


class StateFile:
    """Iterate for resources; header, counts and pending operations are filled as it reads.

    `resources()` yields the resources the engine would analyse (those marked `delete: true`
    are counted in `skipped_deleted`, not yielded), in the shape the policy client takes:
    `urn, type, name, parent, custom, inputs, outputs, protect, ignore_changes, dependencies,
    provider` (provider resolved to `{urn, type, name, properties}`), plus `id`.
    """

    def __init__(self, path: str | pathlib.Path):
        self.path = pathlib.Path(path)
        self.header: StateHeader | None = None
        self.skipped_deleted = 0
        self.deleted_urns: list[str] = []  # the URNs of those, in state order
        self.secrets_redacted = 0
        self.resource_count = 0
        self.pending_operations: list[dict] = []
        self._providers: dict[str, dict] = {}
        self._document: Any = None  # the whole document on the fast path, False when streaming

    def _fail(self, cause: str) -> StateError:
        # Keys and URNs come from the file: their control characters are shown, never sent to a terminal.
        return StateError(escape.visible(f"{self.path}: {cause}"))

    def _strict(self, error: strictread.ReadError) -> StateError:
        return StateError(escape.visible(str(error)))

    def read_header(self) -> StateHeader:
        """Reads up to the resources list: version, envelope, and the checkpoint's stack name."""
        if self.header is not None:
            return self.header
        until = [("deployment", "resources"), ("checkpoint", "latest", "resources"),
                 ("checkpoint", "Latest", "resources")]
        try:
            # Strict and short: stops at the resources list of any real file (version comes first).
            found, _ = strictread.peek_json(self.path, [("version",)], until=until, name=str(self.path),
                                                limits=STATE_LIMITS)
        except strictread.ReadError as exc:
            raise self._strict(exc) from None
        scan = _scan(self.path)
        version = found.get(("version",), scan.version)
        if version is None:
            raise self._fail('$: no "version" key: not a `pulumi stack export` or checkpoint file')
        if isinstance(version, float) and version.is_integer():
            version = int(version)
        if isinstance(version, bool) or version not in SUPPORTED_VERSIONS:
            raise self._fail(f'$.version: unsupported state "version" {version!r} (expected 1 to 4)')
        envelopes = [k for k in scan.root if k.lower() in ("deployment", "checkpoint")]
        if not envelopes:
            raise self._fail('$: neither "deployment" nor "checkpoint": not a stack export or checkpoint')
        if len(envelopes) > 1:
            raise self._fail(f"$: both {envelopes[0]!r} and {envelopes[1]!r}: which one is the state is ambiguous")
        key = envelopes[0]
        envelope = key.lower()
        kind, value = scan.root[key]
        if kind != "object":
            raise self._fail(f"$.{key}: is {_kind(kind, value)}, expected an object; this file holds no deployment")
        base: tuple[str, ...] = (key,)
        stack = None
        if envelope == "checkpoint":
            inner = scan.checkpoint
            stack_key = next((k for k in inner if k.lower() == "stack"), None)
            if stack_key is not None:
                kind, value = inner[stack_key]
                if kind != "string" or not value:
                    raise self._fail(f"$.{key}.{stack_key}: is {_kind(kind, value)}, expected the stack's name")
                stack = value
            latest = next((k for k in inner if k.lower() == "latest"), None)
            if latest is None:
                raise self._fail(f"$.{key}: has no latest deployment (the stack was never deployed): nothing to audit")
            kind, value = inner[latest]
            if kind != "object":
                raise self._fail(f"$.{key}.{latest}: is {_kind(kind, value)}, expected the latest deployment")
            base = (key, latest)
        resources_key = next((k for k in scan.deployment if k.lower() == "resources"), None)
        pending_key = next((k for k in scan.deployment if k.lower() == "pending_operations"), "pending_operations")
        self.header = StateHeader(version=version, envelope=envelope, stack=stack,
                                  resources_at=base + (resources_key,) if resources_key else None, base=base)
        self._pending_key = pending_key
        if stack and stack.count("/") == 2:  # organization/project/stack
            self.header.project = stack.split("/")[1]
        return self.header

    def _items(self, at: tuple[str, ...]) -> Iterator[Any]:
        if self._document is None:
            fast = _fast_document(self.path)
            self._document = False if fast is None else fast[0]
            if fast is not None:
                self.secrets_redacted = fast[1]
        if self._document is not False:
            items = _at(self._document, at)
            if isinstance(items, list):
                yield from items
                return
            if items is _MISSING:
                return
            # Not a list: the strict reader names the path and what is there instead.
        try:
            for _, item in strictread.iter_json(self.path, at, name=str(self.path), limits=STATE_LIMITS):
                yield item
        except strictread.ReadError as exc:
            raise self._strict(exc) from None

    def resources(self) -> Iterator[dict]:
        header = self.read_header()
        at = header.resources_at or header.base + ("resources",)  # absent: still checks the file
        for index, raw in enumerate(self._items(at)):
            resource = self._normalise(index, raw)
            if resource is None:
                continue
            self.resource_count += 1
            yield resource
        # Pending operations come after the resources in the document; a second streamed pass
        # reads them, only when the file names them at all (a byte search, not a parse).
        if self._document is False and not _mentions_pending(self.path):
            return
        for raw in self._items(header.base + (self._pending_key,)):
            if not isinstance(raw, dict) or not isinstance(raw.get("resource"), dict):
                raise self._fail(f"$.{'.'.join(header.base)}.{self._pending_key}: a pending operation has no resource")
            res = raw["resource"]
            self.pending_operations.append({
                "type": str(raw.get("type", "unknown")),
                "urn": str(res.get("urn", "")),
                "resource_type": str(res.get("type", "")),
            })

    def _normalise(self, index: int, raw: Any) -> dict | None:
        where = f"resource #{index}"
        if not isinstance(raw, dict):
            raise self._fail(f"{where} is not an object")
        urn = raw.get("urn")
        if not isinstance(urn, str) or not urn:
            raise self._fail(f'{where} has no "urn"')
        # A URN in a message is cut to its two ends: a 40 MB one must not become a 40 MB line.
        shown = urn if len(urn) <= 200 else f"{urn[:120]}...{urn[-60:]}"
        rtype = raw.get("type")
        if not isinstance(rtype, str) or not rtype:
            raise self._fail(f'{where} ({shown}) has no "type"')
        try:
            stack, project, _, name = split_urn(urn)
        except ValueError as exc:
            raise self._fail(f"{where}: {exc}") from None
        if self.header.project is None:
            self.header.project = project
        if self.header.stack is None:
            self.header.stack = stack
        for field, types, wanted in (("inputs", (dict,), "an object"), ("outputs", (dict,), "an object"),
                                     ("dependencies", (list,), "a list"), ("parent", (str,), "a URN"),
                                     ("provider", (str,), "a provider reference"), ("delete", (bool,), "true or false"),
                                     ("custom", (bool,), "true or false"), ("protect", (bool,), "true or false"),
                                     ("ignoreChanges", (list,), "a list")):
            value = raw.get(field)
            if value is not None and not isinstance(value, types):
                raise self._fail(f"{where} ({shown}): {field!r} is {_kind(_json_kind(value), value)}, expected {wanted}")
        if self._document is False:
            inputs, n_in = redact(raw.get("inputs") or {})
            outputs, n_out = redact(raw.get("outputs") or {})
            self.secrets_redacted += n_in + n_out
        else:  # secrets were replaced, and whole numbers made ints, as the document was parsed
            inputs, outputs = raw.get("inputs") or {}, raw.get("outputs") or {}
        if rtype.startswith("pulumi:providers:"):
            # Providers precede their users in state (it is topologically sorted), so a map
            # filled while streaming resolves every later `provider` reference.
            self._providers[urn] = {"urn": urn, "type": rtype, "name": name, "properties": outputs or inputs}
        if raw.get("delete"):
            # `pulumi policy analyze` skips resources pending deletion: they are on their way out.
            self.skipped_deleted += 1
            self.deleted_urns.append(urn)
            return None
        prov_urn = provider_urn(raw.get("provider"))
        provider = self._providers.get(prov_urn) if prov_urn else None
        if prov_urn and provider is None:
            _, _, prov_type, prov_name = split_urn(prov_urn) if prov_urn.startswith("urn:pulumi:") else ("", "", "", prov_urn)
            provider = {"urn": prov_urn, "type": prov_type.rsplit("$", 1)[-1], "name": prov_name, "properties": {}}
        return {
            "urn": urn,
            "type": rtype,
            "name": name,
            "id": raw.get("id"),
            "parent": raw.get("parent"),
            "custom": bool(raw.get("custom", False)),
            "inputs": inputs,
            "outputs": outputs,
            "protect": bool(raw.get("protect", False)),
            "ignore_changes": list(raw.get("ignoreChanges") or []),
            "dependencies": list(raw.get("dependencies") or []),
            "provider": provider,
        }


def _kind(kind: str, value: Any) -> str:
    return "null" if kind == "null" else f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


@dataclasses.dataclass
class _Scan:
    version: Any = None
    root: dict = dataclasses.field(default_factory=dict)  # key -> (kind, scalar value or None)
    checkpoint: dict = dataclasses.field(default_factory=dict)
    deployment: dict = dataclasses.field(default_factory=dict)  # the deployment's (or latest's) keys


def _scan(path: pathlib.Path) -> _Scan:
    """The shape of the first levels, read event by event up to the resources list. Called after
    the strict header read accepted what comes before that list; anything odd past it is left to
    the strict streaming pass, which reports it at its path."""
    scan = _Scan()
    keys: list[Optional[str]] = []  # the key path of each open container
    pending: Optional[str] = None
    kinds = {"start_map": "object", "start_array": "array", "string": "string", "number": "number",
             "boolean": "boolean", "null": "null"}

    def record(kind: str, value: Any) -> None:
        where = [k.lower() if k else k for k in keys]
        if len(keys) == 1:
            scan.root[pending] = (kind, value)
            if pending == "version":
                scan.version = value
        elif len(keys) == 2 and where[1] == "checkpoint":
            scan.checkpoint[pending] = (kind, value)
        if (len(keys) == 2 and where[1] == "deployment") or (
                len(keys) == 3 and where[1] == "checkpoint" and where[2] == "latest"):
            scan.deployment[pending] = (kind, value)

    try:
        with capped.open_regular(path) as handle:
            for event, value in ijson.basic_parse(handle, use_float=True, buf_size=16 * 1024):
                if event == "map_key":
                    pending = value
                elif event in ("start_map", "start_array"):
                    if keys:
                        record(kinds[event], None)
                        if event == "start_array" and (pending or "").lower() == "resources" and len(keys) in (2, 3):
                            return scan  # the header is known; the resources are streamed later
                    if len(keys) >= _MAX_DEPTH:
                        return scan
                    keys.append(pending if keys else "$")
                    pending = None
                elif event in ("end_map", "end_array"):
                    keys.pop()
                    if not keys:
                        return scan
                elif keys:
                    record(kinds[event], value)
                    pending = None
    except (ijson.JSONError, UnicodeDecodeError, ValueError, OverflowError):
        pass  # the strict pass names the fault and where it is
    return scan


def _mentions_pending(path: pathlib.Path) -> bool:
    with capped.open_regular(path) as handle:
        tail = b""
        while chunk := handle.read(1 << 20):
            if _PENDING.search(tail + chunk):
                return True
            tail = chunk[-32:]
    return False
