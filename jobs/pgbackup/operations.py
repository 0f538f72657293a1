"""verify, restore and list (backup is in ``backup``). Each returns a dict of results for the metrics, or
raises PgBackupError.

``facts`` (a dict the caller passes in) is filled as the command learns things the metrics report
even when it fails later: the database, the number of suspect backups, the newest verified backup.
"""
from __future__ import annotations

import hashlib
import subprocess
import threading
from dataclasses import dataclass, field
from typing import Callable

from jobs.pgbackup import catalogue, client, db, psql, scratch
from jobs.pgbackup.backup import Clock, random_token, utc_now
from jobs.pgbackup.catalogue import Backup, iso, load_manifest, read_catalogue, report_suspects
from jobs.pgbackup.defaults import DEFAULT_CLOCK_TOLERANCE_SECONDS, DEFAULT_VERIFY_COUNT
from jobs.pgbackup.db import DatabaseUrl
from jobs.pgbackup.errors import PgBackupError
from jobs.pgbackup.log import StepLog, Timer
from jobs.pgbackup.store import DUMP, Store, record_stamp, s3_errors

READ_CHUNK = 1024 * 1024

# -- choosing a backup ------------------------------------------------------------------------------
def _base_url(store: Store) -> str:
    return store.url(store.key("", "").rstrip("/") + "/")


def choose_backup(store: Store, requested: str | None, log: StepLog, facts: dict,
                  tolerance: float = DEFAULT_CLOCK_TOLERANCE_SECONDS) -> tuple[Backup, list[Backup]]:
    """(the requested backup, or the newest trusted one whose last verification passed; every
    backup), suspects reported, and one "chosen" line saying which backup and why."""
    backups = read_catalogue(store, tolerance)
    facts["suspect_backups"] = report_suspects(backups, log)
    if requested:
        chosen = next((b for b in backups if b.backup_id == requested), None)
        if chosen is None or chosen.manifest is None:
            load_manifest(store, requested)  # raises, naming what is missing or wrong
        if not chosen.trusted:
            log.step("chosen-suspect", status="warning", backup_id=requested, reason=chosen.suspect)
        return chosen, backups
    if not backups:
        raise PgBackupError(f"no backups in {_base_url(store)}")
    if catalogue.newest(backups) is None:
        raise PgBackupError(f"no trusted backup in {_base_url(store)}: all {len(backups)} are suspect "
                            f"(first: {backups[-1].backup_id}: {backups[-1].suspect})")
    chosen, skipped = catalogue.latest(store, backups)
    passed_over = [{"backup_id": b.backup_id, "reason": why} for b, why in skipped]
    if chosen is None:
        newest = skipped[0]
        raise PgBackupError(f"no backup in {_base_url(store)} has passed its last verification (newest: "
                            f"{newest[0].backup_id}, {newest[1]}); name one with --backup to restore it anyway")
    log.step("chosen", backup_id=chosen.backup_id, finished_at=iso(chosen.finished),
             reason="the newest trusted backup whose last verification passed", passed_over=passed_over)
    return chosen, backups


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


# -- restore into a database ------------------------------------------------------------------------
@dataclass
class StreamResult:
    size: int = 0
    sha256: str = ""
    returncode: int = 0
    stderr: list[str] = field(default_factory=list)

    def reason(self) -> str:
        return client.tool_reason("pg_restore", self.stderr, self.returncode)


