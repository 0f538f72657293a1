"""The bootstrap project (bootstrap/): the GitHub OIDC provider and one deployer role per
environment, trusted only by this repository's jobs in that protected environment."""
import json

import pytest

from platformctl.program.engine import run_program
from platformctl.project import ROOT, stack_config

BOOTSTRAP = ROOT / "bootstrap"
REPO = "insurance-lead-gen/leadgen-platform"


@pytest.fixture(scope="module")
def run():
    return run_program("platform", root=BOOTSTRAP)


def _roles(run):
    return {r["inputs"]["name"]: r for r in run.by_type("aws:iam/role:Role")}


def test_github_oidc_provider_for_sts(run):
    (p,) = run.by_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert p["inputs"]["url"] == "https://token.actions.githubusercontent.com"
    assert p["inputs"]["clientIdLists"] == ["sts.amazonaws.com"]


def _subject(context, workflow):
    return f"repo:{REPO}:{context}:job_workflow_ref:{REPO}/.github/workflows/{workflow}@refs/heads/main"


@pytest.mark.parametrize("env, workflows", [("dev", ["dev.yml", "up.yml"]), ("staging", ["staging.yml", "up.yml"]),
                                            ("production", ["up.yml"]), ("production-dr", ["up.yml"])])
def test_each_deployer_trusts_only_its_workflows_on_main_in_its_protected_environment(run, env, workflows):
    # A `sub` naming only the environment let any workflow given `production` by a reviewed change
    # assume the role and run `pulumi up` without the pack; only up.yml on main (which runs it) may.
    role = _roles(run)[f"leadgen-deployer-{env}"]
    (stmt,) = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
    assert stmt["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert stmt["Principal"]["Federated"].endswith(":oidc-provider/token.actions.githubusercontent.com")
    assert stmt["Condition"] == {"StringEquals": {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": [_subject(f"environment:{env}", w) for w in workflows]}}
    assert role["inputs"]["maxSessionDuration"] == 3 * 3600


def test_every_workflow_that_assumes_a_role_is_one_that_role_trusts(run):
    """Read from the workflow files: each job that assumes a deployer or the audit role is in a
    workflow its trust policy names for the environment (or ref) the job runs in."""
    import yaml

    trusted = {r["inputs"]["name"]: json.loads(r["inputs"]["assumeRolePolicy"])["Statement"][0]["Condition"][
        "StringEquals"]["token.actions.githubusercontent.com:sub"] for r in run.by_type("aws:iam/role:Role")
        if "assumeRolePolicy" in r["inputs"] and "Federated" in r["inputs"]["assumeRolePolicy"]}
    stacks = [p.name[len("Pulumi."):-len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml")]
    seen = 0
    for path in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        for name, job in yaml.safe_load(path.read_text())["jobs"].items():
            for step in job.get("steps", []):
                role = str((step.get("with") or {}).get("role-to-assume", ""))
                if "AWS_DEPLOY_ROLE_ARN" in role:
                    envs = stacks if "inputs.stack" in str(job.get("environment")) else [job["environment"]]
                    for env in envs:
                        seen += 1
                        assert _subject(f"environment:{env}", path.name) in trusted[f"leadgen-deployer-{env}"], \
                            f"{path.name} job {name} assumes leadgen-deployer-{env}, whose trust does not name it"
                elif "AWS_AUDIT_ROLE_ARN" in role:
                    seen += 1
                    assert _subject("ref:refs/heads/main", path.name) in trusted["leadgen-audit"], \
                        f"{path.name} job {name} assumes leadgen-audit, whose trust does not name it"
    assert seen >= 4


def test_deployer_permissions_are_region_scoped_and_protect_themselves(run):
    policies = {r["name"]: json.loads(r["inputs"]["policy"]) for r in run.by_type("aws:iam/rolePolicy:RolePolicy")}
    staging = {s["Sid"]: s for s in policies["deployer-staging"]["Statement"]}
    assert staging["PlatformServicesInItsRegions"]["Condition"] == {
        "StringEquals": {"aws:RequestedRegion": ["us-east-2"]}}
    production = {s["Sid"]: s for s in policies["deployer-production"]["Statement"]}
    assert production["PlatformServicesInItsRegions"]["Condition"]["StringEquals"]["aws:RequestedRegion"] == [
        "us-east-1", "us-west-2"]
    deny = production["NotTheDeployersOwn"]
    assert deny["Effect"] == "Deny" and "arn:aws:iam::123456789012:role/leadgen-deployer-*" in deny["Resource"]
    assert not any(a == "*" or a == "iam:*" for s in production.values() if s["Effect"] == "Allow"
                   for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))


def test_one_deployer_role_per_leadgen_stack_is_an_output(run):
    assert set(run.outputs["deployerRoleArns"]) == set(_leadgen_stacks())


@pytest.mark.parametrize("key, value, message", [
    ("githubRepository", "leadgen-platform",
     "leadgen-bootstrap:githubRepository ('leadgen-platform') must be owner/name in Pulumi.platform.yaml"),
    ("environments", json.dumps({"prod": ["useast1"]}),
     'leadgen-bootstrap:environments.prod (["useast1"]) must list AWS regions like us-east-1 in Pulumi.platform.yaml'),
])
def test_bad_bootstrap_config_is_one_line_and_registers_nothing(key, value, message):
    import pulumi
    config = {**stack_config("platform", BOOTSTRAP), f"leadgen-bootstrap:{key}": value}
    with pytest.raises(pulumi.RunError) as e:
        run_program("platform", root=BOOTSTRAP, config=config)
    assert str(e.value) == message
    assert e.value.registered == []


# A resource type's IAM service prefix, where it is not the Pulumi module's name.
_IAM_SERVICE = {"amp": "aps", "vpc": "ec2", "cloudwatch/logGroup": "logs", "sesv2": "ses"}


def _service(typ: str) -> str:
    module, rest = typ.split(":")[1].split("/")
    return _IAM_SERVICE.get(f"{module}/{rest}", _IAM_SERVICE.get(module, module))


def _leadgen_stacks() -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml"))


def test_every_leadgen_stack_has_its_deployer_role(run):
    declared = set(_roles(run))
    for stack in _leadgen_stacks():
        arn = stack_config(stack)["leadgen:cluster.deployerRoleArn"]
        assert arn.rsplit("/", 1)[1] in declared, stack


def test_the_deployer_may_use_exactly_the_services_the_program_declares(run):
    from tests.helpers import run_program as run_leadgen

    policy = json.loads(run.one("aws:iam/rolePolicy:RolePolicy", "deployer-production")["inputs"]["policy"])
    (services,) = [s["Action"] for s in policy["Statement"] if s["Sid"] == "PlatformServicesInItsRegions"]
    granted = {a.removesuffix(":*") for a in services}
    used = {_service(r["type"]) for stack in _leadgen_stacks() for r in run_leadgen(stack).resources
            if r["type"].startswith("aws:")} - {"iam"}  # IAM has its own statement
    assert granted == used


def _allows(statements: list[dict], action: str) -> bool:
    return any(s["Effect"] == "Allow" and action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
               for s in statements)


def test_the_audit_role_may_make_every_aws_call_the_weekly_review_makes(run, tmp_path, monkeypatch):
    """weekly.yml assumes the audit role: a section whose reads the role is refused would be "not
    assessed" every Monday. Replay the report from its recorded answers, note every call, and find
    each AWS call's IAM action allowed by the role's policy."""
    from platformctl import cli
    from platformctl.weekly import sources

    calls = set()
    replay = sources.FixtureFetch.__call__

    def noting(self, service, operation, params):
        calls.add((service, operation))
        return replay(self, service, operation, params)
    monkeypatch.setattr(sources.FixtureFetch, "__call__", noting)
    out = tmp_path / "weekly.json"
    cli.main(["weekly", "--stack", "production", "--fixtures", str(ROOT / "tests" / "weekly" / "fixtures"),
              "--format", "json", "--out", str(out)])
    assert json.loads(out.read_text())["sections"]
    # The IAM action of each call: S3 lists objects under s3:ListBucket; the SLO store is Amazon
    # Managed Prometheus, queried under aps:QueryMetrics; Loki and the Pulumi CLI are not AWS.
    actions = {"s3:ListBucket" if (s, o) == ("s3", "ListObjectsV2") else
               "aps:QueryMetrics" if s == "prometheus" else f"{s}:{o}"
               for s, o in calls if s not in ("loki", "pulumi")}
    assert {"s3:GetObject", "aps:QueryMetrics", "ce:GetCostAndUsage", "ecr:DescribeImageScanFindings",
            "secretsmanager:ListSecrets", "eks:DescribeAddonVersions"} <= actions
    [weekly] = [json.loads(r["inputs"]["policy"]) for r in run.by_type("aws:iam/rolePolicy:RolePolicy")
                if r["name"] == "audit-weekly-review"]
    assert [a for a in sorted(actions) if not _allows(weekly["Statement"], a)] == []


def test_the_weekly_review_reads_backup_records_never_a_dump(run):
    [weekly] = [json.loads(r["inputs"]["policy"]) for r in run.by_type("aws:iam/rolePolicy:RolePolicy")
                if r["name"] == "audit-weekly-review"]
    [get] = [s for s in weekly["Statement"] if s["Action"] == "s3:GetObject"]
    assert all(r.endswith(".json") for r in get["Resource"])
    assert not any("dump" in r or r.endswith("/*") for r in get["Resource"])
    [decrypt] = [s for s in weekly["Statement"] if s["Action"] == "kms:Decrypt"]
    assert set(decrypt["Condition"]["StringEquals"]["kms:ViaService"]) >= {"s3.us-east-1.amazonaws.com"}
