"""governance/kubernetes/helm_values.py, from the compliant baseline (tests/policies/guardrails.py): one field
changed per case, the exact message."""
import pytest

from guardrails import HELM, case_id, one_field_changed

CASES = [
    # (policy, type, name, path, value, resource the violation names, message)
    ("helm-release-values-pod-security", HELM, "external-dns", "values.securityContext.privileged", True, None,
     "external-dns (external-dns): values securityContext.privileged: true runs a privileged container"),
    ("helm-release-values-pod-security", HELM, "external-dns", "values.podSecurityContext.runAsUser", 0, None,
     "external-dns (external-dns): values podSecurityContext.runAsUser: 0 runs as root"),
    ("helm-release-values-pod-security", HELM, "external-dns", "values.hostNetwork", True, None,
     "external-dns (external-dns): values hostNetwork: true shares the node's namespaces"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_one_field_changed_fires_exactly_one_policy(case):
    one_field_changed(*case)
