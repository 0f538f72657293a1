"""The `up` workflow needs nothing in the primary's region to update the recovery stack: its AWS
credentials are requested in the stack's own region, read from the stack file."""
from __future__ import annotations

import subprocess

import yaml

from platformctl.project import ROOT


def _steps():
    workflow = yaml.safe_load((ROOT / ".github/workflows/up.yml").read_text())
    return {job: spec["steps"] for job, spec in workflow["jobs"].items()}


def test_credentials_are_requested_in_the_stacks_own_region():
    for job, steps in _steps().items():
        creds = [s for s in steps if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@")]
        assert creds, job
        for step in creds:
            assert step["with"]["aws-region"] == "${{ steps.region.outputs.region }}", job
        [region] = [s for s in steps if s.get("id") == "region"]
        assert steps.index(region) < steps.index(creds[0]), job


def test_the_region_step_reads_each_stack_files_region(tmp_path):
    [region] = [s for s in _steps()["up"] if s.get("id") == "region"]
    out = tmp_path / "out"
    for stack, want in (("production-dr", "us-west-2"), ("production", "us-east-1")):
        subprocess.run(["bash", "-euc", region["run"]], cwd=ROOT, check=True,
                       env={"STACK": stack, "GITHUB_OUTPUT": str(out), "PATH": "/usr/bin:/bin"})
        assert out.read_text().splitlines()[-1] == f"region={want}"
