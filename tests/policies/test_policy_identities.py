"""Identities are keys, not strings: one key listed for two addresses, a pattern principal or an
unrestricted key once approved a critical change as both lead and CAB. allowed_signers is linted
(one line per problem, and a file with any problem verifies nothing), and approvals are counted per
key fingerprint."""
import datetime as dt
import pathlib

from crs import F, IN_WINDOW, good
from test_policy_approvals import CRITICAL, blocking

from governance import approvers, changes, compliance, signers_lint, signing

APPROVAL = f'namespaces="{signing.APPROVAL_NAMESPACE}"'


def pub(keyring, who) -> str:
    return pathlib.Path(f"{keyring.keys[who]}.pub").read_text().strip()


def test_one_key_for_two_addresses_approves_nothing(tmp_path, keyring):
    keyring.write(tmp_path, {**CRITICAL, "approvals": [
        {"by": "engineering-manager@example.com", "role": "engineering-manager", "at": "2026-11-20T10:00:00Z"},
        {"by": "cab-chair@example.com", "role": "cab", "at": "2026-11-21T10:00:00Z",
         "signature": keyring.sign(CRITICAL, "cab-chair@example.com", "cab", "2026-11-21T10:00:00Z",
                                   key_of="engineering-manager@example.com")}]})
    manager = pub(keyring, "engineering-manager@example.com")
    (tmp_path / "governance" / "allowed_signers").write_text(
        f"engineering-manager@example.com {APPROVAL} {manager}\ncab-chair@example.com {APPROVAL} {manager}\n")
    lines = blocking(tmp_path)
    assert ("governance/allowed_signers: line 2: cab-chair@example.com's key is also listed for "
            "engineering-manager@example.com (line 1); one key is one person") in lines[0]
    assert (f"{F}: approvals has no valid signed approval from anyone other than the requester "
            "requester@example.com") in lines


def test_a_pattern_principal_approves_nothing(tmp_path, keyring):
    keyring.write(tmp_path, good())
    (tmp_path / "governance" / "allowed_signers").write_text(
        f"*@example.com {APPROVAL} {pub(keyring, 'team-lead@example.com')}\n")
    assert "*@example.com is a pattern" in blocking(tmp_path)[0]


def test_every_problem_of_allowed_signers_is_its_own_line():
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFake"
    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherOtherOtherOtherOtherOtherOtherOtherOth"
    text = "\n".join([
        "# a comment",
        f"lead@example.com {APPROVAL} {key}",
        f"lead@example.com,cab@example.com {APPROVAL} {other}",
        f"*@example.com {APPROVAL} {other}",
        f"cab@example.com {key}",
        f'cab@example.com namespaces="git" {other}',
        f"cto@example.com cert-authority,{APPROVAL} {other}",
        f"em@example.com {APPROVAL} {key}",
        "nonsense",
        f"ok@example.com {APPROVAL} {other}",
    ])
    shown = "governance/allowed_signers"
    assert signers_lint.lint(text) == [
        f"{shown}: line 3 lists several principals (lead@example.com,cab@example.com); one address per line, one key each",
        f"{shown}: line 4: *@example.com is a pattern, which lets one key sign as many addresses; name one address",
        f'{shown}: line 5: cab@example.com\'s key must be restricted to namespaces="leadgen-change-approval" '
        '(approvers) or "leadgen-promotion-attestation" (the pipeline)',
        f'{shown}: line 6: cab@example.com\'s key must be restricted to namespaces="leadgen-change-approval" '
        '(approvers) or "leadgen-promotion-attestation" (the pipeline)',
        f"{shown}: line 7: cto@example.com is a certificate authority; list the person's own key",
        f"{shown}: line 8: em@example.com's key is also listed for lead@example.com (line 2); one key is one person",
        f"{shown}: line 9 is not an allowed_signers line (address, namespaces=, key type, key)",
    ]


def test_the_repository_file_and_the_tests_keyring_lint_clean(keyring):
    root = pathlib.Path(__file__).resolve().parents[2]
    assert signers_lint.lint((root / "governance" / "allowed_signers").read_text()) == []
    assert signers_lint.lint(keyring.signers_text()) == []


def test_approvals_count_per_key_even_where_addresses_differ():
    # Defence in depth behind the lint: the gate tells people apart by the key that verified.
    loaded = changes.parse(__import__("yaml").safe_dump(CRITICAL), F, "CR-2026-014")
    verdict = compliance.assess(loaded, stack="production", protected=True, at=IN_WINDOW,
                                signatures=("", ""), keys=("SHA256:same", "SHA256:same"))
    assert verdict.messages()[0] == (f"{F}: approvals[1] (cab, cab-chair@example.com) is signed by the key that signed "
                                     "approvals[0] as engineering-manager@example.com (SHA256:same): one key is one "
                                     "person, so it does not count")
    assert f"{F}: risk_level critical needs a cab approval" in verdict.messages()
    fine = compliance.assess(loaded, stack="production", protected=True, at=IN_WINDOW,
                             signatures=("", ""), keys=("SHA256:one", "SHA256:two"))
    assert fine.compliant


def test_the_fingerprint_is_the_signing_keys(tmp_path, keyring):
    keyring.write(tmp_path, good())
    loaded = changes.load(tmp_path, "changes", "CR-2026-014")
    [fingerprint] = approvers.fingerprints(loaded.change, approvers.load(tmp_path))
    assert fingerprint == signing.fingerprint_of(pub(keyring, "team-lead@example.com"))
