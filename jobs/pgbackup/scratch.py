"""The verify role and its scratch databases.

A dump is code: pg_restore runs whatever SQL it holds. Verify therefore never restores as the
master user. It restores as a dedicated role that may create databases and nothing else, into a
database that role creates (and so owns), that no other role may connect to, and that it drops
afterwards. The role is either provisioned by an operator (``--scratch-url`` logs in as it) or
provisioned by the tool through an administrative login (``--scratch-admin-url``): then the tool
creates the role if needed, gives it a fresh random password valid for the run's deadline only,
and logs in as it; the administrative login runs no other statement.

Either way the tool refuses to restore when the role it is connected as can do more than that:
superuser, CREATEROLE, REPLICATION, BYPASSRLS, membership of any role (``rds_superuser``, the
application's roles, ``pg_read_all_data``...), or ownership of a database other than its scratch
databases (the master user, the application's owner).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta, timezone

from jobs.pgbackup.db import DatabaseUrl
from jobs.pgbackup.errors import PgBackupError
from jobs.pgbackup.psql import Session, SessionError, identifier, literal

RDS_IAM_ROLE = "rds_iam"  # RDS's role for IAM database authentication
SCRATCH_PREFIX = "pgbackup_verify_"
# How long a password the tool sets stays valid: the verify CronJob's deadline plus a margin.
DEFAULT_PASSWORD_HOURS = 5
# A scratch database older than this belongs to a run that was killed (the CronJob's deadline is
# 4 h and runs never overlap): it holds a copy of production data and nothing needs it.
ABANDONED_AFTER = timedelta(hours=12)
_NAME = re.compile(r"pgbackup_verify_(\d{8}t\d{6})_[0-9a-f]{8}")
# PostgreSQL's default scram_iterations: what the server itself uses for a plain PASSWORD.
SCRAM_ITERATIONS = 4096

_ROLE_QUERY = r"""
SELECT json_build_array(
  r.rolname, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, r.rolbypassrls,
  ARRAY(SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid
        WHERE m.member = r.oid ORDER BY 1),
  ARRAY(SELECT d.datname FROM pg_database d
        WHERE d.datdba = r.oid AND d.datname NOT LIKE 'pgbackup\_verify\_%' ORDER BY 1),
  current_setting('server_version_num')::int)
