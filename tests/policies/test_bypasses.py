"""The bypasses found by trying, as someone who wants a change in production without the promised
controls, what the repository and the pipeline allow: each one, applied to an otherwise legitimate
change built with the documented commands, is refused at update time with a one-line finding naming
its cause, by the repository's pack and by the published pack alike.

Those with a scenario of their own in test_published_pack.py (a program commit or a config switched
after the approval, an unsoaked release, an image staging never ran, a gate setting in the stack
file, the recovery stack calling itself staging, a key added with its request) are not repeated;
the history audit's are in tests/audit/test_audit_history_rechecks.py, the `change` command's
smaller defects in test_change_command_defects.py."""
import datetime as dt

import pytest
import yaml

from test_published_pack import (CR, PRODUCTION, build, both, git, mandatory, pipeline_key,  # noqa: F401
                                 prometheus)

GATES_OFF = {"change-request-required": "disabled", "change-window": "disabled", "approval-binding": "disabled",
             "promotion-gate": "disabled", "error-budget-gate": "disabled", "cost-budget-gate": "disabled"}


def _program_after_approval(root, keyring):
    (root / "__main__.py").write_text("print('not what was approved')\n")
    git(root, "add", "__main__.py")
    git(root, "commit", "-q", "-m", "after the signature")


def _signers(line_of):
    def mutate(root, keyring):
        signers = root / "governance" / "allowed_signers"
        signers.write_text(signers.read_text() + line_of(keyring) + "\n")
        git(root, "commit", "-q", "-am", "one more signer line")
    return mutate


def _shared_key(keyring):
    # The team lead's key listed for the CAB chair too: one key approving as two people.
    key = (keyring.keys["team-lead@example.com"].with_suffix(".pub")).read_text().strip()
    return f'cab-chair@example.com namespaces="leadgen-change-approval" {key}'


def _pattern(keyring):
    key = (keyring.keys["dev@example.com"].with_suffix(".pub")).read_text().strip()
    return f'*@example.com namespaces="leadgen-change-approval" {key}'


def _case_twin(root, keyring):
    path = root / "governance" / "approvers.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["approvers"]["Team-Lead@Example.com"] = ["cab"]  # merged silently into team-lead's roles once
    path.write_text(yaml.safe_dump(doc))
    git(root, "commit", "-q", "-am", "a second spelling")


def _exempt_the_gates(root, keyring):
    for pack in (root / "policies",):
        (pack / "exemptions.yaml").write_text(yaml.safe_dump({"exemptions": [{
            "policy": policy, "urn": "*", "reason": "hotfix", "ticket": "SEC-1", "change_request": CR,
            "expires": "9999-12-31"} for policy in ("approval-binding", "promotion-gate")]}))
    _program_after_approval(root, keyring)


CASES = {
    # --policy-pack-config set the gates to disabled: 0 mandatory findings, no change request needed.
    "policy config lowers the gates": dict(
        mutate=_program_after_approval, levels=GATES_OFF, policy="approval-binding",
        text="only changes/ and attestations/ may change after an approval"),
    # One key listed for two addresses approved a critical change as both lead and CAB.
    "one key for two addresses": dict(
        mutate=_signers(_shared_key), policy="change-request-required",
        text="key is also listed for team-lead@example.com"),
    # One `*@example.com` line let one key sign as anyone.
    "a pattern principal": dict(
        mutate=_signers(_pattern), policy="change-request-required", text="*@example.com is a pattern"),
    # Addresses differing in case merged silently in approvers.yaml.
    "an address in two spellings": dict(
        mutate=_case_twin, policy="change-request-required",
        text="repeats an address listed above (addresses are compared case-folded)"),
    # `change attest --at` a date before the commit existed: the soak was what the signer wrote.
    "a soak dated before its commit": dict(
        build=dict(attested_at=lambda soaked: soaked - dt.timedelta(minutes=60)), policy="promotion-gate",
        text="staging cannot have applied it then"),
    # Exemptions with urn "*" on the gate policies switched them off.
    "exemptions naming the gates": dict(
        mutate=_exempt_the_gates, policy="governance-config-valid",
        text="decides whether an update may run at all; no exemption"),
}


@pytest.mark.parametrize("name", CASES)
def test_each_bypass_is_refused_with_one_line_in_the_repository_and_published(name, tmp_path, keyring,
                                                                              pipeline_key, prometheus, monkeypatch):
    case = CASES[name]
    root = build(tmp_path / "repo", keyring, pipeline_key, prometheus, **case.get("build", {}))
    if "mutate" in case:
        case["mutate"](root, keyring)
    in_repo, published = both(root, tmp_path, monkeypatch, levels=case.get("levels"))
    hits = [m for p, m in mandatory(in_repo) if p == case["policy"] and case["text"] in m]
    assert hits, in_repo
    assert all("\n" not in m for _, m in mandatory(in_repo))
    assert published == in_repo
