"""Files platformctl writes for someone else to read: change requests, attestations, reports."""
from __future__ import annotations

import os
import pathlib
import tempfile


def write_atomically(path: pathlib.Path, text: str) -> None:
    """Write to a unique temporary file beside `path`, flush it to disk, then rename it over
    `path`: a reader (git, a CI job, the PR-comment workflow) sees the old file or the new one,
    never half of one, and two runs writing the same file cannot interleave."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # newline="": the text is written as given; a signed request or attestation must not gain \r.
    handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", newline="", dir=path.parent,
                                         prefix=f".{path.name}.", suffix=".tmp", delete=False)
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, 0o644)  # for reading by others; the temporary file's 0600 would hide it
        os.replace(handle.name, path)
    except BaseException:
        pathlib.Path(handle.name).unlink(missing_ok=True)
        raise
