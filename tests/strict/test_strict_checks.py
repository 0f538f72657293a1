"""The offline preview refuses what AWS, Kubernetes and the engine refuse at create time: names
beyond their limits (given or auto-named), principals that do not exist, Kubernetes names the API
server rejects. Pure checks first, from a compliant baseline; then every stack passes them."""
from __future__ import annotations

import ipaddress
import itertools
import json
import subprocess
import sys

import pytest
import yaml

from components.irsa import role_name
from platformctl.program.engine import run_program
from platformctl.program.mocks import ACCOUNT_ID
from platformctl.program.strict import StrictError, names, principals
from platformctl.project import ROOT
from tests.warm import PYTHON as WARM_PYTHON  # the worker's warm interpreter (tests/warm.py)

STACKS = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml"))
LBC = "leadgen-production-addons-aws-load-balancer-controller"


def role(logical: str, **inputs) -> dict:
    return {"urn": f"urn:pulumi:s::p::aws:iam/role:Role::{logical}", "type": "aws:iam/role:Role",
            "name": logical, "inputs": inputs, "outputs": {}}


# --- names --------------------------------------------------------------------------------------
def test_the_limits_table_is_what_the_aws_models_say():
    proc = subprocess.run([sys.executable, "-m", "platformctl.program.strict.generate", "--check"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_the_table_has_a_limit_for_every_auto_named_type():
    from platformctl.program.strict.aws_limits import LIMITS

    assert {t: k for t, (k, _) in names.AUTONAMED.items() if k not in LIMITS.get(t, {})} == {}


def test_an_auto_named_role_of_67_characters_is_refused_as_the_provider_words_it():
    # What production's load balancer controller role was: `<component>-role` plus 8 characters.
    (finding,) = names.check([role(f"{LBC}-role")])
    assert finding.startswith(f"aws:iam/role:Role resource '{LBC}-role' has a problem: "
                              "expected length of name to be in the range (1 - 64), got ")
    assert "(67 characters, auto-named)" in finding and "IAM CreateRole RoleName" in finding
    assert names.check([role(f"{LBC}-role", name=role_name(LBC))]) == []


def test_a_given_name_and_a_prefix_count_as_aws_receives_them():
    assert names.check([role("r", name="x" * 64)]) == []
    assert "(65 characters, given)" in names.check([role("r", name="x" * 65)])[0]
    assert "namePrefix plus 26 characters" in names.check([role("r", namePrefix="x" * 39)])[0]
    assert "must match" in names.check([role("r", name="has space")])[0]


def test_rules_aws_publishes_only_in_prose_apply_too():
    bucket = {"type": "aws:s3/bucket:Bucket", "name": "Logs", "inputs": {"bucket": "Logs_bucket"}}
    assert "invalid value for bucket" in names.check([bucket])[0]
    group = {"type": "aws:elasticache/replicationGroup:ReplicationGroup", "name": "r",
             "inputs": {"replicationGroupId": "leadgen-production-dr-redis-cache-primary-x"}}
    assert "range (1 - 40)" in names.check([group])[0]


def test_role_names_fit_and_stay_distinct():
    long_dr = "leadgen-production-dr-addons-aws-load-balancer-controller"
    assert role_name(LBC) == LBC
    assert len(role_name(long_dr + "-x" * 10)) == 64
    assert role_name(long_dr + "-a" * 10) != role_name(long_dr + "-b" * 10)
    assert role_name(long_dr) == role_name(long_dr)


@pytest.mark.parametrize("kind, name, ok", [
    ("core/v1:ConfigMap", "grafana-dashboards.v1", True), ("core/v1:ConfigMap", "Grafana", False),
    ("core/v1:Service", "api.v1", False), ("core/v1:Service", "a" * 64, False),
    ("apps/v1:Deployment", "api-" + "a" * 249, True), ("apps/v1:Deployment", "api_", False)])
def test_kubernetes_names_follow_dns_1123(kind, name, ok):
    r = {"type": f"kubernetes:{kind}", "name": name, "inputs": {"metadata": {"name": name}}}
    assert (names.check([r]) == []) is ok


# --- principals ---------------------------------------------------------------------------------
ASG = f"arn:aws:iam::{ACCOUNT_ID}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"


def key(*principals_: dict) -> dict:
    return {"type": "aws:kms/key:Key", "name": "k", "inputs": {"policy": json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": p, "Action": "kms:*", "Resource": "*"} for p in principals_]})}}


def test_declared_principals_pass():
    declared = role("app", name="app")
    declared["outputs"] = {"arn": f"arn:aws:iam::{ACCOUNT_ID}:role/app"}
    assert principals.check([declared, key(
        {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}, {"AWS": ACCOUNT_ID}, {"Service": "logs.us-east-1.amazonaws.com"},
        {"AWS": ASG}, {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:role/app"},
        {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:role/leadgen-deployer-production"})], "p", "s") == []


def test_a_service_linked_role_bootstrap_does_not_declare_is_refused(monkeypatch):
    monkeypatch.setattr(principals, "bootstrap_service_linked_roles", lambda: {})
    (finding,) = principals.check([key({"AWS": ASG})], "p", "s")
    assert finding.startswith("aws:kms/key:Key resource 'k' has a problem: policy: MalformedPolicyDocumentException: "
                              f"invalid principal AWS {ASG}: the service-linked role AWSServiceRoleForAutoScaling")
    assert "bootstrap/service_linked_roles.py" in finding


def test_a_role_nobody_declares_is_refused():
    (finding,) = principals.check([key({"AWS": f"arn:aws:iam::{ACCOUNT_ID}:role/ghost"})], "p", "s")
    assert "neither this stack nor bootstrap/ declares it" in finding


def test_bootstrap_declares_every_service_linked_role_of_its_table():
    run = run_program("platform", root=ROOT / "bootstrap")
    declared = {r["inputs"]["awsServiceName"] for r in run.by_type("aws:iam/serviceLinkedRole:ServiceLinkedRole")}
    assert declared == set(principals.bootstrap_service_linked_roles()) == {"autoscaling.amazonaws.com"}


# --- every stack --------------------------------------------------------------------------------
@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_passes_the_strict_checks(stack):
    run_program(stack)  # raises StrictError with one line per finding


def test_a_finding_fails_the_preview_with_one_line_each(tmp_path):
    import shutil

    # A copy of the project whose cluster key names a service-linked role bootstrap lacks.
    copy = tmp_path / "w"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv*", ".git", "build", "tests"))
    (copy / "bootstrap" / "service_linked_roles.py").write_text(
        "SERVICE_LINKED_ROLES = {}\n")
    proc = subprocess.run([*WARM_PYTHON, "-m", "platformctl", "preview", "--stack", "dev", "--no-policy"],
                          cwd=copy, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stdout[-500:]
    lines = proc.stderr.strip().splitlines()
    assert lines and all(line.startswith("error: aws:kms/key:Key resource '") for line in lines), proc.stderr
    assert "AWSServiceRoleForAutoScaling" in lines[0] and "Traceback" not in proc.stderr


def test_observability_buckets_carry_the_account():
    run = run_program("production", strict=False)
    buckets = [r["inputs"]["bucket"] for r in run.by_type("aws:s3/bucket:Bucket") if "-obs-" in r["name"]]
    assert sorted(buckets) == [f"leadgen-production-obs-loki-{ACCOUNT_ID}", f"leadgen-production-obs-tempo-{ACCOUNT_ID}"]


def test_no_two_stacks_share_an_address_range():
    ranges = {}
    for stack in STACKS:
        config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
        ranges[stack] = ipaddress.ip_network(config.get("leadgen:network.vpcCidr", "10.0.0.0/16"))
    overlapping = [(a, b) for a, b in itertools.combinations(ranges, 2) if ranges[a].overlaps(ranges[b])]
    assert overlapping == []


def test_bootstrap_exports_the_service_linked_role_arn_the_cluster_key_names():
    from leadgen.iam import cluster_key_policy

    run = run_program("platform", root=ROOT / "bootstrap")
    (arn,) = run.outputs["serviceLinkedRoleArns"].values()
    named = {p for s in json.loads(cluster_key_policy(ACCOUNT_ID, "us-east-1"))["Statement"]
             for p in [s["Principal"].get("AWS")] if p and "aws-service-role" in p}
    assert named == {arn}
