"""The backup layout in S3 and the streaming transfers.

    <prefix>/<backup-id>/dump.pgcustom                  pg_dump -Fc output, uploaded in parts as it is produced
    <prefix>/<backup-id>/manifest.json                  written last: a backup without it does not exist
    <prefix>/<backup-id>/verifications/<time>-<r>.json  one record per verification, never rewritten
    <prefix>/<backup-id>/verification.json              the single record of tools before per-run records (read only)

Every object is created with ``If-None-Match: *``: S3 refuses the write when the key exists, so no
run can overwrite another's dump, manifest or record, whatever its clock says.

Backup ids are a UTC time plus eight random hex digits (``20261122T020000Z-1a2b3c4d``): two runs in
the same second get different ids. Older ids without the suffix are still read. The id's time is
the pod's clock and is not trusted for ordering: see ``catalogue``.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import operator
import queue
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone

from jobs.pgbackup.errors import PgBackupError

from jobs.pgbackup.s3 import S3CredentialsError, S3Error, S3Failure, S3TransportError

# The S3 client (jobs/pgbackup/s3.py) imports awscrt when it is made, not with this module: the
# backup makes it in the background while pg_dump runs (see Store.warm_up).


def new_s3_client():
    """An S3 client from the environment (region, AWS_ENDPOINT_URL, credentials: see s3.py), with
    its credentials resolved. Retries stay few so that a failing S3 fails the job within minutes
    and the alert fires."""
    from jobs.pgbackup import startup_done
    from jobs.pgbackup.s3 import S3Client
    client = S3Client.from_env()
    client.prepare()
    startup_done()
    return client

DUMP = "dump.pgcustom"
MANIFEST = "manifest.json"
VERIFICATION = "verification.json"  # the older tools' single, overwritten record
VERIFICATIONS = "verifications"
ID_FORMAT = "%Y%m%dT%H%M%SZ"
_ID = re.compile(r"(\d{8}T\d{6}Z)(-[0-9a-f]{8})?")
# Manifests and records are a few KiB (a manifest grows ~60 bytes per table); anything far larger
# under the prefix is not one of ours and is refused while it is read, not after.
MAX_JSON_BYTES = 4 * 1024 * 1024
# Ours nest three levels deep. The bound keeps json's recursive parser far from Python's limit.
MAX_JSON_DEPTH = 32


def backup_id_at(moment: datetime, suffix: str | None = None) -> str:
    stamp = moment.astimezone(timezone.utc).strftime(ID_FORMAT)
    return f"{stamp}-{suffix}" if suffix is not None else stamp


def record_stamp(moment: datetime) -> str:
    """A verification record's time in its key, to the microsecond: records sort by key, and two
    verifications in one second (S3 keeps whole seconds) must still sort in the order they ran."""
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")


def is_backup_id(text: str) -> bool:
    match = _ID.fullmatch(text)
    if not match:
        return False
    try:
        datetime.strptime(match.group(1), ID_FORMAT)
    except ValueError:
        return False
    return True


def s3_reason(exc: BaseException) -> str:
    if isinstance(exc, S3Error):
        return f"{exc.code}: {exc.message}" if exc.message else exc.code
    if isinstance(exc, S3CredentialsError):
        return f"no AWS credentials (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or use the pod's role; {exc})"
    if isinstance(exc, S3TransportError):
        return str(exc)
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _refused_overwrite(exc) -> bool:
    # 412: the key exists. 409: another conditional write to the same key is in flight.
    return isinstance(exc, S3Error) and exc.code in ("PreconditionFailed", "ConditionalRequestConflict")


@contextlib.contextmanager
def s3_errors(action: str, where: str):
    """Turns any failure of an S3 call into one line naming the action and the object."""
    try:
        yield
    except S3Failure as exc:
        if _refused_overwrite(exc):
            raise PgBackupError(f"S3 {action} refused for {where}: the object already exists and is never "
                                f"overwritten ({s3_reason(exc)})") from None
        raise PgBackupError(f"S3 {action} failed for {where} ({s3_reason(exc)})") from None


def _is_missing(exc) -> bool:
    return isinstance(exc, S3Error) and exc.code in ("NoSuchKey", "404", "NotFound")


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(data: bytes) -> int:
    """How deep a JSON text's arrays and objects nest, in linear time and constant stack: strings
    are cut out first (a bracket inside one does not count), then the brackets are summed up."""
    brackets = _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", data))
    return max(itertools.accumulate(map(_STEP.__getitem__, brackets), operator.add), default=0)


def parse_json(data: bytes, where: str):
    """The document in ``data``, or PgBackupError naming ``where`` and the cause in one line."""
    depth = json_depth(data)
    if depth > MAX_JSON_DEPTH:
        raise PgBackupError(f"{where} is not a backup document: JSON nested {depth} levels deep "
                            f"(the limit is {MAX_JSON_DEPTH})")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PgBackupError(f"{where} is not valid JSON ({reason[:120]})") from None


def read_capped(body, cap: int, where: str) -> bytes:
    """At most ``cap`` bytes of a streaming body; refuses (without reading on) when there are more."""
    chunks, total = [], 0
    try:
        while True:
            chunk = body.read(min(1024 * 1024, cap + 1 - total))
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            total += len(chunk)
            if total > cap:
                raise PgBackupError(f"{where} is larger than {cap // (1024 * 1024)} MiB, the limit for a "
                                    "manifest or verification record; not read")
    finally:
        body.close()


@dataclass
class BackupEntry:
    """One backup folder as the listing shows it, with the bucket's own timestamps."""

    backup_id: str
    manifest_modified: datetime | None = None
    dump_modified: datetime | None = None
    # (LastModified, key) of every verification record, oldest first (by the bucket's clock).
    verifications: list[tuple[datetime, str]] = field(default_factory=list)

    @property
    def has_manifest(self) -> bool:
        return self.manifest_modified is not None