def _stream_to_restore(store: Store, backup_id: str, open_body: Callable[[], object], target: DatabaseUrl,
                       options: list[str], scratch: bool = False) -> StreamResult:
    """Feeds the dump from S3 to pg_restore's stdin (no copy on disk), hashing every byte.

    pg_restore starts first and the object is opened (``open_body``) while it does: its start and
    S3's first reply overlap. If pg_restore stops early the rest of the object is still read and
    hashed, so a corrupted dump is reported as a checksum mismatch rather than as whatever
    pg_restore tripped on.
    """
    conninfo, env = target.libpq_args()
    if scratch:
        # The scratch database is dropped minutes later: no reason to wait for WAL flushes, and
        # index builds (the slow part of a restore) may take more memory for this one session.
        env["PGOPTIONS"] = (env.get("PGOPTIONS", "") + " -c synchronous_commit=off -c maintenance_work_mem=256MB").strip()
    proc = subprocess.Popen(["pg_restore", "--exit-on-error", "--no-password", f"--dbname={conninfo}", *options],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    client.widen_pipe(proc.stdin)
    result = StreamResult()
    stderr_thread = client.collect_lines(proc.stderr, result.stderr)
    sha = hashlib.sha256()
    feeding = True
    try:
        body = open_body()
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


# -- verify -----------------------------------------------------------------------------------------
def _verify_one(store: Store, admin: psql.Session, scratch_url: DatabaseUrl, chosen: Backup,
                log: StepLog, now: Clock, name: str | None = None) -> tuple[list[str], Callable[[], None]]:
    """Restores one backup into a scratch database (``name`` if already created) and compares.

    Returns the problems and a function that finishes dropping the scratch database: the drop
    runs while the caller writes the verification record, and the caller waits for it before it
    goes on. On a failure the drop is done before the error leaves this function."""
    backup_id, manifest = chosen.backup_id, chosen.manifest
    if name is None:
        name = scratch.scratch_name(now())
        scratch.create(admin, name, scratch_url.where)
    log.step("scratch", backup_id=backup_id, database=name, server=scratch_url.where)
    problems: list[str] = []
    # psql logs in to the scratch database while pg_restore fills it: the counts need not wait for it.
    counter = psql.Session(scratch_url.with_dbname(name))
    try:
        restore_timer = Timer()
        # --no-owner/--no-privileges: every object belongs to the verify role, and the dump's
        # GRANTs name roles it may not grant (nor should it).
        result = _stream_to_restore(store, backup_id, lambda: store.open_dump(backup_id)[0],
                                    scratch_url.with_dbname(name), ["--no-owner", "--no-privileges"], scratch=True)
        mismatch = _checksum_problem(manifest, result.size, result.sha256)
        log.step("restore", status="ok" if not (mismatch or result.returncode) else "error", backup_id=backup_id,
                 bytes=result.size, sha256=result.sha256, seconds=restore_timer.seconds())
        if mismatch:
            problems.append(mismatch)
        elif result.returncode != 0:
            problems.append(result.reason())
        else:
            tables, large_objects = db.row_counts(counter)
            problems = compare_counts(manifest, tables, large_objects, exact=True)
            log.step("compare", status="ok" if not problems else "error", backup_id=backup_id, tables=len(tables),
                     rows=sum(tables.values()), large_objects=large_objects, mismatches=problems)
    except BaseException:
        counter.close()
        scratch.drop(admin, name)
        log.step("drop-scratch", database=name)
        raise
    counter.close()
    dropping = _Background(lambda: scratch.drop(admin, name), "drop-scratch")

    def finish_drop() -> None:
        try:
            dropping.result()
        finally:
            # A SIGTERM can cut the wait short; the admin session is closed after this, and
            # must not be while the drop still runs in it (a second SIGTERM is ignored).
            dropping.wait()
        log.step("drop-scratch", database=name)
    return problems, finish_drop


class _Background:
    """One call run in a thread; ``result()`` waits for it and returns its value or raises its error."""

    def __init__(self, call: Callable[[], object], name: str):
        self._outcome: dict = {}

        def run():
            try:
                self._outcome["value"] = call()
            except BaseException as exc:  # noqa: BLE001 raised again by result()
                self._outcome["error"] = exc
        self._thread = threading.Thread(target=run, name=name, daemon=True)
        self._thread.start()

    def result(self):
        self._thread.join()
        if "error" in self._outcome:
            raise self._outcome["error"]
        return self._outcome["value"]

    def wait(self) -> None:
        self._thread.join()



def verify(store: Store, scratch_url: DatabaseUrl, log: StepLog, requested: str | None, facts: dict | None = None,
           count: int = DEFAULT_VERIFY_COUNT, tolerance: float = DEFAULT_CLOCK_TOLERANCE_SECONDS,
           now: Clock = utc_now, token: Callable[[], str] = random_token, admin: psql.Session | None = None) -> dict:
    """``admin``: a psql session on ``scratch_url`` already started (see backup.backup); ended here."""
    facts = {} if facts is None else facts
    timer = Timer()
    # The role and client checks need the server, the plan needs S3: neither waits for the other.
    prepared: dict = {}

    def prepare():
        try:
            session = prepared["admin"] = admin or psql.Session(scratch_url)
            prepared["role"], server = scratch.require_least_privilege(session, scratch_url.where)
            prepared["versions"] = client.check_client("pg_restore", server, scratch_url.where)
            prepared["abandoned"] = scratch.drop_abandoned(session, now())
            # The first scratch database is made while S3 is read: the two round trips overlap.
            name = scratch.scratch_name(now())
            scratch.create(session, name, scratch_url.where)
            prepared["scratch"] = name
        except PgBackupError as exc:
            prepared["error"] = exc

    preparer = threading.Thread(target=prepare, name="scratch-checks", daemon=True)
    preparer.start()
    try:
        if requested:
            chosen, backups = choose_backup(store, requested, log, facts, tolerance)
            picks = [chosen]
        else:
            backups = read_catalogue(store, tolerance)
            facts["suspect_backups"] = report_suspects(backups, log)
            if not backups:
                raise PgBackupError(f"no backups in {_base_url(store)}")
            picks = catalogue.verification_order(backups, count)
            if not picks:
                raise PgBackupError(f"no trusted backup in {_base_url(store)}: all {len(backups)} are suspect")
        facts["database"] = picks[0].manifest["database"]
    except BaseException:
        preparer.join()
        _discard(prepared)
        # A role or client refusal is the cause to fix first, whatever S3 said meanwhile.
        if "error" in prepared:
            raise prepared["error"] from None
        raise
    preparer.join()
    if "error" in prepared:
        _discard(prepared)
        raise prepared["error"]
    admin = prepared["admin"]
    if prepared["abandoned"]:
        log.step("drop-abandoned", databases=prepared["abandoned"])
    log.step("plan", backups=[b.backup_id for b in picks], role=prepared["role"], server=scratch_url.where,
             **prepared["versions"])

    outcome: dict[str, bool] = {}
    failures: list[str] = []
    try:
        for chosen in picks:
            one_timer = Timer()
            problems, finish_drop = _verify_one(store, admin, scratch_url, chosen, log, now,
                                                prepared.pop("scratch", None))
            try:
                verified_at = now()
                record = {
                    "backup_id": chosen.backup_id,
                    "status": "failed" if problems else "verified",
                    "verified_at": iso(verified_at),
                    "problems": problems,
                    "dump_sha256": chosen.manifest["dump"]["sha256"],
                    "role": prepared["role"],
                    "seconds": one_timer.seconds(),
                }
                key = store.verification_key(chosen.backup_id, record_stamp(verified_at), token())
                store.put_json(key, record)
            finally:
                finish_drop()  # the scratch database is gone before anything else happens
            outcome[chosen.backup_id] = not problems
            log.step("record", status=record["status"], backup_id=chosen.backup_id, key=store.url(key))
            if problems:
                failures.append(f"verification of backup {chosen.backup_id} failed: {_summary(problems)}")
    finally:
        _discard(prepared)
        facts["last_verified_backup_timestamp"] = _newest_verified_timestamp(store, backups, outcome)

    if failures:
        raise PgBackupError("; ".join(failures))
    return {"backup_id": picks[0].backup_id, "backups": [b.backup_id for b in picks],
            "database": facts["database"], "bytes": sum(b.manifest["dump"]["size"] for b in picks),
            "seconds": timer.seconds()}


def _discard(prepared: dict) -> None:
    """Drops a scratch database made ahead and not used, and ends the role's session."""
    admin = prepared.pop("admin", None)
    if admin is None:
        return
    try:
        if "scratch" in prepared:
            scratch.drop(admin, prepared.pop("scratch"))
    except PgBackupError:
        pass  # the session is going away anyway; the scratch name is unique and unused
    finally:
        admin.close()


def _newest_verified_timestamp(store: Store, backups: list[Backup], outcome: dict[str, bool]) -> float:
    """The bucket's time of the newest trusted backup that passed its last verification; 0 if none.

    The bucket's LastModified, not the manifest's time: a pod's clock cannot move it."""
    try:
        for backup in reversed([b for b in backups if b.trusted]):
            verified = outcome[backup.backup_id] if backup.backup_id in outcome else \
                catalogue.record_verified(catalogue.last_record(store, backup), backup)
            if verified:
                return backup.entry.manifest_modified.timestamp()
    except PgBackupError:
        return 0.0
    return 0.0


# -- restore ----------------------------------------------------------------------------------------
def restore(store: Store, target: DatabaseUrl, log: StepLog, requested: str | None,
            force: bool, no_owner: bool, tolerance: float = DEFAULT_CLOCK_TOLERANCE_SECONDS) -> dict:
    timer = Timer()
    with psql.Session(target) as session:
        server, relations, large_objects = session.one(db.USER_OBJECTS_PSQL)
    versions = client.check_client("pg_restore", server // 10000, target.where)
    chosen, _ = choose_backup(store, requested, log, {}, tolerance)
    backup_id, manifest = chosen.backup_id, chosen.manifest
    log.step("target", server=target.where, database=target.dbname, relations=relations,
             large_objects=large_objects, **versions)
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
    options = ["--single-transaction"]
    if force:
        options += ["--clean", "--if-exists"]
    if no_owner:
        options += ["--no-owner", "--no-privileges"]
    result = _stream_to_restore(store, backup_id, lambda: store.open_dump(backup_id, if_match=etag)[0], target,
                                options)
    if result.returncode != 0:
        raise PgBackupError(f"{result.reason()}; the restore was rolled back")
    mismatch = _checksum_problem(manifest, result.size, result.sha256)
    if mismatch:
        raise PgBackupError(f"dump changed during the restore of backup {backup_id}: {mismatch}")
    log.step("restore", backup_id=backup_id, bytes=result.size)

    with psql.Session(target) as session:
        tables, large_objects = db.row_counts(session)
    problems = compare_counts(manifest, tables, large_objects, exact=False)
    log.step("compare", status="ok" if not problems else "error", tables=len(manifest["tables"]),
             rows=sum(manifest["tables"].values()), mismatches=problems)
    if problems:
        raise PgBackupError(f"restored backup {backup_id} into {target} but {_summary(problems)}")
    return {"backup_id": backup_id, "database": target.dbname, "bytes": result.size, "seconds": timer.seconds()}


# -- list -------------------------------------------------------------------------------------------
def list_backups(store: Store, tolerance: float = DEFAULT_CLOCK_TOLERANCE_SECONDS) -> list[dict]:
    rows = []
    backups = read_catalogue(store, tolerance)
    records = {b.backup_id: catalogue.last_record(store, b) for b in backups}
    newest, _ = catalogue.latest(store, backups, records)
    for backup in backups:
        manifest = backup.manifest or {}
        record = records[backup.backup_id]
        if record is None:
            verification = "unverified"
        elif catalogue.record_verified(record, backup):
            verification = "verified"
        elif record.get("status") == "verified":
            verification = "record-mismatch"  # a record of some other dump
        else:
            verification = str(record.get("status", "unknown"))
        rows.append({
            "backup_id": backup.backup_id,
            "database": manifest.get("database"),
            "finished_at": manifest.get("finished_at"),
            "written_at": iso(backup.entry.manifest_modified),
            "bytes": manifest["dump"]["size"] if manifest else None,
            "rows": sum(manifest["tables"].values()) if manifest else None,
            "verification": verification,
            "verified_at": record.get("verified_at") if record else None,
            "verification_problem": catalogue.why_not_verified(record, backup) if record else None,
            "verifications": len(backup.entry.verifications),
            "latest": backup is newest,
            "suspect": backup.suspect,
        })
    return rows
