"""Command line: flags or environment in, one JSON line per step out, one error line on failure.

Exit codes: 0 ok, 1 failure (S3, database, checksum, row counts, refused restore), 2 usage.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time

from jobs.pgbackup import client
from jobs.pgbackup.db import DatabaseUrl
from jobs.pgbackup.defaults import (DEFAULT_CLOCK_TOLERANCE_SECONDS, DEFAULT_PART_SIZE, DEFAULT_VERIFY_COUNT,
                                    DEFAULT_VERIFY_ROLE, MIN_PART_SIZE)
from jobs.pgbackup.errors import PgBackupError, Terminated, UsageError
from jobs.pgbackup.log import StepLog, error_line, safe
from jobs.pgbackup.psql import Session

# The commands' own modules (the S3 client, the catalogue, the restore logic) are imported in
# _run, after the database side has started: psql logs in while they load.


class _Parser(argparse.ArgumentParser):
    # argparse prints the usage block and a second line; operators and log queries want one line.
    def error(self, message):
        command = self.prog.split()[-1] if " " in self.prog else ""
        raise UsageError(f"{message} (see python -m jobs.pgbackup {command + ' ' if command else ''}--help)")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--bucket", default=os.environ.get("BACKUP_BUCKET"), help="S3 bucket (env BACKUP_BUCKET)")
    common.add_argument("--prefix", default=os.environ.get("BACKUP_PREFIX"), help="key prefix (env BACKUP_PREFIX)")
    common.add_argument("--kms-key-id", default=os.environ.get("BACKUP_KMS_KEY_ID"),
                        help="KMS key for new objects (env BACKUP_KMS_KEY_ID; default: the bucket's default encryption)")
    common.add_argument("--clock-tolerance-seconds", type=float,
                        default=os.environ.get("BACKUP_CLOCK_TOLERANCE_SECONDS") or str(DEFAULT_CLOCK_TOLERANCE_SECONDS),
                        help="largest gap between a manifest's recorded finish time and S3's LastModified of it "
                             "before the backup is suspect (env BACKUP_CLOCK_TOLERANCE_SECONDS; default "
                             f"{DEFAULT_CLOCK_TOLERANCE_SECONDS})")
    common.add_argument("--rds-iam-region", default=os.environ.get("PGBACKUP_RDS_IAM_REGION"),
                        help="log in to the database with an RDS IAM token made with the pod's role in this "
                             "region instead of a password (env PGBACKUP_RDS_IAM_REGION)")
    pushgateway = argparse.ArgumentParser(add_help=False)
    pushgateway.add_argument("--pushgateway", default=os.environ.get("PUSHGATEWAY_URL"),
                             help="Pushgateway base URL (env PUSHGATEWAY_URL); no push when unset")
    which = argparse.ArgumentParser(add_help=False)
    which.add_argument("--backup", metavar="ID", help="backup id (default: the latest trusted backup)")

    parser = _Parser(prog="pgbackup", description="PostgreSQL backups in S3, verified by restoring them.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("backup", parents=[common, pushgateway], help="pg_dump to S3, then the manifest")
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help="source database (env DATABASE_URL)")
    p.add_argument("--part-size-mib", type=int, default=DEFAULT_PART_SIZE // (1024 * 1024),
                   help="multipart part size in MiB (at least 5, S3's minimum)")

    p = sub.add_parser("verify", parents=[common, pushgateway, which], help="restore into a scratch database and compare")
    p.add_argument("--scratch-url", default=os.environ.get("SCRATCH_DATABASE_URL"),
                   help="log in as the dedicated verify role (LOGIN CREATEDB, nothing else) to any database of "
                        "the scratch server (env SCRATCH_DATABASE_URL)")
    p.add_argument("--scratch-admin-url", default=os.environ.get("SCRATCH_ADMIN_DATABASE_URL"),
                   help="instead of --scratch-url: a login with CREATEROLE that the tool uses only to create the "
                        "verify role and give it a fresh password for this run (env SCRATCH_ADMIN_DATABASE_URL)")
    p.add_argument("--verify-role", default=os.environ.get("VERIFY_ROLE") or DEFAULT_VERIFY_ROLE,
                   help=f"the role --scratch-admin-url provisions (env VERIFY_ROLE; default {DEFAULT_VERIFY_ROLE})")
    p.add_argument("--count", type=int, default=os.environ.get("VERIFY_COUNT") or str(DEFAULT_VERIFY_COUNT),
                   help="backups to verify per run when --backup is not given: the latest if never verified, then "
                        f"the least recently verified (env VERIFY_COUNT; default {DEFAULT_VERIFY_COUNT})")

    p = sub.add_parser("restore", parents=[common, which], help="restore a backup into a database")
    p.add_argument("--target-url", default=os.environ.get("RESTORE_TARGET_URL"),
                   help="database to restore into (env RESTORE_TARGET_URL)")
    p.add_argument("--force", action="store_true", help="restore over a non-empty database (pg_restore --clean)")
    p.add_argument("--no-owner", action="store_true", help="skip ownership and grants (roles differ on the target)")

    p = sub.add_parser("list", parents=[common], help="backups with time, size and verification state")
    p.add_argument("--json", action="store_true", help="one JSON object per backup instead of a table")
    return parser


def _required(value, flag: str, env: str) -> str:
    if not value:
        raise UsageError(f"{flag} is required (or set {env})")
    return value


def _store(args):
    from jobs.pgbackup.store import Store
    bucket = _required(args.bucket, "--bucket", "BACKUP_BUCKET")
    prefix = _required(args.prefix, "--prefix", "BACKUP_PREFIX")
    return Store(bucket, prefix, kms_key_id=args.kms_key_id)


def _backup_id(args) -> str | None:
    from jobs.pgbackup.store import is_backup_id
    if args.backup and not is_backup_id(args.backup):
        raise UsageError(f"--backup {args.backup!r} is not a backup id like 20261122T020000Z-1a2b3c4d")
    return args.backup


def _print_table(rows: list[dict]) -> None:
    header = ("BACKUP", "FINISHED", "DATABASE", "SIZE", "ROWS", "VERIFICATION", "TRUST")
    lines = [header] + [tuple(safe(cell) for cell in line) for line in _cells(rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())
    if any(r["latest"] for r in rows):
        print("* latest: the newest trusted backup whose last verification passed (what restore takes)")


def _cells(rows: list[dict]) -> list[tuple]:
    # Every field but the id comes from a manifest or record in the bucket: shown as text (escaped
    # by the caller), whatever type it has.
    return [(r["backup_id"] + (" *" if r["latest"] else ""), r["finished_at"] or "-", r["database"] or "-",
             _size(r["bytes"]) if r["bytes"] is not None else "-", str(r["rows"] if r["rows"] is not None else "-"),
             r["verification"] + (f" {r['verified_at']}" if r["verified_at"] else ""),
             f"suspect: {r['suspect']}" if r["suspect"] else "ok") for r in rows]


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _push(args, log: StepLog, operation: str, database: str | None, values: dict) -> None:
    if not getattr(args, "pushgateway", None):
        return
    if not database:
        log.step("push", status="skipped", reason="database unknown before the manifest was read")
        return
    from jobs.pgbackup import metrics  # urllib.request and http.client: not before pg_dump starts
    where = metrics.public_url(args.pushgateway)
    try:
        metrics.push(args.pushgateway, operation, database, values)
        log.step("push", pushgateway=where, metrics=sorted(values))
    except OSError as exc:
        # The backup itself stands; the missing push shows up as a stale success timestamp.
        log.step("push", status="error", pushgateway=where, reason=str(exc))
        print(error_line(f"warning: cannot push metrics to {where} ({exc})"), file=sys.stderr)


def _run(args, log: StepLog) -> int:
    if args.command in ("list", "restore"):
        from jobs.pgbackup import operations
    if args.command == "list":
        rows = operations.list_backups(_store(args), args.clock_tolerance_seconds)
        if args.json:
            for row in rows:
                print(json.dumps(row))
        else:
            _print_table(rows)
        return 0

    if args.command == "restore":
        target = DatabaseUrl.parse(_required(args.target_url, "--target-url", "RESTORE_TARGET_URL"),
                                   "--target-url").with_iam(args.rds_iam_region)
        result = operations.restore(_store(args), target, log, _backup_id(args), args.force, args.no_owner,
                                    args.clock_tolerance_seconds)
        log.step("done", **result)
        return 0

    # backup and verify report to the Pushgateway on success and on failure.
    started = time.monotonic()
    facts: dict = {"database": None}
    try:
        if args.command == "backup":
            client.start_version("pg_dump")
            source = DatabaseUrl.parse(_required(args.database_url, "--database-url", "DATABASE_URL"),
                                       "--database-url").with_iam(args.rds_iam_region)
            facts["database"] = source.dbname
            if args.part_size_mib * 1024 * 1024 < MIN_PART_SIZE:
                raise UsageError(f"--part-size-mib {args.part_size_mib} is below S3's minimum part size of 5")
            _required(args.bucket, "--bucket", "BACKUP_BUCKET")
            _required(args.prefix, "--prefix", "BACKUP_PREFIX")
            session = Session(source)  # logs in while the backup's modules load
            from jobs.pgbackup.backup import backup
            result = backup(source, _store(args), log, args.part_size_mib * 1024 * 1024, facts,
                            args.clock_tolerance_seconds, session=session)
        else:
            client.start_version("pg_restore")
            # Until the manifest names the database, label a failure with the CronJob's own
            # DATABASE_URL when it has one, so early failures still reach the right series.
            try:
                facts["database"] = DatabaseUrl.parse(os.environ.get("DATABASE_URL", ""), "DATABASE_URL").dbname
            except UsageError:
                pass
            if args.count < 1:
                raise UsageError(f"--count {args.count} must be at least 1")
            _required(args.bucket, "--bucket", "BACKUP_BUCKET")
            _required(args.prefix, "--prefix", "BACKUP_PREFIX")
            if args.scratch_admin_url:
                if args.scratch_url:
                    raise UsageError("--scratch-url and --scratch-admin-url exclude each other (or unset "
                                     "SCRATCH_DATABASE_URL / SCRATCH_ADMIN_DATABASE_URL)")
                admin_url = DatabaseUrl.parse(args.scratch_admin_url, "--scratch-admin-url")
                _backup_id(args)  # refused before the role is touched
                from jobs.pgbackup import scratch
                scratch_url = scratch.provision_role(admin_url, args.verify_role)
                log.step("verify-role", role=args.verify_role, server=admin_url.where, provisioned=True)
            else:
                scratch_url = DatabaseUrl.parse(_required(args.scratch_url, "--scratch-url", "SCRATCH_DATABASE_URL"),
                                                "--scratch-url").with_iam(args.rds_iam_region)
            admin = Session(scratch_url)  # logs in while verify's modules load
            try:
                backup_id = _backup_id(args)
            except UsageError:
                admin.kill()
                raise
            store = _store(args)
            from jobs.pgbackup import operations
            result = operations.verify(store, scratch_url, log, backup_id, facts, args.count,
                                       args.clock_tolerance_seconds, admin=admin)
    except UsageError:
        raise  # nothing was attempted: no metrics
    except (PgBackupError, Terminated):
        _push(args, log, args.command, facts["database"],
              {"pgbackup_duration_seconds": time.monotonic() - started, "pgbackup_last_run_success": 0,
               **_fact_metrics(facts)})
        raise
    values = {
        "pgbackup_last_success_timestamp_seconds": time.time(),
        "pgbackup_duration_seconds": time.monotonic() - started,
        "pgbackup_bytes": result["bytes"],
        "pgbackup_last_run_success": 1,
        **_fact_metrics(facts),
    }
    if "previous_bytes" in result:
        values["pgbackup_previous_bytes"] = result["previous_bytes"]
    log.step("done", **result)
    _push(args, log, args.command, result["database"], values)
    return 0


def _fact_metrics(facts: dict) -> dict:
    """The metrics a run reports whether or not it succeeded, once it has learnt them."""
    values = {}
    if "suspect_backups" in facts:
        values["pgbackup_suspect_backups"] = facts["suspect_backups"]
    if "last_verified_backup_timestamp" in facts:
        values["pgbackup_last_verified_backup_timestamp_seconds"] = facts["last_verified_backup_timestamp"]
    return values


def _terminate(signum, frame):
    # The Job's activeDeadlineSeconds or an eviction: the kubelet sends SIGTERM and, after the
    # grace period, SIGKILL. Raising here unwinds the run like any failure: the multipart upload
    # is aborted, the scratch database dropped, the failure metric pushed, one line printed.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the clean-up short
    raise Terminated(f"terminated by {signal.Signals(signum).name} (the Job's deadline or an eviction) "
                     "before the run finished")


def main(argv: list[str] | None = None) -> int:
    log = StepLog(command="pgbackup")
    signal.signal(signal.SIGTERM, _terminate)
    try:
        args = _parser().parse_args(argv)
        log.command = args.command
        return _run(args, log)
    except (PgBackupError, Terminated) as exc:
        log.step("error", status="error", reason=str(exc))
        print(error_line(exc), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(error_line("interrupted"), file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line for the CronJob log, no traceback
        print(error_line(f"internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"),
              file=sys.stderr)
        return 1
