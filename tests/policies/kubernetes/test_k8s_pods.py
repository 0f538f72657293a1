"""governance/kubernetes/pods.py, from the compliant baseline (tests/policies/guardrails.py): one field
changed per case, the exact message."""
import pytest

from guardrails import C0, CRON, CRON_C0, DEP, POD, case_id, one_field_changed

TAGGED = "ghcr.io/insurance-lead-gen/api:2.14.0"

CASES = [
    # (policy, type, name, path, value, resource the violation names, message[, environment])
    ("kubernetes-container-resources", DEP, "api", f"{C0}.resources.limits", {}, None,
     "api: container api is missing resources limits.cpu, limits.memory"),
    ("kubernetes-container-non-root", DEP, "api", f"{C0}.securityContext.runAsNonRoot", False, None,
     "api: container api must set securityContext.runAsNonRoot: true"),
    ("kubernetes-container-no-privilege-escalation", DEP, "api", f"{C0}.securityContext.allowPrivilegeEscalation", True,
     None, "api: container api must set securityContext.allowPrivilegeEscalation: false"),
    # Off production: there, any image without a digest is kubernetes-container-image-digest-pinned's.
    ("kubernetes-container-image-tag-pinned", DEP, "api", f"{C0}.image", "ghcr.io/insurance-lead-gen/api:latest", None,
     "api: container api image ghcr.io/insurance-lead-gen/api:latest uses the latest tag", "staging"),
    ("kubernetes-container-image-tag-pinned", DEP, "api", f"{C0}.image", "localhost:5000/api", None,
     "api: container api image localhost:5000/api has no tag (it would pull latest)", "staging"),
    ("kubernetes-container-image-digest-pinned", DEP, "api", f"{C0}.image", TAGGED, None,
     f"api: container api image {TAGGED} is not pinned by digest; production runs "
     "<repository>:<tag>@sha256:<digest>"),
    ("kubernetes-container-image-digest-pinned", DEP, "api", f"{C0}.image", f"{TAGGED}@sha256:abc", None,
     f"api: container api image {TAGGED}@sha256:abc is not pinned by digest; production runs "
     "<repository>:<tag>@sha256:<digest>"),
    # Kubernetes defaults a tag that is not `latest` to IfNotPresent.
    ("kubernetes-container-image-pull-policy", CRON, "pgbackup-backup", f"{CRON_C0}.image",
     "ghcr.io/insurance-lead-gen/pgbackup:1.0.0", None,
     "pgbackup-backup: container backup pulls ghcr.io/insurance-lead-gen/pgbackup:1.0.0 by tag with "
     "imagePullPolicy IfNotPresent; pull a tag Always, or pin the image by digest", "staging"),
    ("kubernetes-container-high-uid", DEP, "api", f"{POD}.securityContext.runAsUser", 1000, None,
     "api: container api runs as UID 1000, below 10000: it may be a user of the node"),
    ("kubernetes-container-high-uid", DEP, "api", f"{POD}.securityContext.runAsUser", None, None,
     "api: container api sets no runAsUser; run as a UID of 10000 or more, not the image's"),
    ("kubernetes-container-high-uid", DEP, "api", f"{C0}.securityContext.runAsUser", 999, None,
     "api: container api runs as UID 999, below 10000: it may be a user of the node"),
    ("kubernetes-container-secrets-as-files", DEP, "api", f"{C0}.env",
     [{"name": "REDIS_AUTH_TOKEN", "valueFrom": {"secretKeyRef": {"name": "api-redis", "key": "token"}}}], None,
     "api: container api reads Secret api-redis key token as environment variable REDIS_AUTH_TOKEN; mount the "
     "Secret as a file"),
    ("kubernetes-container-secrets-as-files", DEP, "api", f"{C0}.envFrom", [{"secretRef": {"name": "api-redis"}}],
     None, "api: container api loads Secret api-redis into its environment; mount the Secret as a file"),
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


def test_pull_policy_and_digest_rules_hold_their_ground():
    """A digest makes any pull policy right; a tag pulled Always passes off production; a container's
    own runAsUser overrides the pod's; a pod in its own user namespace needs no high UID."""
    from guardrails import checks_baseline, violations
    from policy_baseline import context, set_path

    staging = context(environment="staging")
    resources = checks_baseline()
    set_path(resources, DEP, "api", f"{C0}.imagePullPolicy", "Never")
    assert violations(resources) == []
    set_path(resources, DEP, "api", f"{C0}.image", TAGGED)
    set_path(resources, DEP, "api", f"{C0}.imagePullPolicy", "Always")
    assert violations(resources, staging) == []
    resources = checks_baseline()
    set_path(resources, DEP, "api", f"{POD}.securityContext.runAsUser", 1000)
    set_path(resources, DEP, "api", f"{C0}.securityContext.runAsUser", 10001)
    assert violations(resources) == []
    set_path(resources, DEP, "api", f"{C0}.securityContext.runAsUser", None, delete=True)
    set_path(resources, DEP, "api", f"{POD}.hostUsers", False)
    assert violations(resources) == []
