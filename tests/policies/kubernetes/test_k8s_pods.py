"""governance/kubernetes/pods.py, from the compliant baseline (tests/policies/guardrails.py): one field
changed per case, the exact message."""
import pytest

from guardrails import C0, DEP, POD, case_id, one_field_changed

CASES = [
    # (policy, type, name, path, value, resource the violation names, message)
    ("kubernetes-container-resources", DEP, "api", f"{C0}.resources.limits", {}, None,
     "api: container api is missing resources limits.cpu, limits.memory"),
    ("kubernetes-container-non-root", DEP, "api", f"{C0}.securityContext.runAsNonRoot", False, None,
     "api: container api must set securityContext.runAsNonRoot: true"),
    ("kubernetes-container-no-privilege-escalation", DEP, "api", f"{C0}.securityContext.allowPrivilegeEscalation", True,
     None, "api: container api must set securityContext.allowPrivilegeEscalation: false"),
    ("kubernetes-container-image-tag-pinned", DEP, "api", f"{C0}.image", "ghcr.io/insurance-lead-gen/api:latest", None,
     "api: container api image ghcr.io/insurance-lead-gen/api:latest uses the latest tag"),
    ("kubernetes-container-image-tag-pinned", DEP, "api", f"{C0}.image", "localhost:5000/api", None,
     "api: container api image localhost:5000/api has no tag (it would pull latest)"),
    ("kubernetes-pod-no-host-namespaces", DEP, "api", f"{POD}.hostNetwork", True, None,
     "api: pod sets hostNetwork: true; it would share the node's namespaces"),
    ("kubernetes-pod-no-host-namespaces", DEP, "api", f"{POD}.hostPID", True, None,
     "api: pod sets hostPID: true; it would share the node's namespaces"),
    ("kubernetes-container-no-dangerous-capabilities", DEP, "api", f"{C0}.securityContext.capabilities.add",
     ["SYS_ADMIN"], None, "api: container api adds capability SYS_ADMIN; drop ALL and add only what it needs"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_one_field_changed_fires_exactly_one_policy(case):
    one_field_changed(*case)
