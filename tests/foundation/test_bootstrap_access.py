"""bootstrap/ declares every identity the first deploy and the workflows use: the audit workflow's
read-only role and the break-glass path an administrator takes before any runner exists."""
import json
import re

import pytest

from platformctl.program.engine import run_program
from platformctl.project import ROOT

BOOTSTRAP = ROOT / "bootstrap"
REPO = "insurance-lead-gen/leadgen-platform"


@pytest.fixture(scope="module")
def run():
    return run_program("platform", root=BOOTSTRAP)


def _role(run, name):
    (role,) = [r for r in run.by_type("aws:iam/role:Role") if r["inputs"]["name"] == name]
    return role


def test_audit_role_is_trusted_only_by_this_repository_on_main(run):
    role = _role(run, "leadgen-audit")
    (stmt,) = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
    assert stmt["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert stmt["Principal"]["Federated"].endswith(":oidc-provider/token.actions.githubusercontent.com")
    assert stmt["Condition"] == {"StringEquals": {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": [
            f"repo:{REPO}:ref:refs/heads/main:job_workflow_ref:{REPO}/.github/workflows/{w}@refs/heads/main"
            for w in ("audit.yml", "weekly.yml")]}}


def test_audit_role_is_read_only(run):
    attached = [r["inputs"]["policyArn"] for r in run.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if r["name"].startswith("audit")]
    assert attached == ["arn:aws:iam::aws:policy/SecurityAudit"]
    # Its one inline policy (the weekly review's reads) reads and lists; the one key use is a
    # decryption through S3.
    inline = [json.loads(r["inputs"]["policy"]) for r in run.by_type("aws:iam/rolePolicy:RolePolicy")
              if r["name"].startswith("audit")]
    actions = [a for doc in inline for s in doc["Statement"] if s["Effect"] == "Allow"
               for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert len(inline) == 1 and actions
    assert [a for a in actions if not re.match(r"[a-z0-9-]+:(Get|List|Describe|Query)[A-Za-z]*$", a)] == ["kms:Decrypt"]


def test_the_audit_workflow_assumes_the_declared_role(run):
    workflow = (ROOT / ".github" / "workflows" / "audit.yml").read_text()
    (var,) = re.findall(r"role-to-assume: \$\{\{ vars\.(\w+) \}\}", workflow)
    readme = (BOOTSTRAP / "README.md").read_text()
    assert f"`{var}`" in readme and "`auditRoleArn`" in readme
    assert "auditRoleArn" in run.outputs


def test_break_glass_needs_recent_mfa_and_the_tag(run):
    role = _role(run, "leadgen-break-glass")
    (stmt,) = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
    assert stmt["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert stmt["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"},
                                 "NumericLessThan": {"aws:MultiFactorAuthAge": "3600"},
                                 "StringEquals": {"aws:PrincipalTag/leadgen-break-glass": "allowed"}}
    assert role["inputs"]["maxSessionDuration"] == 3600
    assert "breakGlassRoleArn" in run.outputs


def test_break_glass_may_do_what_a_deployer_may_in_every_region_and_no_more(run):
    policies = {r["name"]: json.loads(r["inputs"]["policy"]) for r in run.by_type("aws:iam/rolePolicy:RolePolicy")}
    glass = {s["Sid"]: s for s in policies["break-glass"]["Statement"]}
    deployer = {s["Sid"]: s for s in policies["deployer-production"]["Statement"]}
    assert set(glass) == set(deployer)
    assert glass["PlatformServicesInItsRegions"]["Condition"]["StringEquals"]["aws:RequestedRegion"] == [
        "us-east-1", "us-east-2", "us-west-2"]
    assert glass["PlatformServicesInItsRegions"]["Action"] == deployer["PlatformServicesInItsRegions"]["Action"]


def test_no_deployer_can_touch_the_audit_or_break_glass_role(run):
    policy = json.loads(run.one("aws:iam/rolePolicy:RolePolicy", "deployer-dev")["inputs"]["policy"])
    (deny,) = [s for s in policy["Statement"] if s["Sid"] == "NotTheDeployersOwn"]
    assert {"arn:aws:iam::123456789012:role/leadgen-audit",
            "arn:aws:iam::123456789012:role/leadgen-break-glass"} <= set(deny["Resource"])
