"""governance/kubernetes/deployments.py, from the compliant baseline (tests/policies/guardrails.py): one field
changed per case, the exact message."""
import copy

import pytest

from policy_baseline import baseline, context, set_path, urn
from guardrails import DEP, HPA, PDB, case_id, one_field_changed, violations

CASES = [
    # (policy, type, name, path, value, resource the violation names, message)
    ("kubernetes-deployment-hpa-min-replicas", HPA, "api", "spec.minReplicas", 2, (DEP, "api"),
     "api: HorizontalPodAutoscaler api has minReplicas 2, needs at least 3"),
    ("kubernetes-deployment-hpa-min-replicas", HPA, "api", "spec.scaleTargetRef.name", "backend", (DEP, "api"),
     "api: no HorizontalPodAutoscaler targets this production Deployment"),
    ("kubernetes-deployment-pod-disruption-budget", PDB, "api", "spec.selector.matchLabels", {"app": "web"}, (DEP, "api"),
     "api: no PodDisruptionBudget selects this production Deployment's pods"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_one_field_changed_fires_exactly_one_policy(case):
    one_field_changed(*case)


def test_deployment_outside_production_needs_no_hpa():
    resources = baseline()
    set_path(resources, DEP, "api", "metadata.namespace", "monitoring")
    resources = [r for r in resources if r["type"] not in (HPA, PDB)]
    assert violations(resources) == []


def _canary(resources):
    import copy

    api = next(r for r in resources if r["type"] == DEP and r["name"] == "api")
    canary = copy.deepcopy(api)
    canary["name"] = "api-canary"
    canary["urn"] = urn(DEP, "api-canary")
    labels = {"app": "api", "track": "canary"}
    for side in ("inputs", "outputs"):
        canary[side]["metadata"].update(name="api-canary", labels=labels)
        canary[side]["spec"]["selector"]["matchLabels"] = labels
        canary[side]["spec"]["template"]["metadata"]["labels"] = labels
    return resources + [canary]


def test_the_canary_is_recognised_by_its_track_and_keeps_its_pdb():
    resources = _canary(baseline())
    assert violations(resources) == []  # the api PDB selects app=api, the canary's pods included
    for side in ("inputs", "outputs"):
        resources[-1][side]["spec"]["template"]["metadata"]["labels"] = {"app": "api-canary", "track": "canary"}
    assert violations(resources) == [("kubernetes-deployment-pod-disruption-budget", urn(DEP, "api-canary"),
                                      "api-canary: no PodDisruptionBudget selects this production Deployment's pods")]
    # A Deployment that only calls itself a canary by name is judged like any other.
    named = _canary(baseline())
    for side in ("inputs", "outputs"):
        named[-1][side]["metadata"]["labels"] = {"app": "api"}
        named[-1][side]["spec"]["template"]["metadata"]["labels"] = {"app": "api"}
    assert [v[0] for v in violations(named)] == ["kubernetes-deployment-hpa-min-replicas"]


@pytest.mark.parametrize("stack,environment,judged", [
    ("dev", "dev", False), ("staging", "staging", False), ("production", "production", True),
    # The environment, not the stack's or the namespace's name, decides.
    ("prod-eu", "production", True), ("production", "staging", False), ("dev", "", False), ("production", "", True)])
def test_the_hpa_rule_reads_the_stacks_environment(stack, environment, judged):
    import dataclasses

    from governance import config as gconfig

    resources = [r for r in baseline() if r["type"] != HPA]  # namespace "production" in every stack
    ctx = context(stack)
    ctx = dataclasses.replace(ctx, config=gconfig.from_mapping({"leadgen:environment": environment}))
    got = [v[0] for v in violations(resources, ctx) if v[0] == "kubernetes-deployment-hpa-min-replicas"]
    assert got == (["kubernetes-deployment-hpa-min-replicas"] if judged else [])
