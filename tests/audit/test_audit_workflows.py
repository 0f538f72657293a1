"""The pipelines in .github/workflows: valid against the published schema; the audit one monthly, keeping its reports."""
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


# preview.yml, preview-comment.yml and up.yml are tested where they are designed: tests/policies/test_workflows.py.


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
