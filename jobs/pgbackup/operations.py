"""The four commands. Each returns a dict of results for the metrics, or raises PgBackupError."""
from __future__ import annotations

import hashlib
import secrets
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import psycopg
from psycopg import sql

from jobs.pgbackup import db
from jobs.pgbackup.db import DatabaseUrl
from jobs.pgbackup.errors import PgBackupError
from jobs.pgbackup.log import StepLog, Timer
from jobs.pgbackup.store import DUMP, MANIFEST, VERIFICATION, Store, backup_id_at, s3_errors

MANIFEST_FORMAT = 1
READ_CHUNK = 1024 * 1024


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _tool_reason(tool: str, stderr: list[str], returncode: int) -> str:
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


def _collect(stream, into: list[str]) -> threading.Thread:
    def run():
        for raw in stream:
            into.append(raw.decode(errors="replace").rstrip("\n"))
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


# -- manifests --------------------------------------------------------------------------------------
def load_manifest(store: Store, backup_id: str) -> dict:
    key = store.key(backup_id, MANIFEST)
    manifest = store.get_json(key, missing_ok=True)
    if manifest is None:
        raise PgBackupError(f"backup {backup_id} does not exist in {store.url(store.key(backup_id, ''))} (no {MANIFEST})")
    checks = [("dump", dict), ("tables", dict), ("large_objects", int), ("database", str)]
    for name, kind in checks:
        if not isinstance(manifest.get(name), kind):
            raise PgBackupError(f"{store.url(key)}: field {name} is missing or not a {kind.__name__}")
    for name, kind in [("size", int), ("sha256", str)]:
        if not isinstance(manifest["dump"].get(name), kind):
            raise PgBackupError(f"{store.url(key)}: field dump.{name} is missing or not a {kind.__name__}")
    for table, count in manifest["tables"].items():
        if not isinstance(count, int):
            raise PgBackupError(f"{store.url(key)}: field tables.{table} is not an integer")
    return manifest


def choose_backup(store: Store, requested: str | None) -> str:
    if requested:
        return requested
    ids = store.backup_ids()
    if not ids:
        raise PgBackupError(f"no backups in {store.url(store.key('', '').rstrip('/') + '/')}")
    return ids[-1]


def compare_counts(manifest: dict, tables: dict[str, int], large_objects: int, exact: bool) -> list[str]:
    """Differences between the manifest's counts and a restored database's, one phrase each."""
    problems = []
    for table, expected in sorted(manifest["tables"].items()):
        if table not in tables:
            problems.append(f"table {table} is missing (manifest has {expected} rows)")
        elif tables[table] != expected:
            problems.append(f"row count mismatch in {table}: manifest {expected}, restored {tables[table]}")
    if exact:
        for table in sorted(set(tables) - set(manifest["tables"])):
            problems.append(f"table {table} is not in the manifest")
    if large_objects != manifest["large_objects"]:
        problems.append(f"large object count mismatch: manifest {manifest['large_objects']}, restored {large_objects}")
    return problems


def _summary(problems: list[str]) -> str:
    return problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")


# -- backup -----------------------------------------------------------------------------------------
def _new_backup_id(store: Store) -> str:
    # Ids have one-second resolution; two runs in the same second must not share a folder.
    for _ in range(3):
        backup_id = backup_id_at(_now())
        if not store.exists(backup_id):
            return backup_id
        time.sleep(1.0 - (time.time() % 1.0) + 0.01)
    raise PgBackupError(f"backup id {backup_id} is already taken in s3://{store.bucket}/{store.prefix}")


