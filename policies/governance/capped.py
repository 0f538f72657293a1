"""Opening a file someone named without trusting what it is.

`open()` of a named pipe waits for a writer (forever, if none comes); `/dev/zero` never ends;
`stat().st_size` is 0 for both, so a size check made before reading lets them through. Every
reader of a user-given file opens it here: without blocking, then refused in one line unless it is
a regular file, and read with a byte cap counted while reading. Nothing here imports the project,
so the pack (which runs with only `policies/` importable) and platformctl share it.
"""
from __future__ import annotations

import errno
import itertools
import operator
import os
import re
import stat
from typing import BinaryIO, Optional, Union

PathLike = Union[str, os.PathLike]


class NotRegularFile(OSError):
    """A path that is a FIFO, a device, a directory or a socket; `strerror` says which, so the
    readers' existing `except OSError` lines show it."""


def kind(mode: int) -> Optional[str]:
    """What a non-regular file is, in a few words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def open_regular(path: PathLike) -> BinaryIO:
    """The file opened for binary reading, or NotRegularFile. O_NONBLOCK makes opening a FIFO
    return at once (instead of waiting for a writer) so that fstat can refuse it."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        what = kind(os.fstat(fd).st_mode)
        if what is not None:
            raise NotRegularFile(errno.EINVAL, f"is {what}, not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


_CHUNK = 1024 * 1024


class TooLarge(ValueError):
    def __init__(self, limit: int):
        self.limit = limit
        super().__init__(f"larger than {limit} bytes")


def read_capped(path: PathLike, max_bytes: Optional[int]) -> bytes:
    """The whole regular file, refusing (TooLarge) as soon as more than `max_bytes` were read."""
    chunks, total = [], 0
    with open_regular(path) as handle:
        while True:
            # In pieces: read(n) allocates n bytes up front, whatever the file holds.
            want = _CHUNK if max_bytes is None else min(_CHUNK, max_bytes + 1 - total)
            chunk = handle.read(want)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if max_bytes is not None and total > max_bytes:
                raise TooLarge(max_bytes)
    return b"".join(chunks)


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(data: bytes) -> int:
    """How deep a JSON text's arrays and objects nest, in linear time and constant stack (strings
    cut out first, so a bracket inside one does not count); lets a caller refuse a document
    before `json.loads`, whose C parser recurses, ever sees it."""
    brackets = _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", data))
    return max(itertools.accumulate(map(_STEP.__getitem__, brackets), operator.add), default=0)
