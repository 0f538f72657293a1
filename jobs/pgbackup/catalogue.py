"""Which backups exist, which of them can be trusted, which is the latest and which to verify next.

The manifest's times come from the clock of the pod that wrote it; S3's LastModified comes from the
bucket. A backup is trusted only when the two agree (within a tolerance): a run whose clock was
ahead, or a manifest planted with a made-up time, is *suspect*. Suspect backups are listed and
reported, never chosen as "latest" and never counted as the newest verified backup; an operator
may still name one with ``--backup``.

"Newest" is the trusted backup with the greatest recorded finish time (the id's time is the pod's
clock as well, so it does not decide). "Latest", what ``list`` marks and ``restore`` takes without
``--backup``, is the newest trusted backup whose last verification passed: a backup that failed
its verification, or was never restored, is not the one to restore at 4 a.m. unless named.

An object that cannot be read (not JSON, nested too deep, too large, the wrong shape) makes only
its own backup suspect or its own record "unreadable", named in the reason; it never stops a run.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from jobs.pgbackup.defaults import DEFAULT_CLOCK_TOLERANCE_SECONDS
from jobs.pgbackup.errors import PgBackupError
from jobs.pgbackup.store import DUMP, MANIFEST, BackupEntry, Store

# The dump and its manifest both carry the bucket's time, so no clock skew separates them; this
# covers LastModified's one-second resolution only.
SAME_CLOCK_SLACK = timedelta(seconds=2)
MANIFEST_FORMAT = 1


def parse_time(text) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def iso(moment: datetime, *, precise: bool = False) -> str:
    """UTC ISO 8601. Manifests record times to the microsecond (`precise`): two backups that
    finish in the same second must still have an order, or "latest" would be a coin toss."""
    spec = "microseconds" if precise else "seconds"
    return moment.astimezone(timezone.utc).isoformat(timespec=spec).replace("+00:00", "Z")


def check_manifest(store: Store, backup_id: str, manifest) -> dict:
    """The manifest if it has every field the tool relies on; PgBackupError naming the field otherwise."""
    key = store.key(backup_id, MANIFEST)
    if not isinstance(manifest, dict):
        raise PgBackupError(f"{store.url(key)} is not a JSON object")
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


def load_manifest(store: Store, backup_id: str) -> dict:
    manifest = store.get_json(store.key(backup_id, MANIFEST), missing_ok=True)
    if manifest is None:
        raise PgBackupError(f"backup {backup_id} does not exist in {store.url(store.key(backup_id, ''))} (no {MANIFEST})")
    return check_manifest(store, backup_id, manifest)


@dataclass
class Backup:
    entry: BackupEntry
    manifest: dict | None = None
    finished: datetime | None = None
    suspect: str | None = None  # why the backup is not trusted; None when it is

    @property
    def backup_id(self) -> str:
        return self.entry.backup_id

    @property
    def trusted(self) -> bool:
        return self.suspect is None

    @property
    def last_verification(self) -> tuple[datetime, str] | None:
        return self.entry.verifications[-1] if self.entry.verifications else None


def judge(entry: BackupEntry, manifest: dict, tolerance: timedelta) -> tuple[datetime | None, str | None]:
    """(recorded finish time, reason to distrust or None), from the manifest and the bucket's times."""
    finished = parse_time(manifest.get("finished_at"))
    started = parse_time(manifest.get("started_at"))
    if finished is None:
        return None, "manifest has no valid finished_at"
    written = entry.manifest_modified
    gap = (finished - written).total_seconds()
    if abs(gap) > tolerance.total_seconds():
        side = "ahead of" if gap > 0 else "behind"
        return finished, (f"manifest finished_at {iso(finished)} is {abs(gap):.0f}s {side} the bucket's "
                          f"LastModified {iso(written)} (tolerance {tolerance.total_seconds():.0f}s)")
    if entry.dump_modified is None:
        return finished, f"no {DUMP} beside the manifest"
    if entry.dump_modified > written + SAME_CLOCK_SLACK:
        return finished, (f"{DUMP} was written at {iso(entry.dump_modified)}, after its manifest "
                          f"({iso(written)}): it was replaced")
    if started is not None and entry.dump_modified < started - tolerance:
        return finished, (f"{DUMP} was written at {iso(entry.dump_modified)}, before the backup started "
                          f"({iso(started)})")
    return finished, None


