"""What the program emits, judged by the tools that consume it, and the CLI's contract."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from platformctl.project import ROOT
from tests.helpers import K8S_VERSION, has_crd, validate_custom_resource

PY = sys.executable
VALIDATE = str(Path(sys.executable).with_name("kubernetes-validate"))


def platformctl(*args, cwd=ROOT, env=None):
    return subprocess.run([PY, "-m", "platformctl", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


@pytest.fixture(scope="module", params=["production", "staging", "dev"])
def rendered(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"render-{request.param}")
    proc = platformctl("render", "--stack", request.param, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return request.param, out


def test_builtin_kinds_validate_strictly(rendered):
    stack, out = rendered
    files = sorted((out / "manifests").glob("*.yaml"))
    builtin = [f for f in files if not has_crd(*(lambda d: (d["apiVersion"], d["kind"]))(yaml.safe_load(f.read_text())))]
    assert len(builtin) >= 20
    proc = subprocess.run([VALIDATE, "--strict", "--kubernetes-version", K8S_VERSION, "--quiet", *map(str, builtin)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_custom_resources_validate_against_the_published_crds(rendered):
    stack, out = rendered
    for f in sorted((out / "manifests").glob("*.yaml")):
        doc = yaml.safe_load(f.read_text())
        if has_crd(doc["apiVersion"], doc["kind"]):
            validate_custom_resource(doc)


def test_strict_validation_catches_a_misspelt_field(tmp_path):
    # The judge must be able to fail: a field the API does not know is rejected under --strict.
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
                                   "spec": {"ports": [{"port": 80}], "selectr": {"app": "x"}}}))
    proc = subprocess.run([VALIDATE, "--strict", "--kubernetes-version", K8S_VERSION, str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode != 0


def test_render_names_the_runbooks_objects(rendered):
    stack, out = rendered
    names = {p.name for p in (out / "manifests").glob("*.yaml")}
    assert {"deployment-production-api.yaml", "deployment-production-backend.yaml",
            "horizontalpodautoscaler-production-api.yaml", "namespace-cluster-production.yaml"} <= names
    assert (out / "helm" / "kube-system-cluster-autoscaler.yaml").exists()


def test_preview_json_shape():
    proc = platformctl("preview", "--stack", "dev", "--json", "--no-policy")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["stack"] == "dev" and doc["project"] == "leadgen"
    assert doc["resources"][0]["type"] == "pulumi:pulumi:Stack"
    assert set(doc["resources"][1]) == {"urn", "type", "name", "parent", "custom", "inputs"}
    assert doc["summary"]["create"] == len(doc["resources"])


def test_preview_prints_the_tree_grouped_by_component():
    proc = platformctl("preview", "--stack", "production", "--no-policy")
    assert proc.returncode == 0, proc.stderr
    assert "├─ leadgen:cluster:Cluster" in proc.stdout
    assert "│  ├─ aws:eks:Cluster" in proc.stdout
    assert "Counts by type:" in proc.stdout


def test_unknown_stack_is_one_line_exit_1():
    proc = platformctl("preview", "--stack", "qa")
    assert proc.returncode == 1
    stacks = ", ".join(sorted(p.name[len("Pulumi."):-len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml")))
    assert "dev, production" in stacks
    assert proc.stderr.strip().splitlines() == [f"error: unknown stack 'qa': no Pulumi.qa.yaml (stacks: {stacks})"]
    assert "Traceback" not in proc.stderr


@pytest.fixture()
def repo_copy(tmp_path):
    """A copy of the program whose stack files a test may break."""
    dest = tmp_path / "repo"
    shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(".venv*", ".git", "build", "__pycache__", "tests", "bench"))
    return dest


def test_bad_stack_file_is_one_line_exit_1_and_no_traceback(repo_copy):
    f = repo_copy / "Pulumi.production.yaml"
    f.write_text(f.read_text().replace("leadgen:cluster.nodeGroups.general.maxSize: 10",
                                       "leadgen:cluster.nodeGroups.general.maxSize: 2"))
    proc = platformctl("preview", "--stack", "production", cwd=repo_copy)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: leadgen:cluster.nodeGroups.general.maxSize (2) must be >= minSize (3) in Pulumi.production.yaml"]
    assert proc.stdout == ""


def test_secret_in_stack_config_is_refused(repo_copy):
    f = repo_copy / "Pulumi.dev.yaml"
    f.write_text(f.read_text() + "  leadgen:owner:\n    secure: AAABAHzz\n")
    proc = platformctl("preview", "--stack", "dev", cwd=repo_copy)
    assert proc.returncode == 1
    assert "never config" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_config_docs_are_in_sync():
    proc = subprocess.run([PY, "-m", "leadgen.config.docs", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_pulumi_yaml_declares_every_key_with_type_description_and_default():
    from leadgen.config import all_keys
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    for key in all_keys():
        if key.type == "objects" or key.is_template:
            continue  # Pulumi's project schema can declare neither; Pulumi.yaml lists them in comments
        d = declared[key.path]
        assert d["type"] in ("string", "integer", "boolean", "array") and d["description"]
        assert key.required or "default" in d
