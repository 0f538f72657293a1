"""Load balancer guardrails: listeners speak TLS, plain HTTP only to redirect to HTTPS."""
from __future__ import annotations

from ..model import Context, Resource
from ..values import as_list, get


LISTENER_TYPES = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")


def listener_tls(r: Resource, ctx: Context) -> list[str]:
    protocol = str(get(r.props, "protocol", "HTTP")).upper()
    if protocol in ("HTTPS", "TLS"):
        if not get(r.props, "certificateArn"):
            return [f"{r.name}: a {protocol} listener needs certificateArn"]
        return []
    # A plain HTTP listener is allowed only to redirect to HTTPS (it never serves content).
    actions = as_list(get(r.props, "defaultActions"))
    if protocol == "HTTP" and actions and all(
            get(a, "type") == "redirect" and str(get(a, "redirect.protocol", "")).upper() == "HTTPS"
            for a in actions):
        return []
    return [f"{r.name}: protocol {protocol} must be HTTPS or TLS (HTTP only to redirect to HTTPS)"]
