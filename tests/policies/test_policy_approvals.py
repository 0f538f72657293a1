"""Signed approvals, tried as a requester in a hurry would try them: every approval must be an SSH
signature by a listed approver holding the role, over the request as it stands now."""
import dataclasses
import datetime as dt
import os
import pathlib

import pytest
import yaml

from crs import F, IN_WINDOW, good
from policy_baseline import context

from governance import approvers, gates

UTC = dt.timezone.utc
NOW = IN_WINDOW
GOOD = good()
CRITICAL = {**GOOD, "risk_level": "critical", "approvals": [
    {"by": "engineering-manager@example.com", "role": "engineering-manager", "at": "2026-11-20T10:00:00Z"},
    {"by": "cab-chair@example.com", "role": "cab", "at": "2026-11-21T10:00:00Z"}]}


def ctx_for(root, *, dry_run=False, now=NOW):
    ctx = context(changeRequest="CR-2026-014", now=now)
    return dataclasses.replace(ctx, project_root=root, dry_run=dry_run)


def blocking(root, **kw) -> list[str]:
    ctx = ctx_for(root, **kw)
    return list(gates.change_request_required([], ctx)) + list(gates.change_window([], ctx))


def test_signed_requests_pass(tmp_path, keyring):
    keyring.write(tmp_path, GOOD)
    assert blocking(tmp_path) == []
    keyring.write(tmp_path, CRITICAL)
    assert blocking(tmp_path) == []


def unsigned_line(role="team-lead", by="team-lead@example.com", index=0):
    return (f"{F}: approvals[{index}] ({role}, {by}) does not count: is not signed (platformctl change approve "
            f"CR-2026-014 --role {role} --key <your ssh key>)")


NONE_VALID = f"{F}: approvals has no valid signed approval from anyone other than the requester requester@example.com"
REQUESTER_UNSIGNED = (f"{F}: approvals[1] (requester, requester@example.com) does not verify: is not signed; the "
                      "requester is whoever's key signed the request (platformctl change approve CR-2026-014 --role "
                      "requester --by requester@example.com --key <your ssh key>)")


def test_an_unsigned_approval_blocks_the_update_and_is_forecast_by_a_preview(tmp_path, keyring):
    keyring.write(tmp_path, GOOD, sign=False)
    assert blocking(tmp_path) == [unsigned_line(), NONE_VALID, REQUESTER_UNSIGNED]
    assert blocking(tmp_path, dry_run=True) == []
    assert list(gates.update_forecast([], ctx_for(tmp_path, dry_run=True))) == [
        f"{unsigned_line()}; the update will be blocked until it is given (platformctl change approve)",
        f"{NONE_VALID}; the update will be blocked until it is given (platformctl change approve)",
        f"{REQUESTER_UNSIGNED}; the update will be blocked until the requester signs",
        "Prometheus is not configured for production (leadgen:governance.prometheusUrl is not set, or was "
        "refused): the update will be blocked unless leadgen:governance.prometheusUrl names the Prometheus that "
        "holds slo_error_budget_remaining"]
    assert list(gates.update_forecast([], ctx_for(tmp_path))) == []  # an update blocks instead


def test_a_signature_by_another_key_is_forged(tmp_path, keyring):
    doc = {**GOOD, "approvals": [{**GOOD["approvals"][0], "signature": keyring.sign(
        GOOD, "team-lead@example.com", "team-lead", "2026-11-20T10:00:00Z", key_of="requester@example.com")}]}
    keyring.write(tmp_path, doc)
    got = blocking(tmp_path)
    assert got[0].startswith(f"{F}: approvals[0] (team-lead, team-lead@example.com) does not count: signature does "
                             "not verify for team-lead@example.com") and got[1:] == [NONE_VALID]


@pytest.mark.parametrize("edit", [{"risk_level": "critical"}, {"stacks": ["production", "staging"]},
                                  {"window": {"start": "2026-12-16T02:00:00Z", "duration": "1h"}},
                                  {"rollback_plan": ["pulumi up on the previous commit, then page the owner"]}])
def test_editing_the_request_after_approval_invalidates_it(tmp_path, keyring, edit):
    signed = keyring.sign(GOOD, "team-lead@example.com", "team-lead", "2026-11-20T10:00:00Z")
    doc = {**GOOD, **edit, "approvals": [{**GOOD["approvals"][0], "signature": signed}]}
    keyring.write(tmp_path, doc)
    assert "signature does not verify" in blocking(tmp_path, now=dt.datetime(2026, 12, 16, 2, 30, tzinfo=UTC)
                                                   if "window" in edit else NOW)[0]


