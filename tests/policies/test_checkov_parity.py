"""checkov on every stack's rendered manifests, against the pack on the same program run
(governance/kubernetes/checkov_parity.py is the table this holds to them):
- every check checkov fails has a row; a row naming a policy means the pack flags the same object
  with that policy on that stack, a `not applicable:` row is the pack's stated reason;
- a row (or an environment's answer) that no render needs any more is stale;
- checks the render no longer fails (CKV_K8S_15, CKV_K8S_40, CKV_K8S_43 in production) are
  regressed into a copy of the render: checkov fails the copy, and so does the pack policy whose
  description names the check.
checkov runs once, over every stack's render and every regressed copy (`make checkov` installs it;
`make test` does first)."""
from __future__ import annotations

import copy
import json
import pathlib
import re
import subprocess

import pytest
import yaml

from policy_baseline import context, to_model

from governance import catalog
from governance.kubernetes import checkov_parity
from governance.kubernetes.checkov_parity import ANY_ENVIRONMENT, NOT_APPLICABLE, PARITY
from platformctl.project import ROOT, stack_config
from platformctl.render import file_name, is_k8s_object, manifest, render_manifests

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
STACKS = ("production", "staging", "dev")
DEP = "kubernetes:apps/v1:Deployment"
C0 = "spec.template.spec.containers.0"


def _set(props: dict, path: str, value) -> None:
    *head, last = path.split(".")
    for part in head:
        props = props[int(part)] if part.isdigit() else props[part]
    props[last] = value


# The render's fixes, undone one at a time on one stack's `api` Deployment: what checkov would fail
# again, and the change that makes it. Off production for the pull policy: there a tag is the
# digest rule's finding first.
REGRESSIONS = {
    "CKV_K8S_15": ("staging", [(f"{C0}.imagePullPolicy", "IfNotPresent")]),
    "CKV_K8S_40": ("production", [("spec.template.spec.securityContext.runAsUser", 1000)]),
    "CKV_K8S_43": ("production", [(f"{C0}.image", lambda image: image.split("@", 1)[0])]),
}


def environment_of(stack: str) -> str:
    return stack_config(stack).get("leadgen:environment", "dev")


def object_key(m: dict) -> tuple[str, str, str]:
    """(kind, namespace, name), as checkov names a resource `Kind.namespace.name`."""
    meta = m.get("metadata") or {}
    return m["kind"], meta.get("namespace") or "default", meta.get("name") or ""


def checkov_failures(root: pathlib.Path) -> dict[str, set[tuple[str, tuple[str, str, str]]]]:
    """checkov once over every directory under `root`: {directory: {(check id, object)}} of failed checks."""
    if not CHECKOV.exists():
        pytest.fail(f"checkov is not installed at {CHECKOV}: run `make checkov`")
    run = subprocess.run([str(CHECKOV), "-d", str(root), "--framework", "kubernetes", "--skip-download",
                          "--quiet", "--compact", "-o", "json"], capture_output=True, text=True)
    assert run.returncode in (0, 1), run.stderr[-2000:]
    reports = json.loads(run.stdout)
    out: dict[str, set] = {}
    for report in reports if isinstance(reports, list) else [reports]:
        for f in (report.get("results") or {}).get("failed_checks", []):
            directory = f["file_path"].strip("/").split("/", 1)[0]
            kind, namespace, name = f["resource"].split(".", 2)
            out.setdefault(directory, set()).add((f["check_id"], (kind, namespace, name)))
    return out


def pack_findings(resources: list[dict], environment: str) -> set[tuple[str, tuple[str, str, str]]]:
    """(policy, object) for every finding of the pack's catalog on the program run."""
    objects = {r["urn"]: object_key(manifest(r)) for r in resources if is_k8s_object(r)}
    return {(policy, objects[urn]) for policy, urn, _ in
            catalog.evaluate(to_model(resources), context(environment=environment)) if urn in objects}


