"""The whole pack over the analyzer gRPC protocol, started as the CLI starts it, and over the
real program's previews of every stack."""
import copy
import json
import pathlib
import shutil

import pytest

from policy_baseline import PROJECT, STACK, baseline, set_path, urn
from tests.prometheus_stub import answering

from platformctl.policy_client import PolicyClient, PolicyPackError, Violation, config_env

PACK = pathlib.Path(__file__).resolve().parents[2] / "policies"
STACK_URN = urn("pulumi:pulumi:Stack", f"{PROJECT}-{STACK}")
IN_WINDOW = {"LEADGEN_GOVERNANCE_NOW": "2026-12-15T02:30:00Z"}
CLOCK = Violation("governance-clock-override", "advisory", STACK_URN,
                  "LEADGEN_GOVERNANCE_NOW=2026-12-15T02:30:00Z fixes the change-window clock; unset it outside tests", "medium")


@pytest.fixture(scope="module")
def prometheus_77():
    with answering("77", slo_name="api_availability") as url:
        yield url


def config(url=None, **extra):
    # production's SLO store is governance/gates.yaml's (slo_store), never the stack config's.
    return {"aws:region": "us-east-1", "leadgen:changeRequest": "CR-2026-014", **extra}


def slo_store(root, url):
    (root / "governance").mkdir(exist_ok=True)
    (root / "governance" / "gates.yaml").write_text(f"stacks:\n  production:\n    prometheus_url: {url}\n")


@pytest.fixture(scope="module")
def signed_project(tmp_path_factory, keyring, prometheus_77):
    """A copy of the pack beside a changes/CR-2026-014.yaml signed by its approver (the repository's
    own requests carry no real signature): the legitimate change a preview should pass clean."""
    import yaml

    return signed(tmp_path_factory.mktemp("signed-project"), keyring, prometheus_77, config())


