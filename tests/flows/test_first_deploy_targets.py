"""The first deploy's AWS-only `--target` lists: derived from the dependency graph, complete (every
parent and dependency of every target is a target too), free of Kubernetes objects, and the lists
docs/first-deploy.md and the README give are the derived ones."""
import re
import subprocess
import sys

import pytest

from platformctl import targets
from platformctl.project import ROOT
from platformctl.targets import FIRST_DEPLOY_SEEDS, TargetError, closure, first_deploy_targets
from tests.flows.test_first_deploy_order import _run
from tests.warm import PYTHON as WARM_PYTHON  # the worker's warm interpreter (tests/warm.py)

STACKS = ("production", "staging", "dev", "production-dr")


@pytest.mark.parametrize("stack", STACKS)
def test_every_target_has_its_parent_and_dependencies_targeted(stack):
    run = _run(stack)
    listed = set(first_deploy_targets(run.resources))
    by_urn = {r["urn"]: r for r in run.resources}
    for urn in listed:
        r = by_urn[urn]
        waits = [*r["dependencies"], *(u for d in r["property_dependencies"].values() for u in d)]
        if r["parent"] and by_urn[r["parent"]]["type"] != "pulumi:pulumi:Stack":
            waits.append(r["parent"])
        missing = [u for u in waits if u in by_urn and u not in listed]
        assert not missing, f"{urn} waits for untargeted {missing[0]}"
    assert not [u for u in listed if by_urn[u]["type"].startswith("kubernetes:")]


@pytest.mark.parametrize("stack", STACKS)
def test_the_list_holds_what_the_step_is_for(stack):
    keys = {u.split("::", 2)[2] for u in first_deploy_targets(_run(stack).resources)}
    prefix = f"leadgen-{stack}"
    for wanted in (f"leadgen:network:Network$aws:ec2/vpc:Vpc::{prefix}-vpc",
                   f"leadgen:network:Network$aws:ec2/vpcEndpoint:VpcEndpoint::{prefix}-sts",
                   f"leadgen:cluster:Cluster$aws:ec2/securityGroup:SecurityGroup::{prefix}-ci-runner",
                   "leadgen:cluster:Cluster::" + prefix,  # the runner group's parent
                   f"leadgen:registry:ImageRepositories$aws:ecr/repository:Repository::{prefix}-images-pgbackup",
                   f"leadgen:monitoring:Monitoring$aws:kms/key:Key::{prefix}-obs-kms",
                   f"leadgen:monitoring:Monitoring$aws:secretsmanager/secret:Secret::{prefix}-obs-grafana-admin",
                   "leadgen:monitoring:Monitoring::" + f"{prefix}-obs"):
        assert wanted in keys, wanted


def test_a_target_that_needs_the_cluster_is_refused():
    with pytest.raises(TargetError, match="Kubernetes resources"):
        closure(_run("dev").resources, (*FIRST_DEPLOY_SEEDS, "leadgen:workload:Workload::api"))


def test_the_docs_list_exactly_what_the_graph_gives():
    text = (ROOT / targets.DOCS).read_text()
    expected = targets.docs_block({s: first_deploy_targets(_run(s).resources) for s in sorted(STACKS)})
    assert targets.with_block(text, expected) == text, "docs/first-deploy.md drifted: make config-docs"


def test_the_readme_procedure_names_init_break_glass_and_the_derived_list():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## First deploy of a fresh account"):readme.index("**Deploy readiness")]
    assert "pulumi stack init <env>" in section
    assert "leadgen-break-glass" in section and "from any machine" not in section
    assert "$(python -m platformctl first-deploy --stack <env>)" in section
    assert "first_deploy: true" in section and "first-deploy-no-slo-store" in section
    assert not re.search(r"--target '[^']*\*\*'", readme)  # no hand-written wildcard lists


def test_the_command_prints_the_list():
    out = subprocess.run([*WARM_PYTHON, "-m", "platformctl", "first-deploy", "--stack", "dev"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [f"--target={u}" for u in first_deploy_targets(_run("dev").resources)]