def mirrors(check_id: str) -> list[str]:
    """The pack policies whose description names the check."""
    return [s.name for s in catalog.SPECS if re.search(rf"\b{re.escape(check_id)}\b", s.description)]


def problems(failures: dict[str, set], findings: dict[str, set], environments: dict[str, str],
             table=PARITY, regressed: frozenset = frozenset()) -> list[str]:
    """What does not hold between checkov's failures, the pack's findings and the table, by stack.
    `regressed`: (check, environment) a regressed render exercises, which keeps a policy answer that
    no render needs today from being stale (the render was fixed; the policy guards the fix)."""
    out = []
    used: set[tuple[str, str]] = set()
    for stack, failed in sorted(failures.items()):
        env = environments[stack]
        for check, obj in sorted(failed):
            row = table.get(check)
            if row is None:
                out.append(f"{stack}: checkov fails {check} on {'/'.join(obj)} and the parity table has no row for it")
                continue
            key = env if env in row else ANY_ENVIRONMENT
            if key not in row:
                out.append(f"{stack}: checkov fails {check} on {'/'.join(obj)}; its row answers no {env} stack")
                continue
            used.add((check, key))
            answer = row[key]
            if answer.startswith(NOT_APPLICABLE):
                continue
            if (answer, obj) not in findings[stack]:
                out.append(f"{stack}: checkov fails {check} on {'/'.join(obj)}; the table says {answer}, "
                           "which the pack does not report on it")
    for check, row in sorted(table.items()):
        if not any(c == check for c, _ in used):
            out.append(f"stale: checkov no longer fails {check} on any stack's render; remove its row from the table")
            continue
        for key, answer in row.items():
            if (check, key) in used or (not answer.startswith(NOT_APPLICABLE) and (check, key) in regressed):
                continue
            out.append(f"stale: checkov no longer fails {check} on any {key} stack's render (answer "
                       f"{answer[:60]!r}); remove it, or regress the render to show the policy still holds")
    return out


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    from tests.helpers import run_program

    root = tmp_path_factory.mktemp("checkov")
    runs = {stack: run_program(stack).resources for stack in STACKS}
    for stack, resources in runs.items():
        render_manifests(resources, root / stack)
    regressed = {}
    for check, (stack, changes) in REGRESSIONS.items():
        resources = copy.deepcopy(runs[stack])
        api = next(r for r in resources if r["type"] == DEP and r["inputs"]["metadata"]["name"] == "api")
        for path, value in changes:
            old = api["inputs"]
            for part in path.split("."):
                old = old[int(part)] if part.isdigit() else old[part]
            _set(api["inputs"], path, value(old) if callable(value) else value)
        target = root / f"regressed-{check}" / "manifests"
        target.mkdir(parents=True)
        m = manifest(api)
        (target / file_name(m)).write_text(yaml.safe_dump(m, sort_keys=False))
        regressed[check] = (stack, object_key(m), pack_findings(resources, environment_of(stack)))
    failures = checkov_failures(root)
    return {
        "failures": {stack: failures.get(stack, set()) for stack in STACKS},
        "findings": {stack: pack_findings(runs[stack], environment_of(stack)) for stack in STACKS},
        "environments": {stack: environment_of(stack) for stack in STACKS},
        "regressed": {check: (stack, obj, findings, failures.get(f"regressed-{check}", set()))
                      for check, (stack, obj, findings) in regressed.items()},
    }


def test_every_check_checkov_fails_on_a_render_is_answered_by_the_table(scanned):
    envs = scanned["environments"]
    regressed = frozenset((check, envs[stack]) for check, (stack, *_) in scanned["regressed"].items())
    assert problems(scanned["failures"], scanned["findings"], envs, regressed=regressed) == []


def test_checkov_fails_what_the_table_answers_on_each_stack(scanned):
    # The render as it is: production runs by digest, so only the Secret in the environment is left.
    checks = {stack: {c for c, _ in failed} for stack, failed in scanned["failures"].items()}
    assert checks == {"production": {"CKV_K8S_35"}, "staging": {"CKV_K8S_35", "CKV_K8S_43"},
                      "dev": {"CKV_K8S_35", "CKV_K8S_43"}}


