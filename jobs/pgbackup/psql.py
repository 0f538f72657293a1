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


class Session:
    def __init__(self, url: DatabaseUrl):
        self.url = url
        self._marker = f"pgbackup-{secrets.token_hex(8)}".encode()
        conninfo, env = url.libpq_args()
        env["PGAPPNAME"] = "pgbackup"
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
        final ``;`` is added, so a last statement runs whether or not it ends with one)."""
        with self._lock:
            try:
                self._proc.stdin.write(sql.rstrip().encode() + b"\n;\n\\echo " + self._marker + b"\n")
            except (BrokenPipeError, ValueError):
                raise self._failure() from None
            lines = self._read_to_marker()
            self._connected = True
        try:
            return [json.loads(line) for line in lines if line]
        except ValueError as exc:
            raise PgBackupError(f"unexpected output from psql at {self.url.where} ({exc})") from None

    def one(self, sql: str):
        rows = self.rows(sql)
        if len(rows) != 1:
            raise PgBackupError(f"unexpected output from psql at {self.url.where}: {len(rows)} rows, expected one")
        return rows[0]

    def _read_to_marker(self) -> list[bytes]:
        data = self._pending
        while True:
            head, sep, rest = data.partition(self._marker + b"\n")
            if sep:
                self._pending = rest
                return head.splitlines()
            chunk = self._proc.stdout.read(65536)
            if not chunk:
                raise self._failure()
            data += chunk

    def _failure(self) -> PgBackupError:
        returncode = self._proc.wait()
        self._stderr_thread.join()
        lines = [line.strip() for line in self._stderr if line.strip()]
        if not self._connected and (returncode == 2 or any(line.startswith("psql: error:") for line in lines)):
            reason = connection_reason(Exception("\n".join(lines))) if lines else f"psql exited with status {returncode}"
            return PgBackupError(f"cannot connect to database at {self.url.where} ({reason})")
        errors = [line.split("ERROR:", 1)[1].strip() for line in lines if "ERROR:" in line]
        reason = errors[0] if errors else (lines[-1] if lines else f"psql exited with status {returncode}")
        return PgBackupError(f"database error at {self.url.where}: {reason}")

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
