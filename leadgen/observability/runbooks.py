"""Where each alert's `runbook_url` points: a Markdown file under docs/runbooks/ in this repo."""
from __future__ import annotations

import re

RUNBOOK_DIR = "docs/runbooks"
DEFAULT_BASE_URL = "https://github.com/insurance-lead-gen/leadgen-platform/blob/main/docs/runbooks"

# One file per procedure; several alerts may share one (all backup alerts share the backup
# engineer's backup-restore.md).
SLO_VIOLATION = "slo-violation.md"
HIGH_API_ERROR_RATE = "high-api-error-rate.md"
POD_CRASH_LOOPING = "pod-crash-looping.md"
HIGH_MEMORY = "high-memory-usage.md"
NODE_NOT_READY = "node-not-ready.md"
POSTGRES_CONNECTIONS = "postgres-connections.md"
VOLUME_FILLING = "persistent-volume-filling.md"
CERTIFICATE_EXPIRING = "certificate-expiring.md"
BACKUP = "backup-restore.md"
DATA_MISSING = "monitoring-data-missing.md"

# Splits a repository URL into its file path: `.../blob/<ref>/docs/runbooks/x.md`.
_BLOB = re.compile(r"^https?://[^/]+/[^/]+/[^/]+/blob/[^/]+/(?P<path>.+)$")


def runbook_url(base_url: str, file: str) -> str:
    return f"{base_url.rstrip('/')}/{file}"


def repo_path(url: str) -> str | None:
    """The repository path a runbook URL names (`docs/runbooks/x.md`), or None if it names none."""
    match = _BLOB.match(url)
    return match.group("path") if match else None
