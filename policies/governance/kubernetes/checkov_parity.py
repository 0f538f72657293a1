"""checkov's answer and the pack's, side by side: every Kubernetes check checkov fails on a stack's
rendered manifests (`platformctl render`, then `checkov -d <out>/manifests --framework kubernetes`),
with the pack policy that flags the same object, or why the pack does not.

One row per failing check id, keyed by the stack's environment (`leadgen:environment`) where the
answer differs; `*` answers for every other environment. An answer is a policy name, or a sentence
starting `not applicable: ` that says why the pack leaves checkov's finding standing.
tests/policies/test_checkov_parity.py runs checkov on every stack's render and holds this table to
it: a failing check with no row fails, a row naming a policy the pack does not fire on that object
fails, and a row no render needs any more is stale and fails too.

Checks the render used to fail and no longer does are not rows: their policies name the check in
their description (`kubernetes-container-image-pull-policy`: CKV_K8S_15, `kubernetes-container-high-uid`:
CKV_K8S_40), and the same test regresses the render to show checkov and the pack still agree.
"""
from __future__ import annotations

from typing import Mapping, Optional

NOT_APPLICABLE = "not applicable: "
ANY_ENVIRONMENT = "*"

PARITY: Mapping[str, Mapping[str, str]] = {
    # REDIS_AUTH_TOKEN reaches api and backend (and api-canary) through secretKeyRef because the app
    # contract (docs/app-contract.md) reads it from the environment; the pack reports it, advisory,
    # until the contract moves to a mounted file.
    "CKV_K8S_35": {ANY_ENVIRONMENT: "kubernetes-container-secrets-as-files"},
    "CKV_K8S_43": {
        "production": "kubernetes-container-image-digest-pinned",
        ANY_ENVIRONMENT: NOT_APPLICABLE + "staging and dev run images by tag from the stack's own ECR "
        "repositories, whose tags cannot be pushed again (aws-ecr-repository-hardened: IMMUTABLE) and which "
        "are pulled Always (kubernetes-container-image-pull-policy); running exactly the bytes a tag named "
        "when it was tested is production's requirement.",
    },
}


def answer(check_id: str, environment: str) -> Optional[str]:
    """The row's answer for a stack of `environment`; None when the table has no row for the check."""
    row = PARITY.get(check_id)
    if row is None:
        return None
    return row.get(environment, row.get(ANY_ENVIRONMENT))


def policy_of(check_id: str, environment: str) -> Optional[str]:
    """The pack policy that answers the check on a stack of `environment`, None when none does."""
    a = answer(check_id, environment)
    return None if a is None or a.startswith(NOT_APPLICABLE) else a
