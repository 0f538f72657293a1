"""Approval and attestation signatures, made and checked by the real ssh-keygen."""
from __future__ import annotations

import datetime as dt
import pathlib
import subprocess

import pytest

from governance import signing

AT = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.timezone.utc)
DOC = {"id": "CR-2026-014", "title": "API service scaling", "risk_level": "low",
       "window": {"start": dt.datetime(2026, 12, 15, 2, 0, tzinfo=dt.timezone.utc), "duration": "1h"},
       "approvals": [{"by": "lead@example.com", "role": "team-lead"}]}


def _key(tmp: pathlib.Path, name: str) -> pathlib.Path:
    key = tmp / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True)
    return key


@pytest.fixture()
def keys(tmp_path):
    lead, other = _key(tmp_path, "lead"), _key(tmp_path, "other")
    signers = tmp_path / "allowed_signers"
    signers.write_text(
        f'lead@example.com namespaces="{signing.APPROVAL_NAMESPACE}" {(tmp_path / "lead.pub").read_text()}')
    return lead, other, signers


def _verify(message, sig, signers, identity="lead@example.com", ns=signing.APPROVAL_NAMESPACE):
    return signing.verify(message, sig, identity=identity, allowed_signers=signers, namespace=ns)


def test_a_signed_approval_verifies(keys):
    lead, _, signers = keys
    message = signing.approval_message(DOC, by="lead@example.com", role="team-lead", at=AT)
    sig = signing.sign(message, key_file=lead, namespace=signing.APPROVAL_NAMESPACE)
    assert sig.startswith(signing.SIGNATURE_HEADER)
    verdict = _verify(message, sig, signers)
    assert (verdict.ok, verdict.reason) == (True, "") and verdict.fingerprint.startswith("SHA256:")


def test_the_message_ignores_approvals_and_key_order():
    reordered = dict(reversed(list(DOC.items())), approvals=[])
    assert (signing.approval_message(DOC, by="a@x.io", role="cab", at=AT)
            == signing.approval_message(reordered, by="a@x.io", role="cab", at=AT))
    assert b'"start":"2026-12-15T02:00:00Z"' in signing.canonical_json(DOC)


@pytest.mark.parametrize("change", [
    {"risk_level": "critical"},                       # the request edited after the approval
    {"window": {"start": "2027-01-01T00:00:00Z", "duration": "1h"}},
])
def test_editing_the_request_after_approval_invalidates_it(keys, change):
    lead, _, signers = keys
    sig = signing.sign(signing.approval_message(DOC, by="lead@example.com", role="team-lead", at=AT),
                       key_file=lead, namespace=signing.APPROVAL_NAMESPACE)
    edited = signing.approval_message({**DOC, **change}, by="lead@example.com", role="team-lead", at=AT)
    verdict = _verify(edited, sig, signers)
    assert not verdict.ok and "does not verify for lead@example.com" in verdict.reason


def test_moving_an_approval_to_another_role_invalidates_it(keys):
    lead, _, signers = keys
    sig = signing.sign(signing.approval_message(DOC, by="lead@example.com", role="team-lead", at=AT),
                       key_file=lead, namespace=signing.APPROVAL_NAMESPACE)
    assert not _verify(signing.approval_message(DOC, by="lead@example.com", role="cab", at=AT), sig, signers).ok


def test_a_key_not_listed_for_the_identity_is_refused(keys):
    _, other, signers = keys
    message = signing.approval_message(DOC, by="lead@example.com", role="team-lead", at=AT)
    forged = signing.sign(message, key_file=other, namespace=signing.APPROVAL_NAMESPACE)
    assert not _verify(message, forged, signers).ok


def test_a_signature_for_another_namespace_is_refused(keys):
    lead, _, signers = keys
    message = signing.approval_message(DOC, by="lead@example.com", role="team-lead", at=AT)
    sig = signing.sign(message, key_file=lead, namespace=signing.ATTESTATION_NAMESPACE)
    assert not _verify(message, sig, signers).ok


@pytest.mark.parametrize("sig, identity, reason", [
    ("N/A", "lead@example.com", "is not an SSH signature"),
    (signing.SIGNATURE_HEADER, "*", "is not a plain principal"),
    (signing.SIGNATURE_HEADER, "a b", "is not a plain principal"),
])
def test_malformed_signatures_and_identities(keys, sig, identity, reason):
    _, _, signers = keys
    verdict = _verify(b"m", sig, signers, identity=identity)
    assert not verdict.ok and reason in verdict.reason


def test_missing_allowed_signers_is_a_refusal(tmp_path):
    verdict = signing.verify(b"m", signing.SIGNATURE_HEADER, identity="a@x.io",
                             allowed_signers=tmp_path / "nope", namespace=signing.APPROVAL_NAMESPACE)
    assert verdict == signing.Verdict(False, "nope not found")


def test_signing_with_a_missing_key_is_one_line(tmp_path):
    with pytest.raises(signing.SigningError, match="could not sign with"):
        signing.sign(b"m", key_file=tmp_path / "absent", namespace=signing.APPROVAL_NAMESPACE)


def test_fingerprint_of_a_public_key(keys, tmp_path):
    assert signing.fingerprint_of((tmp_path / "lead.pub").read_text()).startswith("SHA256:")
    assert signing.fingerprint_of("not a key") is None
