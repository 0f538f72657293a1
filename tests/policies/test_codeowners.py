"""What the repository can prove of "nothing a change can edit decides whether it passes": every
path that holds a gate, its settings or its evidence is owned by the CAB in .github/CODEOWNERS.
(The GitHub settings that make CODEOWNERS binding are listed in the README and cannot be tested here.)"""
import fnmatch
import pathlib

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
CAB = "@insurance-lead-gen/cab"


def owners(path: str) -> list[str]:
    """The owners GitHub gives `path`: the last matching line wins (directory patterns anchored at
    the root, as this file writes them)."""
    found: list[str] = []
    for line in (REPO / ".github" / "CODEOWNERS").read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pattern, *who = line.split()
        anchored = pattern.lstrip("/")
        if (anchored.endswith("/") and path.startswith(anchored)) or fnmatch.fnmatchcase(path, anchored):
            found = who
    return found


def protected_stacks() -> list[str]:
    gates = yaml.safe_load((REPO / "governance" / "gates.yaml").read_text())
    return gates["protected_stacks"]


def test_every_path_that_decides_a_verdict_is_the_cabs():
    paths = ["governance/gates.yaml", "governance/approvers.yaml", "governance/allowed_signers",
             "policies/__main__.py", "policies/exemptions.yaml", "policies/governance/gates.py",
             "attestations/0123456789abcdef0123456789abcdef01234567.yaml", ".github/CODEOWNERS",
             ".github/workflows/up.yml", "bootstrap/__main__.py"]
    paths += [f"Pulumi.{stack}.yaml" for stack in protected_stacks()]
    assert {p: CAB in owners(p) for p in paths} == {p: True for p in paths}


def test_change_requests_stay_open_to_everyone_to_propose():
    assert CAB not in owners("changes/CR-2026-014.yaml") and owners("changes/CR-2026-014.yaml")


def test_every_workflow_and_governance_file_that_exists_is_covered():
    for path in [*(REPO / ".github" / "workflows").glob("*.yml"), *(REPO / "governance").iterdir()]:
        assert CAB in owners(str(path.relative_to(REPO))), path
