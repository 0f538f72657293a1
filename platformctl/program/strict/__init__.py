"""The offline preview as strict as AWS and Kubernetes are at create time.

The SDK's mock engine accepts any name, any principal and any value; the cloud does not. These
checks run on every program run (`run_program`) and fail it, one line per finding in the
provider's or engine's own message shape, naming the resource, the rule and the limit:
- names.py: every name-like input of every AWS type the program declares, given or auto-named as
  the provider names it, against the limits of aws_limits.py (generated from the AWS API models);
  Kubernetes object names against the DNS-1123 rules the API server applies;
- principals.py: every principal in key, trust, bucket and topic policies names something the
  stack or bootstrap/ declares, a service principal, or a declared service-linked role;
- forcenew.py: which property changes replace a resource (used by the diff, which refuses to
  replace a protected one).
"""
from __future__ import annotations


class StrictError(Exception):
    """Findings that AWS, Kubernetes or the engine would fail the update with; str() is one line each."""

    def __init__(self, findings: list[str]):
        self.findings = list(findings)
        super().__init__("\n".join(self.findings))


def check(resources: list[dict], project: str, stack: str) -> list[str]:
    """Every finding over a program run's resources (empty: the cloud would accept them)."""
    from platformctl.program.strict import names, principals

    return [*names.check(resources), *principals.check(resources, project, stack)]
