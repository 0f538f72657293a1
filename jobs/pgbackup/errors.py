"""The two kinds of failure the CLI reports, each with its exit code (0 ok, 1 failure, 2 usage)."""


class PgBackupError(Exception):
    """A failure of the operation: S3, database, checksum or row-count mismatch, refused restore."""

    exit_code = 1


class UsageError(PgBackupError):
    """Bad flags, environment or URLs: nothing was attempted."""

    exit_code = 2


class Terminated(Exception):
    """SIGTERM (the Job's deadline, an eviction): the run was cut short and cleaned up.

    Not a PgBackupError: code that turns a PgBackupError into "this backup is suspect" and goes
    on must not swallow the end of the run."""

    exit_code = 143  # 128 + SIGTERM, what the shell and Kubernetes report for it
