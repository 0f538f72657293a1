"""What every strict read shares: the one-line `ReadError`, the caps (`Limits`) and what a read
consumed (`Stats`), and taking the bytes in under a size cap. The parsers are `yaml_reader` and
`json_reader`."""
from __future__ import annotations

import dataclasses
import os
from typing import Callable, Iterable, Optional, Union

from .. import capped, escape

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
        super().__init__(escape.visible(f"{source}: {where}: {cause}" if where else f"{source}: {cause}"))


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



# --- bytes in ----------------------------------------------------------------------------------
def display_name(source: Source, name: Optional[str]) -> str:
    if name is not None:
        return name
    if isinstance(source, (bytes, bytearray)):
        return "<input>"
    return os.fspath(source)


def size_text(n: int) -> str:
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
            raise ReadError(name, "", f"larger than {size_text(max_bytes)}, the limit for this file") from None
        except OSError as exc:
            raise ReadError(name, "", f"cannot be read ({exc.strerror or exc.__class__.__name__})") from None
    if max_bytes is not None and len(data) > max_bytes:
        raise ReadError(name, "", f"larger than {size_text(max_bytes)}, the limit for this file")
    return data