def backup(source: DatabaseUrl, store: Store, log: StepLog, part_size: int) -> dict:
    started = _now()
    timer = Timer()
    conn = source.connect(autocommit=False)
    try:
        # One exported snapshot for pg_dump and for the row counts: the manifest describes exactly
        # the rows in the dump, however busy the database is meanwhile.
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        version = db.server_version(conn)
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        log.step("connect", server=source.where, database=source.dbname, server_version=version)

        ids = store.backup_ids()
        previous = None
        if ids:
            try:
                previous = load_manifest(store, ids[-1])
            except PgBackupError as exc:
                # Only feeds pgbackup_previous_bytes; a damaged older manifest must not stop today's backup.
                log.step("previous", status="error", reason=str(exc))
        backup_id = _new_backup_id(store)
        dump_key = store.key(backup_id, DUMP)

        conninfo, env = source.libpq_args()
        pg_dump_version = subprocess.run(["pg_dump", "--version"], capture_output=True, text=True).stdout.strip()
        proc = subprocess.Popen(
            ["pg_dump", "--format=custom", f"--snapshot={snapshot}", "--no-password", f"--dbname={conninfo}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        stderr: list[str] = []
        stderr_thread = _collect(proc.stderr, stderr)

        counted: dict = {}

        def count():
            try:
                counted["tables"], counted["large_objects"] = db.row_counts(conn)
            except psycopg.Error as exc:
                counted["error"] = str(exc).splitlines()[0]

        # Counting runs beside the dump, in the same snapshot, so it adds no wall time.
        counter = threading.Thread(target=count, name="row-counts", daemon=True)
        counter.start()

        sha = hashlib.sha256()
        size = parts = 0
        dump_timer = Timer()
        try:
            with store.multipart_upload(dump_key, part_size) as upload:
                try:
                    while True:
                        data = proc.stdout.read(part_size)
                        if not data:
                            break
                        sha.update(data)
                        size += len(data)
                        parts += 1
                        upload.put(parts, data)
                except BaseException:
                    proc.kill()
                    raise
                returncode = proc.wait()
                stderr_thread.join()
                if returncode != 0:
                    raise PgBackupError(_tool_reason("pg_dump", stderr, returncode))
                if size == 0:
                    raise PgBackupError("pg_dump wrote nothing")
                counter.join()
                if "error" in counted:
                    raise PgBackupError(f"counting rows failed: {counted['error']}")
                upload.complete()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        log.step("dump", key=store.url(dump_key), bytes=size, parts=parts, sha256=sha.hexdigest(),
                 seconds=dump_timer.seconds())

        finished = _now()
        manifest = {
            "format": MANIFEST_FORMAT,
            "backup_id": backup_id,
            "database": source.dbname,
            "server": source.where,
            "server_version": version,
            "pg_dump_version": pg_dump_version,
            "started_at": _iso(started),
            "finished_at": _iso(finished),
            "dump": {"key": dump_key, "format": "custom", "size": size, "sha256": sha.hexdigest(), "parts": parts},
            "tables": counted["tables"],
            "large_objects": counted["large_objects"],
        }
        try:
            store.put_json(store.key(backup_id, MANIFEST), manifest)
        except PgBackupError:
            # No manifest means no backup: take the orphan dump away too (best effort; under
            # Object Lock it stays until its retention ends, and list ignores it).
            try:
                store.delete(dump_key)
            except PgBackupError:
                pass
            raise
        log.step("manifest", key=store.url(store.key(backup_id, MANIFEST)),
                 tables=len(manifest["tables"]), rows=sum(manifest["tables"].values()),
                 large_objects=manifest["large_objects"])
    finally:
        conn.close()

    result = {"backup_id": backup_id, "database": source.dbname, "bytes": size, "seconds": timer.seconds()}
    if previous is not None:
        result["previous_bytes"] = previous["dump"]["size"]
    return result


# -- restore into a database ------------------------------------------------------------------------
@dataclass
class StreamResult:
    size: int = 0
    sha256: str = ""
    returncode: int = 0
    stderr: list[str] = field(default_factory=list)

    def reason(self) -> str:
        return _tool_reason("pg_restore", self.stderr, self.returncode)


def _stream_to_restore(store: Store, backup_id: str, body, target: DatabaseUrl, options: list[str],
                       scratch: bool = False) -> StreamResult:
    """Feeds the dump from S3 to pg_restore's stdin (no copy on disk), hashing every byte.

    If pg_restore stops early the rest of the object is still read and hashed, so a corrupted dump
    is reported as a checksum mismatch rather than as whatever pg_restore tripped on.
    """
    conninfo, env = target.libpq_args()
    if scratch:
        # The scratch database is dropped minutes later: no reason to wait for WAL flushes, and
        # index builds (the slow part of a restore) may take more memory for this one session.
        env["PGOPTIONS"] = (env.get("PGOPTIONS", "") + " -c synchronous_commit=off -c maintenance_work_mem=256MB").strip()
    proc = subprocess.Popen(["pg_restore", "--exit-on-error", "--no-password", f"--dbname={conninfo}", *options],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    result = StreamResult()
    stderr_thread = _collect(proc.stderr, result.stderr)
    sha = hashlib.sha256()
    feeding = True
    try:
        with s3_errors("read", store.url(store.key(backup_id, DUMP))):
            for chunk in body.iter_chunks(READ_CHUNK):
                sha.update(chunk)
                result.size += len(chunk)
                if feeding:
                    try:
                        proc.stdin.write(chunk)
                    except BrokenPipeError:
                        feeding = False
        try:
            proc.stdin.close()
        except BrokenPipeError:
            pass
        result.returncode = proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr_thread.join()
    result.sha256 = sha.hexdigest()
    return result


def _checksum_problem(manifest: dict, size: int, sha256: str) -> str | None:
    if size != manifest["dump"]["size"]:
        return f"checksum mismatch: dump is {size} bytes, manifest says {manifest['dump']['size']}"
    if sha256 != manifest["dump"]["sha256"]:
        return f"checksum mismatch: dump SHA-256 {sha256[:16]}..., manifest {manifest['dump']['sha256'][:16]}..."
    return None


def _drop_scratch(state: dict, name: str, close: bool = False) -> None:
    if state.get("created"):
        state["admin"].execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        state["created"] = False
    if close and "admin" in state:
        state["admin"].close()


def _create_scratch(scratch: DatabaseUrl, name: str, out: dict) -> None:
    try:
        out["admin"] = scratch.connect()
        out["admin"].execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
        out["created"] = True
    except PgBackupError as exc:
        out["error"] = exc
    except psycopg.Error as exc:
        out["error"] = PgBackupError(f"cannot create scratch database {name} at {scratch.where} ({db.connection_reason(exc)})")


def verify(store: Store, scratch: DatabaseUrl, log: StepLog, requested: str | None, on_manifest=None) -> dict:
    timer = Timer()
    # A fresh database per run, so concurrent or crashed runs never collide. It is created while
    # S3 is listed and the manifest read: both are round trips that need not wait for each other.
    name = f"pgbackup_verify_{_now():%Y%m%dt%H%M%S}_{secrets.token_hex(4)}"
    scratch_state: dict = {}
    creator = threading.Thread(target=_create_scratch, args=(scratch, name, scratch_state), daemon=True)
    creator.start()
    try:
        backup_id = choose_backup(store, requested)
        manifest = load_manifest(store, backup_id)
    except BaseException:
        creator.join()
        _drop_scratch(scratch_state, name, close=True)
        if "error" in scratch_state:
            raise scratch_state["error"] from None
        raise
    creator.join()
    if "error" in scratch_state:
        _drop_scratch(scratch_state, name, close=True)
        raise scratch_state["error"]
    if on_manifest:
        on_manifest(manifest)
    log.step("manifest", backup_id=backup_id, database=manifest["database"], bytes=manifest["dump"]["size"])
    log.step("scratch", database=name, server=scratch.where)

    admin = scratch_state["admin"]
    problems: list[str] = []
    try:
        try:
            body, _, _ = store.open_dump(backup_id)
            restore_timer = Timer()
            # Ownership and grants name roles the scratch server may not have; the data is what we check.
            result = _stream_to_restore(store, backup_id, body, scratch.with_dbname(name),
                                        ["--no-owner", "--no-privileges"], scratch=True)
            mismatch = _checksum_problem(manifest, result.size, result.sha256)
            log.step("restore", status="ok" if not (mismatch or result.returncode) else "error",
                     bytes=result.size, sha256=result.sha256, seconds=restore_timer.seconds())
            if mismatch:
                problems.append(mismatch)
            elif result.returncode != 0:
                problems.append(result.reason())
            else:
                with scratch.with_dbname(name).connect() as conn:
                    tables, large_objects = db.row_counts(conn)
                problems = compare_counts(manifest, tables, large_objects, exact=True)
                log.step("compare", status="ok" if not problems else "error", tables=len(tables),
                         rows=sum(tables.values()), large_objects=large_objects, mismatches=problems)
        finally:
            _drop_scratch(scratch_state, name)
            log.step("drop-scratch", database=name)
    finally:
        admin.close()

    verdict = {
        "backup_id": backup_id,
        "status": "failed" if problems else "verified",
        "verified_at": _iso(_now()),
        "problems": problems,
        "dump_sha256": manifest["dump"]["sha256"],
        "seconds": timer.seconds(),
    }
    store.put_json(store.key(backup_id, VERIFICATION), verdict)
    log.step("record", status=verdict["status"], key=store.url(store.key(backup_id, VERIFICATION)))
    if problems:
        raise PgBackupError(f"verification of backup {backup_id} failed: {_summary(problems)}")
    return {"backup_id": backup_id, "database": manifest["database"], "bytes": manifest["dump"]["size"],
            "seconds": timer.seconds()}


def restore(store: Store, target: DatabaseUrl, log: StepLog, requested: str | None,
            force: bool, no_owner: bool) -> dict:
    timer = Timer()
    backup_id = choose_backup(store, requested)
    manifest = load_manifest(store, backup_id)
    with target.connect() as conn:
        relations, large_objects = db.user_objects(conn)
    log.step("target", server=target.where, database=target.dbname, relations=relations, large_objects=large_objects)
    if (relations or large_objects) and not force:
        raise PgBackupError(f"target database {target} is not empty ({relations} relations, {large_objects} "
                            "large objects); pass --force to restore over it")

    # First pass: prove the dump is the one the manifest describes before touching the target.
    body, _, etag = store.open_dump(backup_id)
    sha = hashlib.sha256()
    size = 0
    with s3_errors("read", store.url(store.key(backup_id, DUMP))):
        for chunk in body.iter_chunks(READ_CHUNK):
            sha.update(chunk)
            size += len(chunk)
    mismatch = _checksum_problem(manifest, size, sha.hexdigest())
    if mismatch:
        raise PgBackupError(f"backup {backup_id} is corrupt, nothing was restored: {mismatch}")
    log.step("checksum", backup_id=backup_id, bytes=size, sha256=sha.hexdigest())

    # Second pass, pinned to the same object version by its ETag; one transaction, so a failure
    # leaves the target as it was.
    body, _, _ = store.open_dump(backup_id, if_match=etag)
    options = ["--single-transaction"]
    if force:
        options += ["--clean", "--if-exists"]
    if no_owner:
        options += ["--no-owner", "--no-privileges"]
    result = _stream_to_restore(store, backup_id, body, target, options)
    if result.returncode != 0:
        raise PgBackupError(f"{result.reason()}; the restore was rolled back")
    mismatch = _checksum_problem(manifest, result.size, result.sha256)
    if mismatch:
        raise PgBackupError(f"dump changed during the restore of backup {backup_id}: {mismatch}")
    log.step("restore", backup_id=backup_id, bytes=result.size)

    with target.connect() as conn:
        tables, large_objects = db.row_counts(conn)
    problems = compare_counts(manifest, tables, large_objects, exact=False)
    log.step("compare", status="ok" if not problems else "error", tables=len(manifest["tables"]),
             rows=sum(manifest["tables"].values()), mismatches=problems)
    if problems:
        raise PgBackupError(f"restored backup {backup_id} into {target} but {_summary(problems)}")
    return {"backup_id": backup_id, "database": target.dbname, "bytes": result.size, "seconds": timer.seconds()}


def list_backups(store: Store) -> list[dict]:
    rows = []
    for entry in store.entries():
        if not entry.has_manifest:
            continue  # an upload that never got its manifest is not a backup
        manifest = load_manifest(store, entry.backup_id)
        verification = store.get_json(store.key(entry.backup_id, VERIFICATION), missing_ok=True) if entry.has_verification else None
        rows.append({
            "backup_id": entry.backup_id,
            "database": manifest["database"],
            "finished_at": manifest.get("finished_at"),
            "bytes": manifest["dump"]["size"],
            "rows": sum(manifest["tables"].values()),
            "verification": verification["status"] if verification else "unverified",
            "verified_at": verification.get("verified_at") if verification else None,
        })
    return rows
