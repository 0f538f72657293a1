"""A psql session driven over pipes: SQL in, one JSON value per result row out.

The backup's own database work (export a snapshot for pg_dump, count the rows in it) is two
statements. psql does them in a process of its own, started in milliseconds and running on the
other core, where a driver would first have to be imported into this one: pg_dump starts sooner,
and nothing in this process competes with it for the interpreter.

Every statement sent returns its rows as JSON text (one value per line), so a table name holding
a tab, a newline or a quote arrives intact. After each batch the session echoes a random marker;
everything before it is the batch's output. ``ON_ERROR_STOP`` makes psql end at the first error,
so a missing marker means the session failed, and psql's error line on stderr says why.
"""
from __future__ import annotations

import json
import secrets
import subprocess
import threading

from jobs.pgbackup import client
from jobs.pgbackup.db import DatabaseUrl, connection_reason
from jobs.pgbackup.errors import PgBackupError


class SessionError(PgBackupError):
    """The session failed; ``reason`` is the server's or libpq's own line, without the prefix."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


def identifier(name: str) -> str:
    """``name`` as an SQL identifier, whatever it holds."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """``value`` as an SQL string literal; the E'' form reads the same whatever
    standard_conforming_strings says."""
    return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _terminated(sql: str) -> bytes:
    # psql runs a statement when it meets its ";". One is added only when missing: an empty
    # statement would reset the SQLSTATE that ``attempt`` reads.
    text = sql.strip()
    return (text if text.endswith(";") else text + "\n;").encode()


class Session:
    def __init__(self, url: DatabaseUrl):
        self.url = url
        self._marker = f"pgbackup-{secrets.token_hex(8)}".encode()
        conninfo, env = url.libpq_args()
        env["PGAPPNAME"] = "pgbackup"
        env["PGCLIENTENCODING"] = "UTF8"  # JSON is UTF-8 whatever the database or the pod's locale
        try:
            self._proc = subprocess.Popen(
                ["psql", "--no-psqlrc", "--quiet", "--no-align", "--tuples-only", "--no-password",
                 "--set=ON_ERROR_STOP=1", f"--dbname={conninfo}"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, bufsize=0)
        except FileNotFoundError:
            raise PgBackupError(f"psql is not on PATH (install postgresql-client-{client.image_client_major()} "
                                "or newer)") from None
        self._stderr: list[str] = []
        self._stderr_thread = client.collect_lines(self._proc.stderr, self._stderr)
        self._pending = b""
        self._lock = threading.Lock()
        self._connected = False

    def rows(self, sql: str) -> list:
        """The JSON value of every row ``sql`` prints: one or more statements or psql commands (a
        last statement runs whether or not it ends with ``;``). The first error ends the session."""
        lines, _ = self._exchange(_terminated(sql) + b"\n\\echo " + self._marker + b"\n")
        return self._parse(lines)

    def attempt(self, statement: str) -> tuple[list, str | None]:
        """Runs one statement and keeps the session if it fails: (rows, None), or ([], its SQLSTATE)."""
        lines, status = self._exchange(b"\\set ON_ERROR_STOP 0\n" + _terminated(statement) +
                                       b"\n\\echo " + self._marker + b" :SQLSTATE\n\\set ON_ERROR_STOP 1\n")
        if status != "00000":
            return [], status
        return self._parse(lines), None

    def _exchange(self, script: bytes) -> tuple[list[bytes], str]:
        with self._lock:
            try:
                self._proc.stdin.write(script)
            except (BrokenPipeError, ValueError):
                raise self._failure() from None
            lines, status = self._read_to_marker()
            self._connected = True
            return lines, status

    def _parse(self, lines: list[bytes]) -> list:
        try:
            return [json.loads(line) for line in lines if line]
        except ValueError as exc:
            raise PgBackupError(f"unexpected output from psql at {self.url.where} ({exc})") from None

    def one(self, sql: str):
        rows = self.rows(sql)
        if len(rows) != 1:
            raise PgBackupError(f"unexpected output from psql at {self.url.where}: {len(rows)} rows, expected one")
        return rows[0]

    def _read_to_marker(self) -> tuple[list[bytes], str]:
        """The lines before the marker, and what the marker's line carries after it."""
        data = self._pending
        while True:
            at = data.find(self._marker)
            end = data.find(b"\n", at) if at >= 0 else -1
            if end >= 0:
                self._pending = data[end + 1:]
                return data[:at].splitlines(), data[at + len(self._marker):end].decode().strip()
            chunk = self._proc.stdout.read(65536)
            if not chunk:
                raise self._failure()
            data += chunk

    def _failure(self) -> SessionError:
        returncode = self._proc.wait()
        self._stderr_thread.join()
        lines = [line.strip() for line in self._stderr if line.strip()]
        if not self._connected and (returncode == 2 or any(line.startswith("psql: error:") for line in lines)):
            reason = connection_reason(Exception("\n".join(lines))) if lines else f"psql exited with status {returncode}"
            return SessionError(f"cannot connect to database at {self.url.where} ({reason})", reason)
        errors = [line.split("ERROR:", 1)[1].strip() for line in lines if "ERROR:" in line]
        reason = errors[0] if errors else (lines[-1] if lines else f"psql exited with status {returncode}")
        return SessionError(f"database error at {self.url.where}: {reason}", reason)

    def close(self) -> None:
        """Ends the session; an open transaction is rolled back by the server."""
        if self._proc.poll() is None:
            try:
                self._proc.stdin.close()
            except OSError:
                pass
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._stderr_thread.join()

    def kill(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