def test_moving_an_approval_to_another_role_or_time_invalidates_it(tmp_path, keyring):
    signed = keyring.sign(GOOD, "engineering-manager@example.com", "engineering-manager", "2026-11-20T10:00:00Z")
    for moved in ({"role": "cto"}, {"at": "2026-11-19T10:00:00Z"}):
        approval = {"by": "engineering-manager@example.com", "role": "engineering-manager",
                    "at": "2026-11-20T10:00:00Z", "signature": signed, **moved}
        keyring.write(tmp_path, {**GOOD, "approvals": [approval]})
        first = blocking(tmp_path)[0]
        assert "does not hold the role cto" in first or "signature does not verify" in first


def test_a_role_the_approver_does_not_hold_does_not_count(tmp_path, keyring):
    keyring.write(tmp_path, {**GOOD, "approvals": [{"by": "cab@example.com", "role": "cto", "at": "2026-11-20T10:00:00Z"}]})
    assert blocking(tmp_path)[0] == (f"{F}: approvals[0] (cto, cab@example.com) does not count: cab@example.com does "
                                     "not hold the role cto in governance/approvers.yaml")


def test_a_key_in_allowed_signers_but_not_in_approvers_yaml_does_not_count(tmp_path, keyring):
    roles = {k: v for k, v in keyring.people.items() if k != "team-lead@example.com"}
    keyring.install(tmp_path, roles=roles)
    keyring.write(tmp_path, GOOD)
    assert blocking(tmp_path)[0] == (f"{F}: approvals[0] (team-lead, team-lead@example.com) does not count: "
                                     "team-lead@example.com is not an approver in governance/approvers.yaml")


def test_one_person_cannot_fill_both_roles_of_a_critical_change(tmp_path, keyring):
    doc = {**CRITICAL, "approvals": [
        {"by": "manager-on-cab@example.com", "role": "engineering-manager", "at": "2026-11-20T10:00:00Z"},
        {"by": "manager-on-cab@example.com", "role": "cab", "at": "2026-11-20T10:05:00Z"}]}
    keyring.write(tmp_path, doc)
    assert blocking(tmp_path) == [
        f"{F}: risk_level critical needs its cab and its team-lead/engineering-manager approvals from two different "
        "people (both are manager-on-cab@example.com)"]


def test_a_duplicated_approval_is_refused(tmp_path, keyring):
    # The same approval appended again (29 times, once) is one person's one approval written twice.
    twice = [{"by": "team-lead@example.com", "role": "team-lead", "at": "2026-11-20T10:00:00Z"},
             {"by": "Team-Lead@Example.com", "role": "team-lead", "at": "2026-11-20T10:01:00Z"}]
    keyring.write(tmp_path, {**CRITICAL, "approvals": twice})
    assert blocking(tmp_path)[0] == (f"{F}: approvals[1] repeats approvals[0] (team-lead by team-lead@example.com); "
                                     "one approval per person and role")


def test_the_requester_cannot_approve_even_with_a_valid_signature(tmp_path, keyring):
    keyring.write(tmp_path, {**GOOD, "approvals": [
        {"by": "requester@example.com", "role": "team-lead", "at": "2026-11-20T10:00:00Z"}]})
    assert blocking(tmp_path) == [
        f"{F}: approvals[0] is by the requester requester@example.com, who approves nothing; remove it",
        f"{F}: approvals has no approval from anyone other than the requester requester@example.com"]


def test_an_approval_dated_next_year_blocks_even_a_preview(tmp_path, keyring):
    keyring.write(tmp_path, {**GOOD, "approvals": [
        {"by": "team-lead@example.com", "role": "team-lead", "at": "2027-11-20T10:00:00Z"}]})
    future = (f"{F}: approvals[0].at 2027-11-20T10:00:00Z is in the future (now 2026-12-15T02:30:00Z); an approval "
              "is dated when it is given")
    assert blocking(tmp_path)[0] == future
    assert blocking(tmp_path, dry_run=True) == [future]


def test_planted_governance_files_are_refused(tmp_path, keyring):
    keyring.write(tmp_path, GOOD)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (tmp_path / "governance" / "allowed_signers").rename(outside / "allowed_signers")
    os.symlink(outside / "allowed_signers", tmp_path / "governance" / "allowed_signers")
    assert blocking(tmp_path)[0] == (
        f"{F}: approvals[0] (team-lead, team-lead@example.com) does not count: cannot be verified "
        "(governance/allowed_signers: is a symbolic link; it must be a file in governance/)")


def test_the_repository_directory_reads_and_lists_no_private_key():
    root = pathlib.Path(__file__).resolve().parents[2]
    directory = approvers.load(root)
    assert directory.problems == () and directory.signers is not None
    assert {"cab", "cto", "engineering-manager", "team-lead"} <= set().union(*directory.roles.values())
    for path in (root / "governance").iterdir():
        assert "PRIVATE KEY" not in path.read_text()
