"""Reads a `pulumi stack export` file (version 3 or 4, or a checkpoint file) as a stream.

An audit must work on exports far larger than the program itself (hundreds of MB once Helm
releases and kubeconfigs are in state), so the file is never loaded whole: a first, short pass
reads the header (version, which envelope), then `ijson.items` yields one resource at a time from
the C backend. The caller analyses each resource as it arrives and keeps only what it needs, so
the document is held in memory at most once, never as text plus objects.

Every problem becomes a `StateError` whose message is one line naming the file and the cause;
the CLI prints it and exits 1.
"""
from __future__ import annotations

import dataclasses
import pathlib
from typing import Any, Iterator

import ijson

SUPPORTED_VERSIONS = (3, 4)

# How Pulumi marks a secret in state (sdk/go/common/resource/sig: the "special signature" key
# and the value meaning "secret"). The value beside it is `ciphertext`, or `plaintext` when the
# export was made with --show-secrets; neither may ever reach a report or a log.
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270"
REDACTED = "[secret]"


class StateError(Exception):
    """A state file that cannot be audited; str() is the one line the user sees."""


@dataclasses.dataclass
class StateHeader:
    version: int
    envelope: str  # "deployment" or "checkpoint"
    stack: str | None = None
    project: str | None = None


def redact(value: Any) -> tuple[Any, int]:
    """Returns `value` with every secret replaced by "[secret]", and how many were replaced."""
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
        self.secrets_redacted = 0
        self.resource_count = 0
        self.pending_operations: list[dict] = []
        self._providers: dict[str, dict] = {}

    def _fail(self, cause: str) -> StateError:
        return StateError(f"{self.path}: {cause}")

    def _open(self):
        try:
            return open(self.path, "rb")
        except OSError as exc:
            raise self._fail(exc.strerror or str(exc)) from None

    def read_header(self) -> StateHeader:
        """Reads up to the resources array: version, envelope, and the checkpoint's stack name."""
        if self.header is not None:
            return self.header
        version = None
        envelope = None
        stack = None
        seen_any = False
        with self._open() as handle:
            if not handle.read(1):
                raise self._fail("empty file, expected a `pulumi stack export` document")
            handle.seek(0)
            try:
                for prefix, event, value in ijson.parse(handle, use_float=True):
                    if not seen_any:
                        seen_any = True
                        if event != "start_map":
                            raise self._fail("not a Pulumi stack export (the document is not a JSON object)")
                    if prefix == "version" and event in ("number", "string"):
                        version = value
                    elif prefix == "" and event == "map_key" and value in ("deployment", "checkpoint"):
                        envelope = value
                    elif prefix == "checkpoint.stack" and event == "string":
                        stack = value
                    elif prefix in ("deployment.resources", "checkpoint.latest.resources") and version is not None:
                        break  # the header is known; the resources are streamed by resources()
            except ijson.JSONError as exc:
                raise self._fail(_json_cause(exc)) from None
            except UnicodeDecodeError:
                raise self._fail("not a Pulumi stack export (not UTF-8 JSON text)") from None
        if not seen_any:
            raise self._fail("empty file, expected a `pulumi stack export` document")
        if version is None:
            raise self._fail('no "version" key: not a `pulumi stack export` or checkpoint file')
        if isinstance(version, float) and version.is_integer():
            version = int(version)
        if version not in SUPPORTED_VERSIONS:
            raise self._fail(f'unsupported export "version" {version!r} (expected 3 or 4)')
        if envelope is None:
            raise self._fail('neither "deployment" nor "checkpoint" present: not a stack export')
        self.header = StateHeader(version=version, envelope=envelope, stack=stack)
        return self.header

    def _items(self, suffix: str) -> Iterator[Any]:
        base = "deployment" if self.header.envelope == "deployment" else "checkpoint.latest"
        with self._open() as handle:
            try:
                yield from ijson.items(handle, f"{base}.{suffix}.item", use_float=True)
            except ijson.JSONError as exc:
                raise self._fail(_json_cause(exc)) from None
            except UnicodeDecodeError:
                raise self._fail("not a Pulumi stack export (not UTF-8 JSON text)") from None

    def resources(self) -> Iterator[dict]:
        self.read_header()
        for index, raw in enumerate(self._items("resources")):
            resource = self._normalise(index, raw)
            if resource is None:
                continue
            self.resource_count += 1
            yield resource
        # Pending operations come after the resources in the document; reading them is a second
        # streamed pass, which also proves the file is complete (a truncated file fails here).
        for raw in self._items("pending_operations"):
            if not isinstance(raw, dict) or not isinstance(raw.get("resource"), dict):
                raise self._fail("a pending operation has no resource")
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
        rtype = raw.get("type")
        if not isinstance(rtype, str) or not rtype:
            raise self._fail(f'{where} ({urn}) has no "type"')
        try:
            stack, project, _, name = split_urn(urn)
        except ValueError as exc:
            raise self._fail(f"{where}: {exc}") from None
        if self.header.project is None:
            self.header.project = project
        if self.header.stack is None:
            self.header.stack = stack
        inputs, n_in = redact(raw.get("inputs") or {})
        outputs, n_out = redact(raw.get("outputs") or {})
        self.secrets_redacted += n_in + n_out
        if rtype.startswith("pulumi:providers:"):
            # Providers precede their users in state (it is topologically sorted), so a map
            # filled while streaming resolves every later `provider` reference.
            self._providers[urn] = {"urn": urn, "type": rtype, "name": name, "properties": outputs or inputs}
        if raw.get("delete"):
            # `pulumi policy analyze` skips resources pending deletion: they are on their way out.
            self.skipped_deleted += 1
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


def _json_cause(exc: Exception) -> str:
    # yajl's messages are bytes spanning several lines and quote the offending input; keep the
    # first line only, so a binary file cannot spray control characters onto the terminal.
    raw = exc.args[0] if exc.args else ""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    text = (str(raw).strip().splitlines() or [type(exc).__name__])[0].strip()
    if "incomplete" in text.lower() or "premature" in text.lower():
        return f"truncated JSON ({text})"
    return f"not valid JSON ({text})"