class Store:
    def __init__(self, bucket: str, prefix: str, kms_key_id: str | None = None, client=None):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.kms_key_id = kms_key_id
        self._client = client
        self._lock = threading.Lock()
        self._warming: threading.Thread | None = None
        self._warm_error: BaseException | None = None

    def warm_up(self) -> None:
        """Starts making the S3 client in the background; ``client`` waits for it. A failure
        surfaces at the first use of the client, as it would have without the warm-up."""
        with self._lock:
            if self._client is not None or self._warming is not None:
                return
            self._warming = threading.Thread(target=self._make_client, name="s3-client", daemon=True)
            self._warming.start()

    def _make_client(self) -> None:
        try:
            client = new_s3_client()
        except BaseException as exc:  # noqa: BLE001 raised again by the first user of the client
            self._warm_error = exc
        else:
            self._client = client

    @property
    def client(self):
        if self._client is None:
            self.warm_up()
            self._warming.join()
            if self._client is None:
                with s3_errors("client setup", self.url("")):
                    raise self._warm_error or RuntimeError("the S3 client was not made")
        return self._client

    # -- naming ---------------------------------------------------------------------------------
    def key(self, backup_id: str, name: str) -> str:
        return f"{self.prefix}/{backup_id}/{name}" if self.prefix else f"{backup_id}/{name}"

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def _encryption(self) -> dict:
        # Without a key id the bucket's default encryption applies; asking for "aws:kms" without
        # one would silently switch to the AWS-managed key instead of the bucket's own CMK.
        if self.kms_key_id:
            return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.kms_key_id}
        return {}

    # -- listing --------------------------------------------------------------------------------
    def entries(self) -> list[BackupEntry]:
        """Every backup id under the prefix, in id order, with its objects' LastModified."""
        found: dict[str, BackupEntry] = {}
        base = f"{self.prefix}/" if self.prefix else ""
        with s3_errors("list", self.url(base)):
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=base):
                for obj in page.get("Contents", []):
                    rest = obj["Key"][len(base):]
                    backup_id, _, name = rest.partition("/")
                    if not is_backup_id(backup_id):
                        continue
                    entry = found.setdefault(backup_id, BackupEntry(backup_id))
                    modified = obj["LastModified"].astimezone(timezone.utc)
                    if name == MANIFEST:
                        entry.manifest_modified = modified
                    elif name == DUMP:
                        entry.dump_modified = modified
                    elif name == VERIFICATION or (name.startswith(VERIFICATIONS + "/") and name.endswith(".json")):
                        entry.verifications.append((modified, obj["Key"]))
        for entry in found.values():
            # The bucket's time, then the record's stamp: one backup's keys differ only in it.
            entry.verifications.sort()
        return [found[k] for k in sorted(found)]

    def verification_key(self, backup_id: str, stamp: str, suffix: str) -> str:
        return self.key(backup_id, f"{VERIFICATIONS}/{stamp}-{suffix}.json")

    # -- small JSON objects ---------------------------------------------------------------------
    def get_bytes(self, key: str, missing_ok: bool = False, cap: int = MAX_JSON_BYTES) -> bytes | None:
        """A small object's content, read with a byte cap as it streams in."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
            return read_capped(response["Body"], cap, self.url(key))
        except S3Failure as exc:
            if missing_ok and _is_missing(exc):
                return None
            raise PgBackupError(f"S3 read failed for {self.url(key)} ({s3_reason(exc)})") from None

    def get_json(self, key: str, missing_ok: bool = False):
        data = self.get_bytes(key, missing_ok)
        return None if data is None else parse_json(data, self.url(key))

    def put_json(self, key: str, document: dict, attempts: int = 3) -> str:
        """Creates the object, never replacing one; returns how the write was confirmed.

        A write whose reply was lost (a reset connection, a 5xx after S3 stored it) may have
        landed: the client's retry then meets 412 (or 409), or every retry fails. Either way the object is
        read back; if it holds exactly these bytes the write succeeded ("read-back"), if it is
        missing the write is tried again, and if it holds something else the run fails. Nothing
        is ever deleted to "undo" a write."""
        body = (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()
        where = self.url(key)
        cause = "no attempt"
        for _ in range(max(1, attempts)):
            try:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=body, IfNoneMatch="*",
                                       ContentType="application/json", **self._encryption())
                return "written"
            except S3Failure as exc:
                cause, refused = s3_reason(exc), _refused_overwrite(exc)
            try:
                existing = self.get_bytes(key, missing_ok=True)
            except PgBackupError:
                existing = None  # unknown: try the write again (it cannot overwrite)
            if existing == body:
                return "read-back"
            if existing is not None or refused:
                raise PgBackupError(f"S3 write refused for {where}: the object already exists with other "
                                    f"content and is never overwritten ({cause})")
        raise PgBackupError(f"S3 write failed for {where} after {attempts} attempts ({cause})")

    # -- the dump ---------------------------------------------------------------------------------
    def open_dump(self, backup_id: str, if_match: str | None = None):
        """(streaming body, size, ETag) of a backup's dump."""
        key = self.key(backup_id, DUMP)
        extra = {"IfMatch": if_match} if if_match else {}
        with s3_errors("read", self.url(key)):
            response = self.client.get_object(Bucket=self.bucket, Key=key, **extra)
        return response["Body"], response["ContentLength"], response["ETag"]

    def multipart_upload(self, key: str, part_size: int) -> "MultipartUpload":
        return MultipartUpload(self, key, part_size)


