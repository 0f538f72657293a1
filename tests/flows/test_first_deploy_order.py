"""A first `pulumi up` creates things in an order that can succeed: pods are asked for only once a
node group exists (their readiness waits otherwise time out), and a release that runs as an IRSA
role waits for the role's policies, not only the role (else its pods start without permissions)."""
from functools import lru_cache

import pytest

from platformctl.program.waves import _waits_for
from tests.helpers import run_program

STACKS = ("production", "staging", "dev", "production-dr")
POD_KINDS = ("kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:CronJob", "kubernetes:apps/v1:StatefulSet",
             "kubernetes:apps/v1:DaemonSet", "kubernetes:batch/v1:Job", "kubernetes:helm.sh/v3:Release")
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ROLE = "aws:iam/role:Role"
ROLE_POLICIES = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment")


@lru_cache(maxsize=None)
def _run(stack):
    return run_program(stack)


def waits_for_all(resources) -> dict[str, set[str]]:
    """URN -> every URN it waits for, directly or through what it waits for."""
    by_urn = {r["urn"]: r for r in resources}
    memo: dict[str, set[str]] = {}

    def visit(urn):
        if urn in memo:
            return memo[urn]
        memo[urn] = set()
        found = set()
        for u in _waits_for(by_urn[urn]):
            if u in by_urn:
                found |= {u} | visit(u)
        memo[urn] = found
        return found

    return {urn: visit(urn) for urn in by_urn}


@pytest.mark.parametrize("stack", STACKS)
def test_every_pod_owner_waits_for_a_node_group(stack):
    run = _run(stack)
    closure = waits_for_all(run.resources)
    groups = {r["urn"] for r in run.by_type(NODE_GROUP)}
    early = [f"{r['type'].rsplit(':', 1)[1]} {r['name']}" for r in run.resources
             if r["type"] in POD_KINDS and not closure[r["urn"]] & groups]
    assert not early, f"created before any node group: {', '.join(early)}"


@pytest.mark.parametrize("stack", STACKS)
def test_everything_naming_a_role_waits_for_its_policies(stack):
    run = _run(stack)
    closure = waits_for_all(run.resources)
    roles = {r["urn"]: r for r in run.by_type(ROLE)}
    policies: dict[str, set[str]] = {urn: set() for urn in roles}
    for p in (r for t in ROLE_POLICIES for r in run.by_type(t)):
        for urn, role in roles.items():
            if p["inputs"].get("role") in (role["id"], role["outputs"].get("name"), role["inputs"].get("name")):
                policies[urn].add(p["urn"])
    missing = []
    for r in run.resources:
        if r["type"] not in POD_KINDS and r["type"] != "aws:eks/addon:Addon":
            continue
        text = str(r["inputs"])
        for urn, role in roles.items():
            arn = role["outputs"].get("arn")
            if arn and arn in text and not policies[urn] <= closure[r["urn"]]:
                missing.append(f"{r['name']} uses {role['name']} before its policies")
    assert not missing, "; ".join(missing)