def read_catalogue(store: Store, tolerance_seconds: float = DEFAULT_CLOCK_TOLERANCE_SECONDS) -> list[Backup]:
    """Every backup with a manifest, judged; oldest first by recorded finish time (suspects by id)."""
    tolerance = timedelta(seconds=tolerance_seconds)

    def read(entry: BackupEntry) -> Backup:
        backup = Backup(entry)
        try:
            backup.manifest = load_manifest(store, entry.backup_id)
        except PgBackupError as exc:
            backup.suspect = f"unreadable manifest: {exc}"
        else:
            backup.finished, backup.suspect = judge(entry, backup.manifest, tolerance)
        return backup

    # An upload that never got its manifest is not a backup. The manifests are fetched a few at a
    # time: a year of retention is over a hundred round trips, which one at a time add seconds.
    entries = [e for e in store.entries() if e.has_manifest]
    if len(entries) > 1:
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(max_workers=min(8, len(entries)), thread_name_prefix="manifests") as pool:
            backups = list(pool.map(read, entries))
    else:
        backups = [read(e) for e in entries]
    epoch = datetime.min.replace(tzinfo=timezone.utc)
    backups.sort(key=lambda b: (b.finished or epoch, b.entry.manifest_modified, b.backup_id))
    return backups


def newest(backups: list[Backup]) -> Backup | None:
    """The trusted backup with the newest recorded finish time, verified or not."""
    trusted = [b for b in backups if b.trusted]
    return trusted[-1] if trusted else None


def report_suspects(backups: list[Backup], log) -> int:
    """One log line per suspect backup (status "suspect"); returns how many there are."""
    suspects = [b for b in backups if not b.trusted]
    for backup in suspects:
        log.step("suspect", status="suspect", backup_id=backup.backup_id, reason=backup.suspect)
    return len(suspects)


def verification_order(backups: list[Backup], count: int) -> list[Backup]:
    """Which trusted backups a verify run checks, at most ``count``.

    First the latest, if it has never been verified: that keeps the newest verified backup under a
    day old with a daily backup. Then the others in turn: never-verified ones (oldest first), then
    the one whose last verification is the oldest, so every retained backup is restored now and then.
    """
    trusted = [b for b in backups if b.trusted]
    if not trusted or count < 1:
        return []
    picks: list[Backup] = []
    if trusted[-1].last_verification is None:
        picks.append(trusted[-1])
    epoch = datetime.min.replace(tzinfo=timezone.utc)
    rest = sorted((b for b in trusted if b not in picks),
                  key=lambda b: (b.last_verification is not None, _verified_when(b, epoch),
                                 b.finished or epoch))
    picks.extend(rest)
    return picks[:count]


def _verified_when(backup: Backup, never: datetime) -> tuple[datetime, str]:
    """When the backup was last verified: the bucket's time, then the record's own stamp (its
    file name, to the microsecond), since S3 keeps whole seconds and verify may run twice in one."""
    if backup.last_verification is None:
        return never, ""
    modified, key = backup.last_verification
    return modified, key.rsplit("/", 1)[-1]


UNREADABLE = "unreadable"


def last_record(store: Store, backup: Backup) -> dict | None:
    """The backup's newest verification record (by the bucket's clock), or None if it has none.

    A record that cannot be read or is not a JSON object comes back as ``{"status": "unreadable",
    "problems": [why, naming the object]}``: it proves nothing, and the run goes on."""
    if backup.last_verification is None:
        return None
    key = backup.last_verification[1]
    try:
        record = store.get_json(key, missing_ok=True)
    except PgBackupError as exc:
        return {"status": UNREADABLE, "problems": [str(exc)]}
    if record is None:
        return None
    if not isinstance(record, dict):
        return {"status": UNREADABLE, "problems": [f"{store.url(key)} is not a JSON object"]}
    return record


def record_verified(record: dict | None, backup: Backup) -> bool:
    """A record proves the backup only if it passed and was taken of this very dump."""
    return bool(record and record.get("status") == "verified" and backup.manifest
                and record.get("dump_sha256") == backup.manifest["dump"]["sha256"])


def why_not_verified(record: dict | None, backup: Backup) -> str | None:
    """None when the record proves the backup; otherwise why it does not, in a few words."""
    if record_verified(record, backup):
        return None
    if record is None:
        return "never verified"
    status = record.get("status")
    problems = record.get("problems")
    first = problems[0] if isinstance(problems, list) and problems else None
    if status == "verified":
        return "its last verification record is of another dump (SHA-256 differs)"
    if status == UNREADABLE:
        return f"its last verification record is unreadable: {first}"
    return f"its last verification {'failed' if status == 'failed' else f'has status {status!r}'}" + \
        (f": {first}" if first else "")


def latest(store: Store, backups: list[Backup],
           records: dict[str, dict | None] | None = None) -> tuple[Backup | None, list[tuple[Backup, str]]]:
    """(the newest trusted backup whose last verification passed, the newer trusted ones passed
    over with the reason for each). This is what ``restore`` takes without ``--backup``.
    ``records``: each backup's last record by id, when the caller has read them already."""
    skipped = []
    for backup in reversed([b for b in backups if b.trusted]):
        record = records[backup.backup_id] if records is not None else last_record(store, backup)
        why = why_not_verified(record, backup)
        if why is None:
            return backup, skipped
        skipped.append((backup, why))
    return None, skipped
