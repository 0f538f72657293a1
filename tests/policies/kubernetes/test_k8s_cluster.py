"""governance/kubernetes/cluster.py, from the compliant baseline (tests/policies/guardrails.py): one field
changed per case, the exact message."""
import pytest

from guardrails import NP, NS, SA, SC, case_id, one_field_changed

CASES = [
    # (policy, type, name, path, value, resource the violation names, message)
    ("kubernetes-namespace-pod-security", NS, "production-ns", "metadata.labels",
     {"pod-security.kubernetes.io/enforce": "privileged"}, None,
     "production: enforces privileged without pod-security.kubernetes.io/audit at baseline or restricted"),
    ("kubernetes-namespace-pod-security", NS, "production-ns", "metadata.labels", {}, None,
     "production: label pod-security.kubernetes.io/enforce must be one of privileged, baseline, restricted"),
    ("kubernetes-service-account-no-token-automount", SA, "api-sa", "automountServiceAccountToken", True, None,
     "api: automountServiceAccountToken must be false; a pod that calls the API asks for it"),
    ("kubernetes-storage-class-encrypted", SC, "gp3", "parameters.encrypted", "false", None,
     'gp3: parameters.encrypted must be "true"'),
    ("kubernetes-namespace-default-deny", NP, "default-deny", "spec.policyTypes", ["Ingress"], (NS, "production-ns"),
     "production: no default-deny NetworkPolicy (all pods, Ingress and Egress) in this namespace"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_one_field_changed_fires_exactly_one_policy(case):
    one_field_changed(*case)