def signed(root, keyring, prometheus, stack_config):
    """The pack and approvers committed in a git checkout, then the request, its approval binding that
    commit and production's config `stack_config` (binding.py): what `platformctl change approve` writes."""
    import subprocess

    import yaml

    from governance import config as gconfig

    shutil.copytree(PACK, root / "policies", ignore=shutil.ignore_patterns("__pycache__", "venv"))
    keyring.install(root)
    slo_store(root, prometheus)
    git = ["git", "-C", str(root), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "the program and its approvers"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    document = yaml.safe_load((PACK.parent / "changes" / "CR-2026-014.yaml").read_text())
    document["approvals"] = [{**a, "commit": head, "config": {"production": gconfig.config_digest(stack_config)}}
                             for a in document["approvals"]]
    keyring.write(root, document)
    return root


@pytest.fixture(scope="module")
def repo_project(tmp_path_factory, prometheus_77):
    """The repository's pack, change requests and governance/ as they are, its SLO store the stub."""
    root = tmp_path_factory.mktemp("repo-project")
    for folder in ("policies", "changes", "governance"):
        shutil.copytree(PACK.parent / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__", "venv"))
    slo_store(root, prometheus_77)
    return root


@pytest.fixture(scope="module")
def pack(prometheus_77, signed_project):
    with PolicyClient(signed_project / "policies", project=PROJECT, stack=STACK, config=config(prometheus_77),
                      env=IN_WINDOW) as client:
        yield client


def test_analyzer_info_lists_every_policy_with_level_and_severity(pack):
    import governance.catalog as catalog

    assert pack.pack_name == "leadgen-governance"
    got = {p.name: (p.level, p.severity, p.kind) for p in pack.policies}
    assert got == {s.name: (s.enforcement, s.severity, s.kind) for s in catalog.SPECS}


def test_compliant_baseline_only_reports_the_clock_override(pack):
    assert pack.analyze(baseline()) == [CLOCK]


def test_resource_violation_names_the_resource(pack):
    resources = baseline()
    set_path(resources, "aws:rds/instance:Instance", "leads", "publiclyAccessible", True)
    assert pack.analyze(resources) == [
        Violation("aws-rds-not-publicly-accessible", "mandatory", urn("aws:rds/instance:Instance", "leads"),
                  "leads: publiclyAccessible must be false; databases are reached only from the private subnets",
                  "critical"), CLOCK]


def test_provider_default_tags_reach_the_pack(pack):
    resources = baseline()
    provider = next(r for r in resources if r["type"] == "pulumi:providers:aws")
    del provider["inputs"]["defaultTags"]["tags"]["owner"]
    from governance.aws.tags import TAGGABLE_TYPES

    found = [v for v in pack.analyze(resources) if v.policy == "aws-resource-required-tags"]
    taggable = [r["urn"] for r in resources if r["type"] in TAGGABLE_TYPES]
    assert [v.urn for v in found] == taggable and len(taggable) > 10
    assert {v.message.split(": ", 1)[1] for v in found} == {"missing tags owner"}


def test_stack_policies_see_outputs(pack):
    resources = baseline()
    hpa = next(r for r in resources if r["type"] == "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    hpa["outputs"]["spec"]["minReplicas"] = 1  # inputs stay compliant: AnalyzeStack reads outputs
    assert set(pack.analyze(resources)) == {
        Violation("kubernetes-deployment-hpa-min-replicas", "mandatory", urn("kubernetes:apps/v1:Deployment", "api"),
                  "api: HorizontalPodAutoscaler api has minReplicas 1, needs at least 3", "high"), CLOCK}


def test_unknown_values_at_preview_are_skipped_over_grpc(pack):
    resources = baseline()
    set_path(resources, "aws:eks/cluster:Cluster", "leadgen", "vpcConfig.publicAccessCidrs",
             "04da6b54-80e4-46f7-96ec-b56ff0331ba9")
    assert pack.analyze(resources) == [CLOCK]


def test_gates_fail_closed_outside_the_window_and_on_bad_config(prometheus_77):
    cfg = config(prometheus_77, **{"leadgen:governance.monthlyBudgetUsd": "lots"})
    env = {"LEADGEN_GOVERNANCE_NOW": "2026-12-16T09:00:00Z"}
    with PolicyClient(PACK, project=PROJECT, stack=STACK, config=cfg, env=env) as client:
        got = [(v.policy, v.level, v.message) for v in client.analyze(baseline())]
    assert ("change-window", "mandatory", "changes/CR-2026-014.yaml: now (2026-12-16T09:00:00Z) is outside the window "
            "2026-12-15T02:00:00Z - 2026-12-15T03:00:00Z") in got
    assert ("governance-config-valid", "mandatory",
            'leadgen:governance.monthlyBudgetUsd ("lots") must be an integer') in got


def test_config_env_is_a_json_object_of_strings():
    assert json.loads(config_env({"leadgen:a": ["x"], "leadgen:b": 3, "leadgen:c": "s"})) == {
        "leadgen:a": '["x"]', "leadgen:b": "3", "leadgen:c": "s"}


def test_a_broken_pack_is_one_line_error(tmp_path):
    (tmp_path / "PulumiPolicy.yaml").write_text("runtime: python\n")
    (tmp_path / "__main__.py").write_text("raise SystemExit('pack is broken')\n")
    with pytest.raises(PolicyPackError) as err:
        with PolicyClient(tmp_path, project=PROJECT, stack=STACK):
            pass
    assert str(err.value).startswith(f"policy pack {tmp_path.name} failed to start: ")
    assert "\n" not in str(err.value)
    with pytest.raises(PolicyPackError, match="no PulumiPolicy.yaml"):
        PolicyClient(tmp_path / "nowhere", project=PROJECT, stack=STACK).__enter__()


def test_the_repositorys_unsigned_request_previews_with_advisories_and_blocks_the_update(repo_project):
    """changes/CR-2026-014.yaml carries no real signature (no private key belongs in a repository):
    a preview forecasts what the update will meet, the update is refused."""
    pack_dir = repo_project / "policies"
    with PolicyClient(pack_dir, project=PROJECT, stack=STACK, config=config(), env=IN_WINDOW) as client:
        preview = client.analyze(baseline())
    assert [v for v in preview if v.level == "mandatory"] == []
    assert {"update-forecast", "governance-clock-override"} <= {v.policy for v in preview}
    assert [v.message for v in preview if v.policy == "update-forecast"][0] == (
        "changes/CR-2026-014.yaml: approvals[0] (team-lead, team-lead@example.com) does not count: is not signed "
        "(platformctl change approve CR-2026-014 --role team-lead --key <your ssh key>); the update will be blocked "
        "until it is given (platformctl change approve)")
    with PolicyClient(pack_dir, project=PROJECT, stack=STACK, config=config(), dry_run=False) as client:
        update = {v.policy for v in client.analyze(baseline()) if v.level == "mandatory"}
    # (The promotion gate, another control, also holds an update of production here.)
    assert {"change-request-required", "change-window"} <= update
    assert "error-budget-gate" not in update  # the budget is healthy (77 %): only the signatures are missing


@pytest.mark.parametrize("stack", ["dev", "staging", "production"])
def test_real_program_previews_clean_with_a_legitimate_change(stack, prometheus_77, signed_project, keyring, tmp_path):
    """The program as the lead builds it, each stack previewed with the pack as the CLI runs it:
    dev and staging are not gated; production carries a signed change request in its window."""
    from platformctl.program.engine import run_program

    run = run_program(stack)
    cfg = dict(run.config, **config(prometheus_77)) if stack == "production" else dict(run.config)
    # Approved for production's config as the program resolves it.
    project = signed(tmp_path / "project", keyring, prometheus_77, cfg) if stack == "production" else signed_project
    with PolicyClient(project / "policies", project=run.project, stack=stack, config=cfg,
                      env=IN_WINDOW) as client:
        violations = client.analyze(run.resources)
    # The canary is recognised by its track label, so production's only other finding is the fixed clock.
    assert [(v.policy, v.message) for v in violations if v.level == "mandatory"] == []
    # The app contract passes the Redis token as an environment variable (checkov CKV_K8S_35): advisory.
    assert sorted(v.urn.rsplit("::", 1)[1] for v in violations if v.policy == "kubernetes-container-secrets-as-files") \
        == ["api-canary-deployment", "api-deployment", "backend-deployment"]
    assert {v.policy for v in violations} - {"kubernetes-container-secrets-as-files"} == (
        {"governance-clock-override"} if stack == "production" else set())
