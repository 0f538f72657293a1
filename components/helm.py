"""The one way the platform installs a Helm chart: a `helm.v3.Release` of a pinned chart.

Every release is atomic with cleanup on failure, so a failed install or upgrade rolls back to the
previous revision instead of leaving a half-applied release that blocks the next update. The
resource is named `<owner>-<release>` after the component that owns it. HTTP charts are fetched
through `repository_opts`; OCI charts are addressed by their full reference, which is how Helm
takes them (`repository_opts` is for HTTP repositories only).
"""
from __future__ import annotations

from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from leadgen.versions import Pin


def helm_release(owner: str, release: str, *, chart: Pin, namespace: str, values: dict[str, Any],
                 opts: pulumi.ResourceOptions, create_namespace: Optional[bool] = None,
                 skip_crds: Optional[bool] = None) -> k8s.helm.v3.Release:
    """`opts` carries the parent (the owning component), provider and dependencies.
    `create_namespace` and `skip_crds` are sent only when given, so a release that never set
    them keeps the inputs it has in state."""
    if chart.kind != "chart":
        raise ValueError(f"{owner}-{release}: pin {chart.name} has kind {chart.kind}; only a chart can be released")
    source: dict[str, Any] = ({"chart": f"{chart.source}/{chart.name}"} if chart.is_oci else
                              {"chart": chart.name, "repository_opts": {"repo": chart.source}})
    optional = {k: v for k, v in (("create_namespace", create_namespace), ("skip_crds", skip_crds))
                if v is not None}
    return k8s.helm.v3.Release(
        f"{owner}-{release}", name=release, version=chart.version, namespace=namespace,
        values=values, atomic=True, cleanup_on_fail=True, **source, **optional, opts=opts)
