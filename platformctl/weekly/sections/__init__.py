"""The weekly report's sections, in the order the report prints them: the one registry.

Each is a module `platformctl/weekly/sections/<key>.py` exposing `KEY`, `TITLE` and
`assess(ctx: Context) -> Section`, imported only when the report runs. CHECKLIST maps the
operations runbook's weekly maintenance checklist, item by item, to the section that answers it.
"""
from __future__ import annotations

import importlib
from types import ModuleType

SECTIONS: tuple[str, ...] = ("backups", "certificates", "kubernetes", "slos", "cost", "security", "nodes_logs",
                             "changes")

# The runbook's "Weekly Maintenance Checklist", its eleven items in its order, and where each is answered.
CHECKLIST: tuple[tuple[str, str], ...] = (
    ("Review error logs for patterns", "nodes_logs"),
    ("Check backup completion status", "backups"),
    ("Review security advisories", "security"),
    ("Verify SSL certificate expiry", "certificates"),
    ("Check disk space on all nodes", "nodes_logs"),
    ("Review and rotate secrets if needed", "security"),
    ("Check for Kubernetes version updates", "kubernetes"),
    ("Review cost optimization opportunities", "cost"),
    ("Check SLO compliance status", "slos"),
    ("Review error budget consumption", "slos"),
    ("Update SLO tracking dashboards", "slos"),
)


def module(key: str) -> ModuleType:
    """The section's module; ImportError when it is not there."""
    if key not in SECTIONS:
        raise KeyError(f"no weekly section {key!r}; one of {', '.join(SECTIONS)}")
    return importlib.import_module(f"{__name__}.{key}")
