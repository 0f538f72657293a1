"""The catalog as the pack publishes it: names and enforcement levels are an interface (stack
policy configs, exemptions and dashboards name them), each policy lives in its resource family's
module, no module reaches into another's private helpers, and docs/policies.md is the catalog's."""
import ast
import importlib.util
import json
import pathlib

import pytest

from guardrails import C0, DEP, EKS, HELM, HPA, LOG, LT, NG, RDS, RP, SG, SVC, UNKNOWN, checks_baseline, violations
from policy_baseline import set_path

from governance import catalog, policydocs

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACK = ROOT / "policies" / "governance"
# Recorded from the catalog before the pack was laid out by resource family. A change here is a
# change of the published pack: new policies are added to this file deliberately, in their own commit.
PUBLISHED = pathlib.Path(__file__).with_name("published_policies.json")

# Where a guardrail of each AWS service goes, by the service its name starts with.
AWS_FAMILY = {"rds": "aws/rds", "elasticache": "aws/elasticache", "ebs": "aws/ec2", "ec2": "aws/ec2",
              "eks": "aws/eks", "s3": "aws/s3", "lb": "aws/lb", "iam": "aws/iam", "kms": "aws/kms",
              "cloudwatch": "aws/cloudwatch", "secretsmanager": "aws/secretsmanager", "ecr": "aws/ecr",
              "resource": "aws/tags"}


def _published(spec: catalog.Spec) -> dict:
    return {"enforcement": spec.enforcement, "severity": spec.severity, "kind": spec.kind, "group": spec.group,
            "types": sorted(spec.types) if spec.types is not None else None}


def test_policy_names_levels_and_types_are_the_published_ones():
    published = json.loads(PUBLISHED.read_text())
    current = {spec.name: _published(spec) for spec in catalog.SPECS}
    assert sorted(current) == sorted(published)
    assert {n: (p["enforcement"], p["severity"]) for n, p in current.items()} == \
        {n: (p["enforcement"], p["severity"]) for n, p in published.items()}
    assert current == published


def test_each_guardrail_lives_in_its_resource_familys_module():
    misplaced = []
    for spec in catalog.SPECS:
        family = catalog.family(spec)
        if spec.group == "deploy-readiness":
            expected = "readiness/rules"
        elif spec.group in ("gate", "governance"):
            expected = family if family in ("gates", "promotion", "binding") else "gates"
        elif spec.name.startswith("aws-"):
            expected = AWS_FAMILY[spec.name.split("-")[1]]
        else:
            expected = family if family.startswith("kubernetes/") else "kubernetes/*"
        if family != expected:
            misplaced.append(f"{spec.name}: {family} (expected {expected})")
        # A family module judges its own provider's resources only.
        if spec.types and family.startswith(("aws/", "kubernetes/")):
            provider = family.split("/")[0]
            assert all(t.startswith(provider + ":") for t in spec.types), spec.name
    assert misplaced == []


def _pack_modules() -> dict[str, pathlib.Path]:
    return {".".join(("governance", *p.relative_to(PACK).with_suffix("").parts)).removesuffix(".__init__"): p
            for p in PACK.rglob("*.py")}


def _imported_privates(path: pathlib.Path, module: str) -> list[str]:
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            base = package.split(".")
            source = ".".join(base[:len(base) - node.level + 1] + ([node.module] if node.module else [])) \
                if node.level else node.module
            if source and source.startswith("governance"):
                out += [f"{source}.{a.name}" for a in node.names if a.name.startswith("_")]
    return out


def test_no_pack_module_imports_another_modules_private_helpers():
    offenders = {m: _imported_privates(p, m) for m, p in _pack_modules().items()}
    assert {m: names for m, names in offenders.items() if names} == {}


def test_the_private_import_scan_sees_one(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from .objects import _pod_spec\nfrom ..values import get, _private\n")
    assert _imported_privates(probe, "governance.kubernetes.probe") == [
        "governance.kubernetes.objects._pod_spec", "governance.values._private"]


def test_docs_policies_md_is_generated_from_the_catalog():
    # `make policy-docs` rewrites it.
    assert (ROOT / "docs" / "policies.md").read_text() == policydocs.render()


def test_the_policy_docs_list_every_policy_once_under_its_family():
    text = policydocs.render()
    for spec in catalog.SPECS:
        assert text.count(f"| `{spec.name}` |") == 1, spec.name
        section = text.split(f"\n## {catalog.family(spec)}\n", 1)[1].split("\n## ", 1)[0]
        assert f"`{spec.name}`" in section


def test_descriptions_cannot_break_the_policy_table():
    assert policydocs.markdown('allows "*" on "*" | <b> `x`\nnext') == \
        'allows "\\*" on "\\*" \\| &lt;b&gt; \\`x\\` next'


def test_the_extended_baseline_is_compliant():
    assert violations(checks_baseline()) == []


def test_every_policy_has_description_severity_and_level():
    for spec in catalog.SPECS:
        assert spec.description and spec.severity in ("low", "medium", "high", "critical")
        assert spec.enforcement in ("mandatory", "advisory")
        assert spec.name == spec.name.lower() and " " not in spec.name


def _family_cases() -> dict[str, list]:
    cases = {}
    for path in sorted(pathlib.Path(__file__).parent.glob("*/test_*.py")):
        spec = importlib.util.spec_from_file_location(f"family_cases_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for case in getattr(module, "CASES", ()):
            cases.setdefault(case[0], []).append(path.relative_to(pathlib.Path(__file__).parent).as_posix())
    return cases


def test_every_guardrail_has_a_failing_case_in_its_familys_test_file():
    cases = _family_cases()
    for spec in catalog.SPECS:
        if spec.group != "guardrail":
            continue
        family = catalog.family(spec)
        provider, module = family.split("/")
        expected = f"{provider}/test_{'aws' if provider == 'aws' else 'k8s'}_{module}.py"
        assert expected in cases.get(spec.name, ()), (spec.name, expected)


@pytest.mark.parametrize("typ,name,path", [
    (RDS, "leads", "storageEncrypted"), (EKS, "leadgen", "vpcConfig.publicAccessCidrs"),
    (EKS, "leadgen", "encryptionConfig"), (RP, "exports-writer", "policy"), (DEP, "api", f"{C0}.image"),
    (NG, "gpu", "instanceTypes"), ("pulumi:providers:aws", "aws-production", "defaultTags.tags"),
    (HPA, "api", "spec.minReplicas"), (DEP, "api", "metadata.namespace"), (LT, "general", "metadataOptions"),
    (SG, "endpoints", "ingress.0.cidrBlocks"), (SVC, "internal-lb", "metadata.annotations"),
    (LOG, "app", "retentionInDays"), (HELM, "external-dns", "values"),
])
def test_values_unknown_at_preview_skip_never_fail(typ, name, path):
    resources = checks_baseline()
    set_path(resources, typ, name, path, UNKNOWN)
    assert violations(resources) == []