class MultipartUpload:
    """Uploads the dump while the caller keeps reading pg_dump's pipe: pg_dump never waits for S3
    to be reached, only for S3 to keep up.

    Parts go out from a background thread, which starts the multipart upload when the first full
    part is queued. A dump smaller than one part is written by ``complete`` in one conditional
    PutObject instead (one request, not three), and only after pg_dump has succeeded, like
    CompleteMultipartUpload: a failed dump never becomes an object.

    The queue holds one part, so memory stays near three parts and a stalled S3 slows pg_dump
    down (the pipe fills) instead of buffering the database in memory or on disk.
    """

    def __init__(self, store: Store, key: str, part_size: int):
        self.store = store
        self.key = key
        self.part_size = part_size
        self.parts: list[dict] = []
        self.error: PgBackupError | None = None
        self.upload_id: str | None = None
        self._single: bytes | None = None
        self._aborted = False
        self._done = False
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._thread = threading.Thread(target=self._worker, name="s3-upload", daemon=True)

    def __enter__(self) -> "MultipartUpload":
        self._thread.start()
        return self

    def _start(self) -> bool:
        """Starts the multipart upload; False if it failed or the run was aborted meanwhile."""
        try:
            with s3_errors("upload start", self.store.url(self.key)):
                upload_id = self.store.client.create_multipart_upload(
                    Bucket=self.store.bucket, Key=self.key, ContentType="application/octet-stream",
                    **self.store._encryption())["UploadId"]
        except PgBackupError as exc:
            self.error = self.error or exc
            return False
        with self._lock:
            aborted = self._aborted
            if not aborted:
                self.upload_id = upload_id
        if aborted:  # the run failed while the upload was being started: drop it here
            self._send_abort(upload_id)
        return not aborted

    def _worker(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self.error is not None or self._aborted:
                continue  # drain until the sentinel so the producer never blocks forever
            if self.upload_id is None and not self._start():
                continue
            number, data = item
            try:
                with s3_errors(f"upload of part {number}", self.store.url(self.key)):
                    response = self.store.client.upload_part(
                        Bucket=self.store.bucket, Key=self.key, UploadId=self.upload_id,
                        PartNumber=number, Body=data)
                self.parts.append({"PartNumber": number, "ETag": response["ETag"]})
            except PgBackupError as exc:
                self.error = exc

    def put(self, number: int, data: bytes) -> None:
        """Queues one part; raises the upload thread's error as soon as there is one. A first
        part shorter than a part is the whole dump: it is kept for ``complete``."""
        if self.error is not None:
            raise self.error
        if self._single is not None:
            # A pipe read returns short only at the end of the stream; if that ever failed, the
            # dump must not be stored as its first part alone.
            raise PgBackupError(f"part {number} followed a short part 1 ({len(self._single)} bytes): "
                                "the dump is not stored")
        if number == 1 and len(data) < self.part_size:
            self._single = data
            return
        self._queue.put((number, data))
        if self.error is not None:
            raise self.error

    def complete(self) -> None:
        self._finish_thread()
        if self.error is not None:
            raise self.error
        if self._single is not None:
            with s3_errors("upload", self.store.url(self.key)):
                # Conditional like every write: a dump already at this key stays as it is.
                self.store.client.put_object(
                    Bucket=self.store.bucket, Key=self.key, Body=self._single, IfNoneMatch="*",
                    ContentType="application/octet-stream", **self.store._encryption())
            self._done = True
            return
        with s3_errors("upload completion", self.store.url(self.key)):
            # Conditional like every write: a dump already at this key stays as it is.
            self.store.client.complete_multipart_upload(
                Bucket=self.store.bucket, Key=self.key, UploadId=self.upload_id, IfNoneMatch="*",
                MultipartUpload={"Parts": sorted(self.parts, key=lambda p: p["PartNumber"])})
        self._done = True

    def abort(self) -> None:
        """Drops every uploaded part: a failed backup leaves nothing behind (nor billed parts).

        The abort goes out first, without waiting for a part in flight (a SIGTERM leaves seconds,
        and a stalled S3 would hold them all); the worker is then stopped, and the abort is sent
        once more, since a part that completes after an abort can still be stored and billed. An
        upload still being started is aborted by the worker as soon as S3 answers."""
        with self._lock:
            self._aborted = True
            upload_id = self.upload_id
        self.error = self.error or PgBackupError("upload aborted")  # the worker drops what is queued
        if upload_id is None:
            self._finish_thread(timeout=5)
            return
        with s3_errors("upload abort", self.store.url(self.key)):
            self.store.client.abort_multipart_upload(Bucket=self.store.bucket, Key=self.key, UploadId=upload_id)
        self._finish_thread(timeout=5)
        self._send_abort(upload_id)

    def _send_abort(self, upload_id: str) -> None:
        with contextlib.suppress(S3Failure, PgBackupError):
            self.store.client.abort_multipart_upload(Bucket=self.store.bucket, Key=self.key, UploadId=upload_id)

    def _finish_thread(self, timeout: float | None = None) -> None:
        if self._thread.is_alive():
            with contextlib.suppress(queue.Full):
                self._queue.put(None, timeout=timeout)
            self._thread.join(timeout)

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None and not self._done:
            try:
                self.abort()
            except PgBackupError:
                pass  # the original failure is the one to report; S3 lifecycle rules reap the rest
