"""Which version of a file the pack last read: the key its caches are keyed on (change requests,
the approver directory), so a file is parsed once per version however often AnalyzeStack runs."""
from __future__ import annotations

import os
import pathlib


def file_version(path: pathlib.Path) -> tuple:
    """(inode, mtime, size, mode) of `path` itself, or (-1,) when it cannot be read.

    lstat: a symlink's own identity, so swapping the link's target is a new version too."""
    try:
        info = os.lstat(path)
    except OSError:
        return (-1,)
    return (info.st_ino, info.st_mtime_ns, info.st_size, info.st_mode)