@pytest.mark.parametrize("check", sorted(REGRESSIONS))
def test_a_regressed_render_fails_checkov_and_the_policy_that_mirrors_it(scanned, check):
    stack, obj, findings, failed = scanned["regressed"][check]
    assert (check, obj) in failed, f"checkov does not fail {check} on the regressed {obj}"
    (policy,) = mirrors(check)
    assert (policy, obj) in findings, f"{policy} does not flag the regressed {obj} on {stack}"
    # and the stack as rendered passes it: the render's fix holds
    assert (check, obj) not in scanned["failures"][stack]


def test_every_policy_the_table_names_is_in_the_pack_and_names_the_check():
    for check, row in PARITY.items():
        assert re.fullmatch(r"CKV_K8S_\d+", check), check
        for env, answer in row.items():
            if answer.startswith(NOT_APPLICABLE):
                assert len(answer) > len(NOT_APPLICABLE) + 40, (check, env)
                continue
            assert answer in catalog.BY_NAME, (check, answer)
            assert answer in mirrors(check), f"{answer}'s description does not name {check}"
            assert checkov_parity.policy_of(check, env) == answer


def test_the_comparison_catches_an_unanswered_check_a_missed_object_and_a_stale_row():
    obj = ("Deployment", "production", "api")
    envs = {"production": "production", "dev": "dev"}
    table = {"CKV_K8S_43": {"production": "kubernetes-container-image-digest-pinned",
                            ANY_ENVIRONMENT: NOT_APPLICABLE + "dev runs tags"},
             "CKV_K8S_8": {ANY_ENVIRONMENT: NOT_APPLICABLE + "probes are set"}}
    failures = {"production": {("CKV_K8S_43", obj), ("CKV_K8S_15", obj)}, "dev": {("CKV_K8S_43", obj)}}
    findings = {"production": set(), "dev": set()}
    assert problems(failures, findings, envs, table) == [
        "production: checkov fails CKV_K8S_15 on Deployment/production/api and the parity table has no row for it",
        "production: checkov fails CKV_K8S_43 on Deployment/production/api; the table says "
        "kubernetes-container-image-digest-pinned, which the pack does not report on it",
        "stale: checkov no longer fails CKV_K8S_8 on any stack's render; remove its row from the table",
    ]
    findings["production"].add(("kubernetes-container-image-digest-pinned", obj))
    failures["production"].discard(("CKV_K8S_15", obj))
    assert problems(failures, findings, envs, {"CKV_K8S_43": table["CKV_K8S_43"]}) == []
    # Production fixed: its answer stands only while a regressed render shows the policy still holds.
    failures["production"].clear()
    assert problems(failures, findings, envs, {"CKV_K8S_43": table["CKV_K8S_43"]}) == [
        "stale: checkov no longer fails CKV_K8S_43 on any production stack's render (answer "
        "'kubernetes-container-image-digest-pinned'); remove it, or regress the render to show the policy "
        "still holds"]
    assert problems(failures, findings, envs, {"CKV_K8S_43": table["CKV_K8S_43"]},
                    regressed=frozenset({("CKV_K8S_43", "production")})) == []


def test_the_render_writes_whole_numbers_as_integers():
    # The engine hands every number over as a double; the manifest holds what the API server stores.
    record = {"type": DEP, "custom": True, "inputs": {"metadata": {"name": "api"}, "spec": {
        "replicas": 3.0, "template": {"spec": {"securityContext": {"runAsUser": 10001.0}, "containers": [
            {"name": "api", "resources": {"limits": {"cpu": 0.5}}}]}}}}}
    spec = manifest(record)["spec"]
    assert spec["replicas"] == 3 and isinstance(spec["replicas"], int)
    assert yaml.safe_dump(spec["template"]["spec"]["securityContext"]) == "runAsUser: 10001\n"
    assert spec["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] == 0.5
