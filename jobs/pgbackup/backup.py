"""``pgbackup backup``: pg_dump -Fc streamed to S3 with its SHA-256 and row counts, then the manifest.

Nothing here imports a database driver: the snapshot pg_dump dumps and the row counts in it come
from a psql session (``psql.Session``), so pg_dump starts within milliseconds of the process and
this process's interpreter is free to read its pipe.
"""
from __future__ import annotations

import hashlib
import secrets
import subprocess
import threading
from datetime import datetime, timezone
from typing import Callable

from jobs.pgbackup import catalogue, client, db, psql
from jobs.pgbackup.catalogue import MANIFEST_FORMAT, iso, read_catalogue, report_suspects
from jobs.pgbackup.defaults import DEFAULT_CLOCK_TOLERANCE_SECONDS
from jobs.pgbackup.db import DatabaseUrl
from jobs.pgbackup.errors import PgBackupError
from jobs.pgbackup.log import StepLog, Timer
from jobs.pgbackup.store import DUMP, MANIFEST, Store, backup_id_at

Clock = Callable[[], datetime]

_SNAPSHOT = """
BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;
SELECT json_build_array(current_setting('server_version_num')::int, current_setting('server_version'),
                        current_user, pg_export_snapshot());
"""


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def random_token() -> str:
    return secrets.token_hex(4)


def backup(source: DatabaseUrl, store: Store, log: StepLog, part_size: int, facts: dict | None = None,
           tolerance: float = DEFAULT_CLOCK_TOLERANCE_SECONDS, now: Clock = utc_now,
           token: Callable[[], str] = random_token, session: psql.Session | None = None) -> dict:
    """``session``: a psql session on ``source`` already started (the CLI starts it before it loads
    this module, so psql logs in meanwhile); this function ends it."""
    facts = {} if facts is None else facts
    started = now()
    timer = Timer()
    client.start_version("pg_dump")  # checked once pg_dump runs: neither waits for the other
    session = session or psql.Session(source)
    listed: dict = {}
    proc = None
    try:
        # One exported snapshot for pg_dump and for the row counts: the manifest describes exactly
        # the rows in the dump, however busy the database is meanwhile. The session holds the
        # snapshot's transaction open until both are done; one round trip learns everything
        # pg_dump needs, so that it starts as early as it can.
        server_num, version, role, snapshot = session.one(_SNAPSHOT)

        # The random suffix keeps two runs in the same second apart; the conditional writes below
        # make sure that even a repeated id can never replace what another run wrote.
        backup_id = backup_id_at(started, token())
        dump_key = store.key(backup_id, DUMP)

        conninfo, env = source.libpq_args()
        try:
            proc = subprocess.Popen(
                ["pg_dump", "--format=custom", f"--snapshot={snapshot}", "--no-password", f"--dbname={conninfo}"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        except FileNotFoundError:
            client.version_text("pg_dump")  # raises, naming the package to install
            raise
        client.widen_pipe(proc.stdout)
        stderr: list[str] = []
        stderr_thread = client.collect_lines(proc.stderr, stderr)
        # The version check ran beside the connection. A pg_dump older than the server is stopped
        # here, before its first byte is read, let alone stored.
        versions = client.check_client("pg_dump", server_num // 10000, source.where)
        pg_dump_version = client.version_text("pg_dump").strip()  # the run check_client made
        log.step("connect", server=source.where, database=source.dbname, role=role, server_version=version,
                 **versions)

        counted: dict = {}

        def count():
            try:
                counted["tables"], counted["large_objects"] = db.row_counts(session)
            except PgBackupError as exc:
                counted["error"] = str(exc)

        # Counting runs beside the dump, in the same snapshot, so it adds no wall time.
        counter = threading.Thread(target=count, name="row-counts", daemon=True)
        counter.start()

        # Everything S3 needs (the client, the listing that names the previous backup and the
        # suspects) is done while pg_dump runs: none of it may delay the dump's start.
        store.warm_up()

        def list_bucket():
            try:
                listed["backups"] = read_catalogue(store, tolerance)
            except BaseException as exc:  # noqa: BLE001 re-raised in the main thread below
                listed["error"] = exc

        lister = threading.Thread(target=list_bucket, name="catalogue", daemon=True)
        lister.start()

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
                    raise PgBackupError(client.tool_reason("pg_dump", stderr, returncode) + client.privilege_hint(stderr, role))
                if size == 0:
                    raise PgBackupError("pg_dump wrote nothing")
                counter.join()
                if "error" in counted:
                    raise PgBackupError(f"counting rows failed: {counted['error']}")
                lister.join()
                if "error" in listed:
                    raise listed["error"]
                upload.complete()
        finally:
            if "backups" in listed and "suspect_backups" not in facts:
                # A failed run still reports the suspects, once the bucket was read.
                facts["suspect_backups"] = sum(1 for b in listed["backups"] if not b.trusted)
        backups = listed["backups"]
        facts["suspect_backups"] = report_suspects(backups, log)
        # The previous size feeds pgbackup_previous_bytes only: a suspect backup is not "previous".
        previous = catalogue.newest(backups)
        log.step("dump", key=store.url(dump_key), bytes=size, parts=parts, sha256=sha.hexdigest(),
                 seconds=dump_timer.seconds())

        finished = now()
        manifest = {
            "format": MANIFEST_FORMAT,
            "backup_id": backup_id,
            "database": source.dbname,
            "server": source.where,
            "server_version": version,
            "pg_dump_version": pg_dump_version,
            "started_at": iso(started, precise=True),
            "finished_at": iso(finished, precise=True),
            "dump": {"key": dump_key, "format": "custom", "size": size, "sha256": sha.hexdigest(), "parts": parts},
            "tables": counted["tables"],
            "large_objects": counted["large_objects"],
        }
        # A lost reply is resolved inside put_json by reading the manifest back. If the write
        # still fails, the dump stays: without a manifest it is not a backup (list and restore
        # ignore it), the bucket's lifecycle expires it, and deleting it is not the job's right.
        confirmed = store.put_json(store.key(backup_id, MANIFEST), manifest)
        log.step("manifest", key=store.url(store.key(backup_id, MANIFEST)), confirmed=confirmed,
                 tables=len(manifest["tables"]), rows=sum(manifest["tables"].values()),
                 large_objects=manifest["large_objects"])
    except BaseException:
        # A count still running in the snapshot (minutes on a large table) counts for nothing now.
        session.kill()
        raise
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        session.close()

    result = {"backup_id": backup_id, "database": source.dbname, "bytes": size, "seconds": timer.seconds()}
    if previous is not None:
        result["previous_bytes"] = previous.manifest["dump"]["size"]
    return result
