"""The pipelines in .github/workflows: valid against the published schema, and wired as issue 7 asks."""
from __future__ import annotations

import json
import pathlib

import jsonschema
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT.parent / "shared" / "schemas" / "github-workflow.json").read_text())
WORKFLOWS = ROOT / ".github" / "workflows"


def load(name: str) -> dict:
    # YAML 1.1 reads the key `on` as True; GitHub reads it as the string "on".
    doc = yaml.load((WORKFLOWS / name).read_text(), Loader=yaml.BaseLoader)
    return doc


def steps(doc: dict, job: str) -> list[dict]:
    return doc["jobs"][job]["steps"]


def runs(doc: dict) -> str:
    return "\n".join(s.get("run", "") for job in doc["jobs"].values() for s in job.get("steps", []))


@pytest.mark.parametrize("name", ["preview.yml", "up.yml", "audit.yml"])
def test_workflow_is_valid_against_the_schema(name):
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    document["on"] = document.pop(True)  # see load()
    jsonschema.validate(document, SCHEMA, cls=jsonschema.Draft7Validator)


def test_the_schema_check_has_teeth():
    document = yaml.safe_load((WORKFLOWS / "up.yml").read_text())
    document["on"] = document.pop(True)
    document["jobs"]["gate"]["timeout-minutes"] = "soon"  # neither a number nor an expression
    document["jobs"]["gate"]["bogus-key"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, SCHEMA, cls=jsonschema.Draft7Validator)


def test_preview_comments_once_uploads_sarif_and_runs_the_real_preview_only_with_credentials():
    doc = load("preview.yml")
    assert "pull_request" in doc["on"]
    job = steps(doc, "preview")
    assert any("make deps" in s.get("run", "") for s in job)
    assert "platformctl preview --stack" in runs(doc) and "--format sarif" in runs(doc)
    script = next(s for s in job if s.get("uses", "").startswith("actions/github-script"))["with"]["script"]
    assert "platformctl-report:" in script and "updateComment" in script
    assert any(s.get("uses", "").startswith("github/codeql-action/upload-sarif") for s in job)
    real = next(s for s in job if s.get("uses", "").startswith("pulumi/actions"))
    assert real["with"]["policyPacks"] == "policies" and "steps.aws.outcome == 'success'" in real["if"]


def test_up_gates_first_in_a_protected_environment_one_run_per_stack():
    doc = load("up.yml")
    assert set(doc["on"]["workflow_dispatch"]["inputs"]) == {"stack", "change_request"}
    assert doc["concurrency"]["group"] == "up-${{ inputs.stack }}"
    assert doc["concurrency"]["cancel-in-progress"] == "false"
    assert "platformctl gate --stack" in runs(doc)
    assert doc["jobs"]["up"]["needs"] == "gate" and doc["jobs"]["up"]["environment"] == "${{ inputs.stack }}"
    up = next(s for s in steps(doc, "up") if s.get("with", {}).get("command") == "up")
    assert up["with"]["policyPacks"] == "policies"


def test_audit_is_monthly_and_keeps_html_csv_and_sarif():
    doc = load("audit.yml")
    assert "schedule" in doc["on"] and "workflow_dispatch" in doc["on"]
    text = runs(doc)
    assert "pulumi stack export" in text and "pulumi stack history" in text and "--json" in text
    assert "--show-secrets" not in text.replace("Without --show-secrets", "")
    artefact = next(s for s in steps(doc, "audit") if s.get("uses", "").startswith("actions/upload-artifact"))
    for ext in ("html", "csv", "sarif"):
        assert f"build/audit/report.{ext}" in artefact["with"]["path"]
    assert artefact["if"] == "always()"
