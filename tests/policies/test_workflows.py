"""The pipeline's promises, read from the workflow files: least permission per job, forks never
holding a write token, `up` only from main through protected environments, applying the plan
that was previewed with the policy pack."""
import pathlib

import yaml

WORKFLOWS = pathlib.Path(__file__).resolve().parents[2] / ".github" / "workflows"


def load(name):
    doc = yaml.load((WORKFLOWS / name).read_text(), Loader=yaml.BaseLoader)  # `on:` stays the text "on"
    return doc, doc["jobs"]


def steps_text(job) -> str:
    return "\n".join(str(step.get("run", "")) + str(step.get("uses", "")) + str(step.get("with", ""))
                     for step in job.get("steps", []))


def test_every_job_asks_for_its_own_permissions_and_the_default_is_none():
    for path in sorted(WORKFLOWS.glob("*.yml")):
        doc, jobs = load(path.name)
        assert doc.get("permissions") in ({}, "{}", None) or path.name == "audit.yml", path.name
        if path.name == "audit.yml":
            continue
        for name, job in jobs.items():
            assert "permissions" in job, f"{path.name}: job {name} has no permissions of its own"


def test_the_job_that_runs_pull_request_code_can_write_nothing():
    _, jobs = load("preview.yml")
    assert jobs["preview"]["permissions"] == {"contents": "read"}
    for name in ("sarif", "cloud-preview"):
        assert "github.event.pull_request.head.repo.full_name == github.repository" in jobs[name]["if"]
    assert "upload-artifact" in steps_text(jobs["preview"])
    assert "failed (exit $status)" in steps_text(jobs["preview"])  # a failed program still gets its comment


def test_the_comment_is_written_without_running_pull_request_code():
    doc, jobs = load("preview-comment.yml")
    assert doc["on"] == {"workflow_run": {"workflows": ["preview"], "types": ["completed"]}}
    job = jobs["comment"]
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}
    assert "checkout" not in steps_text(job)
    assert "pr.head.sha !== process.env.HEAD_SHA" in steps_text(job)


def test_up_runs_only_from_main_through_a_protected_environment_and_applies_the_previewed_plan():
    _, jobs = load("up.yml")
    assert all(job["if"] == "github.ref == 'refs/heads/main'" for job in jobs.values())
    assert jobs["up"]["environment"] == "${{ inputs.stack }}" and jobs["up"]["needs"] == "gate"
    plan, up = steps_text(jobs["gate"]), steps_text(jobs["up"])
    assert "pulumi preview --diff --non-interactive --policy-pack policies --save-plan plan.json" in plan
    assert "GITHUB_STEP_SUMMARY" in plan and "platformctl change verify" in plan and "platformctl gate" in plan
    assert "--policy-pack policies --plan plan.json" in up
    assert "policies/venv/bin/pip install" in plan and "policies/venv/bin/pip install" in up


def test_the_pack_declares_the_virtualenv_the_workflows_create():
    pack = yaml.safe_load((WORKFLOWS.parents[1] / "policies" / "PulumiPolicy.yaml").read_text())
    assert pack["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}


def test_every_workflow_is_valid_against_the_published_schema():
    import json

    import jsonschema

    schema = json.loads((WORKFLOWS.parents[2] / "shared" / "schemas" / "github-workflow.json").read_text())
    for path in sorted(WORKFLOWS.glob("*.yml")):
        document = yaml.safe_load(path.read_text())
        document["on"] = document.pop(True)  # YAML 1.1 reads `on` as True; GitHub reads the text
        jsonschema.validate(document, schema, cls=jsonschema.Draft7Validator)
