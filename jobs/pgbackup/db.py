"""Database URLs and the catalogue queries pgbackup runs.

libpq parses the URL (``conninfo``), so every form libpq accepts works here too. The password
never reaches a command line or a log: the libpq binaries (psql, pg_dump, pg_restore) get it
through ``PGPASSWORD`` in their environment, and every message names the server as ``host:port``
only. The queries run in psql sessions (``psql.Session``) and print one JSON value per row.
"""
from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass

from jobs.pgbackup import conninfo, log
from jobs.pgbackup.errors import PgBackupError, UsageError

# A wrong host must fail in seconds, not hang the CronJob until its deadline.
DEFAULT_CONNECT_TIMEOUT = "10"

# Tables pg_dump writes data for: ordinary and partitioned tables outside the system schemas and
# not owned by an extension (an extension's tables are recreated by CREATE EXTENSION).
_TABLES_QUERY = """
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2
"""

# The server's version, and anything a restore could collide with: user relations of any kind
# and large objects (both zero: the database is empty).
USER_OBJECTS_PSQL = """
SELECT json_build_array(
  current_setting('server_version_num')::int,
  (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
     AND n.nspname NOT IN ('pg_catalog', 'information_schema')
     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                     AND d.objid = c.oid AND d.deptype = 'e')),
  (SELECT count(*) FROM pg_largeobject_metadata))
"""


@dataclass(frozen=True)
class DatabaseUrl:
    """A parsed libpq connection string; ``str()`` of it is safe to print.

    ``iam_region``: log in with an RDS IAM authentication token (the pod's IRSA role signs it; it
    is valid 15 minutes, so a fresh one is made for every connection) instead of a password: the
    job then holds no database password at all."""

    params: dict
    flag: str
    iam_region: str | None = None

    @classmethod
    def parse(cls, url: str, flag: str) -> "DatabaseUrl":
        if not url:
            raise UsageError(f"{flag} is empty")
        # Whatever the parser makes of it, the text between "user:" and the last "@" is the
        # password the operator meant (an unencoded "@" in it moves libpq's split to the first one).
        scheme, sep, rest = url.partition("://")
        if sep and "@" in rest.split("/", 1)[0]:
            userinfo = rest.split("/", 1)[0].rpartition("@")[0]
            log.secret(userinfo.partition(":")[2])
            log.secret(userinfo)
        try:
            params = conninfo.parse(url)
        except conninfo.ConninfoError as exc:
            # libpq's own message may quote the string, password included: say only what is wrong.
            reason = "unknown query parameter" if "query parameter" in str(exc) else "not a postgresql:// URL or libpq connection string"
            raise UsageError(f"{flag} is invalid: {reason}") from None
        log.secret(params.get("password"))
        if "@" in str(params.get("host") or "") or "@" in str(params.get("port") or ""):
            raise UsageError(f"{flag} is invalid: its host contains '@', so the password holds an unencoded '@' "
                             "(percent-encode it as %40)")
        port = params.get("port")
        if port is not None and not str(port).isdigit():
            raise UsageError(f"{flag} is invalid: port {port!r} is not a number")
        if not params.get("dbname"):
            raise UsageError(f"{flag} names no database (add /<dbname> to the URL)")
        params.setdefault("connect_timeout", DEFAULT_CONNECT_TIMEOUT)
        return cls(params=params, flag=flag)

    @property
    def dbname(self) -> str:
        return self.params["dbname"]

    @property
    def host(self) -> str:
        return self.params.get("host") or os.environ.get("PGHOST") or "localhost"

    @property
    def port(self) -> str:
        return str(self.params.get("port") or os.environ.get("PGPORT") or "5432")

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def __str__(self) -> str:
        return f"{self.where}/{self.dbname}"

    def with_dbname(self, dbname: str) -> "DatabaseUrl":
        return DatabaseUrl(params={**self.params, "dbname": dbname}, flag=self.flag, iam_region=self.iam_region)

    def with_iam(self, region: str | None) -> "DatabaseUrl":
        if region and self.params.get("password"):
            raise UsageError(f"{self.flag} has a password; with RDS IAM authentication the token is the password")
        return DatabaseUrl(params=self.params, flag=self.flag, iam_region=region or None)

    def password(self) -> str | None:
        if self.iam_region is None:
            return self.params.get("password")
        try:
            token = _rds_client(self.iam_region).generate_db_auth_token(
                DBHostname=self.host, Port=int(self.port), DBUsername=self.params.get("user") or "",
                Region=self.iam_region)
        except Exception as exc:  # botocore: no credentials, bad region
            raise PgBackupError(f"cannot make an RDS IAM token for {self.where} ({type(exc).__name__})") from None
        log.secret(token)
        return token

    def libpq_args(self) -> tuple[str, dict]:
        """(conninfo without the password for ``--dbname``, environment for the subprocess)."""
        public = {k: v for k, v in self.params.items() if k != "password"}
        env = dict(os.environ)
        password = self.password()
        if password is not None:
            env["PGPASSWORD"] = password
        return conninfo.make(public), env


