"""Pushes the job's metrics to a Prometheus Pushgateway (text exposition format, standard library).

Grouping key: job="pgbackup", operation="backup"|"verify", database="<dbname>". POST, not PUT: a
POST replaces only the metrics it names, so a failed run (which sends no success timestamp) leaves
``pgbackup_last_success_timestamp_seconds`` of the last good run in place for the staleness alert.
"""
from __future__ import annotations

import base64
import http.client
import urllib.error
import urllib.parse
import urllib.request

from jobs.pgbackup import log

HELP = {
    "pgbackup_last_success_timestamp_seconds": "Unix time of the last successful run.",
    "pgbackup_duration_seconds": "Duration of the last run.",
    "pgbackup_bytes": "Size of the dump of the last successful run.",
    "pgbackup_previous_bytes": "Size of the previous backup's dump, from its manifest.",
    "pgbackup_last_run_success": "1 if the last run succeeded, 0 if it failed.",
    "pgbackup_suspect_backups": "Backups whose manifest time disagrees with S3's LastModified (or is unreadable).",
    "pgbackup_last_verified_backup_timestamp_seconds":
        "S3 LastModified of the newest trusted backup whose last verification passed; 0 if none.",
}


def _label_segment(name: str, value: str) -> str:
    # The Pushgateway's URL form: values with "/" (or empty ones) go base64url-encoded.
    if value == "" or "/" in value:
        encoded = base64.urlsafe_b64encode(value.encode()).decode() or "="
        return f"{name}@base64/{encoded}"
    return f"{name}/{urllib.parse.quote(value, safe='')}"


def split_credentials(base: str) -> tuple[str, str | None]:
    """(the URL without user:password, the Basic ``Authorization`` header value or None).

    A Pushgateway behind basic auth is given as ``https://user:password@host``; urllib would take
    ``user:password@host`` for the host name, and the URL would reach the logs as it is. The
    password is registered with the log so no line carries it, even inside an error message."""
    parts = urllib.parse.urlsplit(base)
    if parts.username is None and parts.password is None:
        return base, None
    user = urllib.parse.unquote(parts.username or "")
    password = urllib.parse.unquote(parts.password or "")
    log.secret(password)
    log.secret(parts.password)
    # rpartition: a password with an unencoded "@" still leaves only the host after the last one.
    host = parts.netloc.rpartition("@")[2]
    clean = urllib.parse.urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return clean, f"Basic {token}"


def public_url(base: str) -> str:
    """The Pushgateway URL as logs may show it: no credentials."""
    return split_credentials(base)[0]


def push_url(base: str, operation: str, database: str) -> str:
    path = "/".join([_label_segment("job", "pgbackup"), _label_segment("operation", operation),
                     _label_segment("database", database)])
    return f"{base.rstrip('/')}/metrics/{path}"


def exposition(values: dict[str, float]) -> str:
    lines = []
    for name, value in values.items():
        lines.append(f"# HELP {name} {HELP.get(name, name)}")
        lines.append(f"# TYPE {name} gauge")
        lines.append(f"{name} {float(value)!r}")
    return "\n".join(lines) + "\n"


def push(base: str, operation: str, database: str, values: dict[str, float], timeout: float = 10.0) -> None:
    """Raises OSError (with a one-line reason) when the Pushgateway cannot take the push."""
    clean, authorization = split_credentials(base)
    headers = {"Content-Type": "text/plain; version=0.0.4"}
    if authorization:
        headers["Authorization"] = authorization
    request = urllib.request.Request(
        push_url(clean, operation, database), data=exposition(values).encode(), method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise OSError(f"HTTP {exc.code} {exc.read(200).decode(errors='replace').strip()}") from None
    except urllib.error.URLError as exc:
        raise OSError(str(exc.reason)) from None
    except (ValueError, http.client.HTTPException) as exc:  # InvalidURL and friends: a malformed URL
        raise OSError(f"invalid Pushgateway URL ({exc})") from None
