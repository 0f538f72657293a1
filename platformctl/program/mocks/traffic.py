"""Mock outputs for the traffic domain's types that the generic Kubernetes fallback gets wrong."""
from __future__ import annotations

from platformctl.program.mocks import Context, outputs_for


@outputs_for("kubernetes:yaml/v2:ConfigFile")
def _config_file(name: str, inputs: dict, ctx: Context) -> dict:
    # A remote component: under mocks it is one resource, and the objects it would apply from the
    # pinned Gateway API release file are not known here. It has no metadata of its own.
    return {"id": name, "resources": []}