@functools.lru_cache(maxsize=None)
def _rds_client(region: str):
    """One RDS client per region and process: every connection needs a fresh token (valid 15
    minutes), not a fresh client."""
    import botocore.session  # only for IAM authentication: no cost to the others
    return botocore.session.get_session().create_client("rds", region_name=region)


def connection_reason(exc: BaseException) -> str:
    """The cause of a libpq connection failure in a few words, without the libpq boilerplate."""
    text = str(exc).strip()
    lowered = text.lower()
    if "connection refused" in lowered:
        return "connection refused"
    if "password authentication failed" in lowered:
        match = re.search(r'password authentication failed for user "([^"]*)"', text)
        return f'password authentication failed for user "{match.group(1)}"' if match else "password authentication failed"
    if "no password supplied" in lowered:
        return "the server wants a password and none was given"
    if "failed to resolve host" in lowered or "could not translate host name" in lowered:
        return "unknown host"
    if "timeout expired" in lowered:
        return "timed out"
    match = re.search(r'database "([^"]*)" does not exist', text)
    if match:
        return f'database "{match.group(1)}" does not exist'
    # Otherwise libpq's last line, which carries the server's reason (FATAL: ...).
    last = [line.strip() for line in text.splitlines() if line.strip()][-1]
    return re.sub(r"^(psql: error: )?(connection failed: )?(connection to server .*? failed: )?(FATAL:\s*)?", "", last)


def quoted_table(schema: str, table: str) -> str:
    """``schema.table`` as it appears in the manifest and in messages (quoted only when needed)."""
    def ident(name: str) -> str:
        return name if re.fullmatch(r"[a-z_][a-z0-9_$]*", name) else '"' + name.replace('"', '""') + '"'
    return f"{ident(schema)}.{ident(table)}"


# Exact row count of every table pg_dump writes data for: one JSON [schema, table, rows] line per
# table, in the session's snapshot (psql's \gexec runs each generated count), then
# [null, null, large objects].
ROW_COUNTS_PSQL = f"""
SELECT format('SELECT json_build_array(%L, %L, count(*)) FROM %I.%I', nspname, relname, nspname, relname)
FROM ({_TABLES_QUERY}) AS tables (nspname, relname) ORDER BY nspname, relname
\\gexec
SELECT json_build_array(NULL, NULL, count(*)) FROM pg_largeobject_metadata;
"""


def row_counts(session) -> tuple[dict[str, int], int]:
    """({schema.table as the manifest names it: rows}, large objects) in a psql session's snapshot."""
    *tables, (_, _, large_objects) = session.rows(ROW_COUNTS_PSQL)
    return {quoted_table(schema, table): count for schema, table, count in tables}, large_objects
