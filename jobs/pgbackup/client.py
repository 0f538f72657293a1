"""Running the PostgreSQL client binaries: their versions, their pipes, their error lines.

The binaries must be at least the server's major version.

pg_dump refuses a server newer than itself ("aborting because of server version mismatch"), and a
pg_restore older than the pg_dump that wrote an archive may not read it. The tool checks before it
starts, so the failure is one line naming both versions instead of a pg_dump error at 2 a.m.

The major the image installs is the ``ARG PG_CLIENT_MAJOR=`` line of this folder's Dockerfile:
that line is the one place it is written, and ``image_client_major()`` reads it for anything
(tests, the deploy checks) that must compare it with the database's engine version.
"""
from __future__ import annotations

import os
import re
import subprocess
import threading
from pathlib import Path
from jobs.pgbackup.errors import PgBackupError

DOCKERFILE = Path(__file__).resolve().with_name("Dockerfile")
_ARG = re.compile(r"^ARG PG_CLIENT_MAJOR=(\d+)\s*$", re.M)
_VERSION = re.compile(r"\(PostgreSQL\) (\d+)(?:\.(\d+))?")


def image_client_major(dockerfile: Path = DOCKERFILE) -> int:
    """The PostgreSQL client major the job image installs."""
    match = _ARG.search(dockerfile.read_text())
    if not match:
        raise ValueError(f"{dockerfile}: no 'ARG PG_CLIENT_MAJOR=<major>' line")
    return int(match.group(1))


def parse_client_version(text: str) -> int:
    """Major version from ``pg_dump --version`` output, e.g. 'pg_dump (PostgreSQL) 17.6 (Debian ...)'."""
    match = _VERSION.search(text)
    if not match:
        raise ValueError(text.strip().splitlines()[0] if text.strip() else "no output")
    return int(match.group(1))


def start_version(tool: str) -> None:
    """Starts ``<tool> --version`` in the background; ``version_text`` collects it. The run (a
    perl wrapper on Debian, then the binary) then overlaps the connection and pg_dump's own start
    instead of delaying them."""
    key = (tool, os.environ.get("PATH", ""))
    with _LOCK:
        if key in _VERSIONS or key in _RUNNING:
            return
        try:
            _RUNNING[key] = subprocess.Popen([tool, "--version"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                             stdin=subprocess.DEVNULL, text=True)
        except FileNotFoundError:
            _VERSIONS[key] = None
        except OSError as exc:
            _VERSIONS[key] = exc


def version_text(tool: str) -> str:
    """``<tool> --version`` as it printed it (cached: one run per process)."""
    key = (tool, os.environ.get("PATH", ""))
    start_version(tool)
    with _LOCK:
        proc = _RUNNING.pop(key, None)
    if proc is not None:
        try:
            out, _ = proc.communicate(timeout=30)
            _VERSIONS[key] = out
        except subprocess.TimeoutExpired as exc:
            proc.kill()
            proc.wait()
            _VERSIONS[key] = exc
    found = _VERSIONS.get(key)
    if found is None:
        raise PgBackupError(f"{tool} is not on PATH (install postgresql-client-{image_client_major()} or newer)")
    if isinstance(found, BaseException):
        raise PgBackupError(f"cannot run {tool} --version ({found})")
    return found


# Finished runs by (tool, PATH): the text, None when the tool is missing, or the error.
_VERSIONS: dict[tuple[str, str], object] = {}
_RUNNING: dict[tuple[str, str], subprocess.Popen] = {}
_LOCK = threading.Lock()


def client_major(tool: str) -> int:
    text = version_text(tool)
    try:
        return parse_client_version(text)
    except ValueError as exc:
        raise PgBackupError(f"cannot read the version from {tool} --version (output: {exc})") from None


def check_client(tool: str, server: int, where: str) -> dict:
    """Refuses (PgBackupError) when ``tool`` is older than the ``server`` major; returns both majors."""
    client = client_major(tool)
    if client < server:
        raise PgBackupError(f"{tool} {client} is older than the PostgreSQL {server} server at {where}; "
                            f"refusing to run (use postgresql-client-{server} or newer)")
    return {"client_major": client, "server_major": server}


def tool_reason(tool: str, stderr: list[str], returncode: int) -> str:
    """One line from a libpq tool's stderr: its first error plus the server's detail, if any."""
    errors = [l.split("error:", 1)[1].strip() for l in stderr if "error:" in l]
    details = [l.split("detail:", 1)[1].strip() for l in stderr if "detail:" in l and "Command was" not in l]
    if not errors:
        tail = [l.strip() for l in stderr if l.strip()]
        return f"{tool} exited with status {returncode}" + (f": {tail[-1]}" if tail else "")
    reason = errors[0]
    if details:
        reason += f" ({' '.join(details[0].split())})"
    return f"{tool} failed: {reason}"


def privilege_hint(stderr: list[str], role: str) -> str:
    """What to grant when pg_dump met something its role may not read (the backup role reads
    through pg_read_all_data, which covers neither large objects before PostgreSQL 18 nor tables
    under row-level security)."""
    text = "\n".join(stderr)
    if "permission denied" not in text and "row-level security" not in text:
        return ""
    return (f"; role {role} must be able to read everything it dumps (docs/runbooks/backup-restore.md, "
            "\"The backup role\")")


def widen_pipe(stream) -> None:
    """A 1 MiB pipe buffer instead of 64 KiB: the libpq tool keeps writing (or reading) while
    this process is briefly busy elsewhere (the S3 client, a part upload) instead of stalling."""
    try:
        import fcntl
        fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, 1024 * 1024)
    except (ImportError, AttributeError, OSError):
        pass  # not Linux, or a lower pipe-max-size: the default buffer only costs some speed


def collect_lines(stream, into: list[str]) -> threading.Thread:
    """Reads a tool's stderr into ``into`` line by line, in a thread, so its pipe never fills."""
    def run():
        for raw in stream:
            into.append(raw.decode(errors="replace").rstrip("\n"))
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread
