"""Address ranges that mean "anyone on the internet", for every guardrail that asks who can reach
what: security groups, the EKS endpoint, LoadBalancer Services."""
from __future__ import annotations

OPEN_CIDRS = ("0.0.0.0/0", "::/0")
