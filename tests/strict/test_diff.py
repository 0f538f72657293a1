"""`platformctl preview --against EXPORT`: what an update would change, against the state the
last update left (`pulumi stack export`). A failover and an image bump show exactly their steps;
a protected resource that would be replaced fails as the engine fails it."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from platformctl.program.diff import diff, run_resources, state_resources
from platformctl.program.export import write_export
from platformctl.project import ROOT, stack_config
from tests.helpers import run_program
from tests.warm import PYTHON as WARM_PYTHON  # the worker's warm interpreter (tests/warm.py)


def steps(d) -> set[tuple[str, str]]:
    return {(s.op, s.name) for s in d.steps}


@pytest.fixture(scope="module")
def production_state(tmp_path_factory):
    return write_export(run_program("production", preview=False), tmp_path_factory.mktemp("s") / "production.json")


def test_the_same_program_changes_nothing(production_state):
    d = diff(state_resources(production_state), run_resources(run_program("production", preview=False)))
    assert d.steps == [] and d.outputs == []


API_TAG = stack_config("production")["leadgen:workloads.api.tag"]  # 2.14.0@sha256:...
BUMP = "2.15.0@sha256:" + "5" * 64  # production moves by digest too


def test_an_image_bump_updates_the_two_deployments_that_run_the_image(production_state):
    d = diff(state_resources(production_state),
             run_resources(run_program("production", {"leadgen:workloads.api.tag": BUMP}, preview=False)))
    assert steps(d) == {("update", "api-deployment"), ("update", "api-canary-deployment")}
    for s in d.steps:
        (change,) = s.changes
        assert change.path == "spec.template.spec.containers[0].image"
        assert change.old.endswith(f"/api:{API_TAG}") and change.new.endswith(f"/api:{BUMP}")
    assert d.errors == []


def test_a_tag_without_its_digest_is_also_pulled_always(production_state):
    d = diff(state_resources(production_state),
             run_resources(run_program("production", {"leadgen:workloads.api.tag": "2.15.0"}, preview=False)))
    for s in d.steps:
        assert {c.path: c.new for c in s.changes}["spec.template.spec.containers[0].imagePullPolicy"] == "Always"


def test_a_failover_promotes_the_replica_scales_up_and_starts_backups(tmp_path):
    state = write_export(run_program("production-dr", preview=False), tmp_path / "dr.json")
    d = diff(state_resources(state),
             run_resources(run_program("production-dr", {"leadgen:dr.state": "active"}, preview=False)))
    p = "leadgen-production-dr"
    # No DNS record changes (the decision health check moved clients already) and nothing in the
    # primary's region: only the replica-lag alarm goes (docs/runbooks/disaster-recovery.md).
    assert steps(d) == {
        ("update", f"{p}-postgres"), ("update", f"{p}-general-ng"), ("update", f"{p}-spot-ng"),
        ("update", f"{p}-redis"),
        ("create", f"{p}-pgbackup"), ("create", f"{p}-pgbackup-irsa"), ("create", f"{p}-pgbackup-irsa-role"),
        ("create", f"{p}-pgbackup-irsa-policy"), ("create", f"{p}-pgbackup-sa"),
        ("create", f"{p}-pgbackup-verify-irsa"), ("create", f"{p}-pgbackup-verify-irsa-role"),
        ("create", f"{p}-pgbackup-verify-irsa-policy"), ("create", f"{p}-pgbackup-verify-sa"),
        ("create", f"{p}-pgbackup-backup"), ("create", f"{p}-pgbackup-verify"),
        ("delete", f"{p}-standby-replica-lag")}
    database = next(s for s in d.steps if s.name == f"{p}-postgres")
    assert database.protected and database.op == "update"  # promoted in place, never replaced
    assert {c.path for c in database.changes} >= {"replicateSourceDb"}
    assert [(c.path, c.old, c.new) for c in d.outputs if c.path == "dr.state"] == [("dr.state", "standby", "active")]
    assert d.errors == []


def test_replacing_a_protected_resource_is_the_engines_error(production_state):
    old = state_resources(production_state)
    db = next(r for r in old if r["type"] == "aws:rds/instance:Instance")
    db["inputs"]["identifier"] = "leadgen-production-postgres-old"
    d = diff(old, run_resources(run_program("production", preview=False)))
    (step,) = d.steps
    assert (step.op, step.replace_keys, step.protected) == ("replace", ["identifier"], True)
    (error,) = d.errors
    assert error.startswith(f'unable to replace resource "{db["urn"]}" as it is currently marked for protection')


def test_preview_against_prints_the_diff_and_refuses_a_protected_replacement(production_state, tmp_path):
    doc = json.loads(production_state.read_text())
    deployment = next(r for r in doc["deployment"]["resources"] if r["urn"].endswith("::api-deployment"))
    container = deployment["inputs"]["spec"]["template"]["spec"]["containers"][0]
    container["image"] = container["image"].replace(f":{API_TAG}", ":2.13.0")
    state = tmp_path / "before.json"
    state.write_text(json.dumps(doc))
    cmd = [*WARM_PYTHON, "-m", "platformctl", "preview", "--stack", "production", "--no-policy", "--against"]
    proc = subprocess.run([*cmd, str(state)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert " ~ kubernetes:apps/v1:Deployment api-deployment update" in proc.stdout
    assert "/api:2.13.0 => " in proc.stdout and "~ 1 to update" in proc.stdout

    db = next(r for r in doc["deployment"]["resources"] if r["type"] == "aws:rds/instance:Instance")
    db["inputs"]["identifier"] = "another"
    state.write_text(json.dumps(doc))
    proc = subprocess.run([*cmd, str(state)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stderr.startswith("error: unable to replace resource"), proc.stderr
    assert "Traceback" not in proc.stderr

    state.write_text('{"version": 3, "deployment": {"resources": {}}}')
    proc = subprocess.run([*cmd, str(state)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stderr.startswith("error: --against: "), proc.stderr


def test_preview_update_hands_the_pack_an_update(monkeypatch):
    from platformctl import policy_client
    from platformctl.commands import preview

    seen = []
    monkeypatch.setattr(policy_client, "analyze", lambda *a, **kw: seen.append(kw["dry_run"]) or [])
    args = preview.argparse.Namespace(stack="dev", update=True, against=None, export=None, exemptions=None,
                                      no_policy=False, json=True, waves=False, format=None, out=None, look=True)
    monkeypatch.setattr(preview, "_emit", lambda text, out: None)
    assert preview.main(args) == 0
    args.update = False
    assert preview.main(args) == 0
    assert seen == [False, True]


def test_the_pull_request_comment_shows_the_diff_against_the_base_branch():
    import yaml

    doc = yaml.safe_load((ROOT / ".github" / "workflows" / "preview.yml").read_text())
    steps = "\n".join(str(s.get("run", "")) for s in doc["jobs"]["preview"]["steps"])
    assert '--no-policy \\\n' in steps and '--export "$GITHUB_WORKSPACE/build/base-state.json"' in steps
    assert 'against=(--against build/base-state.json)' in steps
    assert '"${against[@]}" --format markdown --out build/report/preview.md' in steps
