"""The two kinds of failure the CLI reports, each with its exit code (0 ok, 1 failure, 2 usage)."""


class PgBackupError(Exception):
    """A failure of the operation: S3, database, checksum or row-count mismatch, refused restore."""

    exit_code = 1


class UsageError(PgBackupError):
    """Bad flags, environment or URLs: nothing was attempted."""

    exit_code = 2