FROM pg_roles r WHERE r.rolname = current_user
"""


def role_problems(session: Session) -> tuple[str, list[str], int]:
    """(current role, what it may do beyond creating its own scratch databases, server major)."""
    name, superuser, createrole, createdb, replication, bypassrls, member_of, owns, server = session.one(_ROLE_QUERY)
    problems = []
    if superuser:
        problems.append("is a superuser")
    if createrole:
        problems.append("has CREATEROLE")
    if replication:
        problems.append("has REPLICATION")
    if bypassrls:
        problems.append("has BYPASSRLS")
    # rds_iam only lets the role log in with an IAM token instead of a password: no privilege.
    member_of = [m for m in member_of if m != RDS_IAM_ROLE]
    if member_of:
        problems.append(f"is a member of {', '.join(member_of)}")
    if owns:
        problems.append(f"owns database {', '.join(owns[:3])}" + (f" and {len(owns) - 3} more" if len(owns) > 3 else ""))
    if not createdb:
        problems.append("lacks CREATEDB (it needs it to create its scratch database)")
    return name, problems, server // 10000


def require_least_privilege(session: Session, where: str) -> tuple[str, int]:
    """(the role's name, the server's major), or PgBackupError when the role may do more."""
    name, problems, server = role_problems(session)
    if problems:
        raise PgBackupError(f"refusing to restore as role {name} at {where}: it {'; it '.join(problems)} "
                            f"(verify needs a role with LOGIN and CREATEDB only, see jobs/pgbackup/README.md)")
    return name, server


def scram_verifier(password: str, iterations: int = SCRAM_ITERATIONS, salt: bytes | None = None) -> str:
    """The SCRAM-SHA-256 secret PostgreSQL stores for ``password`` (RFC 5802/7677, in the server's
    ``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`` form). Sent instead of the
    password, it keeps the password itself out of the server's statement log. The tool's
    passwords are ASCII, which SASLprep leaves as they are."""
    if not password.isascii():
        raise ValueError("only ASCII passwords are prepared here (SASLprep is not implemented)")
    salt = secrets.token_bytes(16) if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    stored_key = hashlib.sha256(hmac.digest(salted, b"Client Key", "sha256")).digest()
    server_key = hmac.digest(salted, b"Server Key", "sha256")
    b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def provision_role(admin: DatabaseUrl, role: str, hours: float = DEFAULT_PASSWORD_HOURS) -> DatabaseUrl:
    """Creates ``role`` (LOGIN CREATEDB, nothing else) if missing, sets a new random password valid
    for ``hours``, and returns the scratch URL that logs in as it (same server and database)."""
    password = secrets.token_urlsafe(32)
    try:
        with Session(admin) as session:
            until, exists = session.one(f"SELECT json_build_array((now() + make_interval(secs => {float(hours) * 3600}))"
                                        f"::text, EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {literal(role)}))")
            # ALTER only sets what a CREATEROLE login may set; whatever else the role holds is
            # caught by require_least_privilege before anything is restored.
            # INHERIT (the default) is needed: the public schema of a new database belongs to
            # pg_database_owner, whose rights the owner has only by inheritance.
            verb = "ALTER ROLE {} LOGIN CREATEDB INHERIT" if exists else \
                "CREATE ROLE {} LOGIN CREATEDB INHERIT NOSUPERUSER NOCREATEROLE NOREPLICATION NOBYPASSRLS"
            session.rows(verb.format(identifier(role)) +
                         f" PASSWORD {literal(scram_verifier(password))} VALID UNTIL {literal(until)}")
    except SessionError as exc:
        raise PgBackupError(f"cannot provision verify role {role} at {admin.where} ({exc.reason})") from None
    return DatabaseUrl(params={**admin.params, "user": role, "password": password}, flag=admin.flag)


def scratch_name(now: datetime) -> str:
    # A fresh database per backup verified, so concurrent or crashed runs never collide.
    return f"{SCRATCH_PREFIX}{now:%Y%m%dt%H%M%S}_{secrets.token_hex(4)}"


def create(session: Session, name: str, where: str) -> None:
    try:
        # It will hold a copy of production data: only its owner (and superusers) may connect.
        session.rows(f"CREATE DATABASE {identifier(name)} TEMPLATE template0;\n"
                     f"REVOKE ALL ON DATABASE {identifier(name)} FROM PUBLIC")
    except SessionError as exc:
        raise PgBackupError(f"cannot create scratch database {name} at {where} ({exc.reason})") from None


def drop(session: Session, name: str) -> None:
    """Drops a scratch database, ending the role's own sessions in it (a pg_restore still closing).

    FORCE refuses a role without pg_signal_backend when any process of another role is in the
    database, and PostgreSQL counts an autovacuum worker as one: a freshly restored database is
    exactly where autovacuum goes next. A plain DROP DATABASE then stops the worker itself (and
    waits a few seconds for it) instead of failing the verification."""
    _, sqlstate = session.attempt(f"DROP DATABASE IF EXISTS {identifier(name)} WITH (FORCE)")
    if sqlstate == "42501":  # insufficient_privilege
        session.rows(f"DROP DATABASE IF EXISTS {identifier(name)}")
    elif sqlstate is not None:
        raise PgBackupError(f"cannot drop scratch database {name} at {session.url.where} (SQLSTATE {sqlstate})")


def drop_abandoned(session: Session, now: datetime, older_than: timedelta = ABANDONED_AFTER) -> list[str]:
    """Drops this role's scratch databases left by killed runs; returns their names."""
    names = [row[0] for row in session.rows(
        r"SELECT json_build_array(datname) FROM pg_database "
        r"WHERE datdba = (SELECT oid FROM pg_roles WHERE rolname = current_user) "
        r"AND datname LIKE 'pgbackup\_verify\_%' ORDER BY datname")]
    dropped = []
    for name in names:
        match = _NAME.fullmatch(name)
        if not match:
            continue
        made = datetime.strptime(match.group(1), "%Y%m%dt%H%M%S").replace(tzinfo=timezone.utc)
        if now - made > older_than:
            drop(session, name)
            dropped.append(name)
    return dropped
