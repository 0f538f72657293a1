"""Who asked for a change is the key that signed the request, not the text of `requested_by`.

`requested_by` was free text: a team lead approved their own change by writing someone else's
address there, and the audit trail recorded that address as fact. Now the requester signs the
request (`platformctl change approve --role requester`), the gate takes the requester to be that
signature's key, an approval by that key counts for nothing whatever address it carries, and a
protected update without the signature waits for it (a preview forecasts it). Dev and staging are
unchanged: they need no change request at all."""
import dataclasses
import pathlib

import yaml

from crs import F, IN_WINDOW, REQUESTER_SIGNS, good
from policy_baseline import context
from test_change_command import fill, key, project, run  # noqa: F401 (project: the fixture)

from governance import approvers, changes, compliance, gates, signing

SIGN = ("platformctl change approve CR-2026-014 --role requester --by {by} --key <your ssh key>")


def ctx_for(root, *, dry_run=False, stack="production"):
    ctx = context(stack, changeRequest="CR-2026-014", now=IN_WINDOW)
    return dataclasses.replace(ctx, project_root=root, dry_run=dry_run)


def blocking(root, **kw) -> list[str]:
    ctx = ctx_for(root, **kw)
    return list(gates.change_request_required([], ctx)) + list(gates.change_window([], ctx))


def fingerprint(keyring, who) -> str:
    return signing.fingerprint_of(pathlib.Path(str(keyring.keys[who]) + ".pub").read_text())


def missing(by="requester@example.com") -> str:
    return (f"{F}: requested_by {by} has not signed the request, so who asked is not established; the requester "
            f"signs it first ({SIGN.format(by=by)})")


def test_the_baseline_is_signed_by_its_requester_and_passes(tmp_path, keyring):
    keyring.write(tmp_path, good())
    assert blocking(tmp_path) == []
    verdict = gates.assess(ctx_for(tmp_path))
    assert verdict.requester.by == "requester@example.com"
    assert verdict.requester_key == fingerprint(keyring, "requester@example.com")
    assert verdict.requester_shown == f"requester@example.com (key {verdict.requester_key})"


def test_a_team_lead_naming_someone_else_as_requester_cannot_approve_their_own_change(tmp_path, keyring):
    # The team lead wrote the change, put dev's address in requested_by and approved it. They
    # cannot sign as dev: a requester entry under dev's address signed with their key is forged.
    doc = good(requested_by="dev@example.com", requester_signs=False)
    at = REQUESTER_SIGNS["at"]
    doc["approvals"].append({"by": "dev@example.com", "role": "requester", "at": at, "signature": keyring.sign(
        doc, "dev@example.com", "requester", at, key_of="team-lead@example.com")})
    keyring.write(tmp_path, doc)
    [line] = blocking(tmp_path)
    assert line.startswith(f"{F}: approvals[1] (requester, dev@example.com) does not verify: signature does not "
                           "verify for dev@example.com")
    assert line.endswith(f"the requester is whoever's key signed the request ({SIGN.format(by='dev@example.com')})")
    # Without any requester entry the update is blocked just the same, naming the command.
    keyring.write(tmp_path, good(requested_by="dev@example.com", requester_signs=False), requester=False)
    assert blocking(tmp_path) == [missing("dev@example.com")]


def test_a_missing_requester_signature_is_forecast_by_a_preview_and_blocks_the_update(tmp_path, keyring):
    keyring.write(tmp_path, good(requester_signs=False), requester=False)
    assert blocking(tmp_path) == [missing()]
    assert blocking(tmp_path, dry_run=True) == []
    forecast = list(gates.update_forecast([], ctx_for(tmp_path, dry_run=True)))
    assert forecast[0] == f"{missing()}; the update will be blocked until the requester signs"


def test_the_requesters_key_approves_nothing_under_any_address():
    loaded = changes.parse(yaml.safe_dump(good()), F, "CR-2026-014")
    same = "SHA256:one-key-one-person"
    verdict = compliance.assess(loaded, stack="production", protected=True, at=IN_WINDOW, signatures=("",),
                                keys=(same,), requester=("", same))
    assert verdict.approvals == ()
    assert [(f.message, f.deferrable) for f in verdict.findings] == [
        (f"{F}: approvals[0] (team-lead, team-lead@example.com) is signed by the requester's key ({same}, which "
         "signed approvals[1] as requester@example.com): the requester approves nothing, so it does not count", False)]
    # Another key under the same addresses counts as before.
    other = compliance.assess(loaded, stack="production", protected=True, at=IN_WINDOW, signatures=("",),
                              keys=("SHA256:the-team-leads",), requester=("", same))
    assert other.compliant and [a.by for a in other.approvals] == ["team-lead@example.com"]


def test_an_approval_by_the_requesters_address_in_another_case_still_counts_for_nothing(tmp_path, keyring):
    doc = good(approvals=[{"by": "Requester@Example.com", "role": "team-lead", "at": "2026-11-20T10:00:00Z"}])
    verdict = compliance.assess(changes.parse(yaml.safe_dump(doc), F, "CR-2026-014"), stack="production",
                                protected=True, at=IN_WINDOW)
    assert verdict.approvals == ()
    assert f"{F}: approvals[0] is by the requester requester@example.com, who approves nothing; remove it" in \
        verdict.messages()


def test_dev_and_staging_need_no_requester_signature(tmp_path, keyring):
    keyring.write(tmp_path, good(stacks=["dev", "staging"], requester_signs=False), requester=False)
    for stack in ("dev", "staging"):
        assert blocking(tmp_path, stack=stack) == []


def test_a_request_carries_one_requester_entry_signed_as_requested_by():
    second = good(approvals=[dict(REQUESTER_SIGNS), dict(REQUESTER_SIGNS)])
    assert changes.parse(yaml.safe_dump(second), F, "CR-2026-014").problems == (
        f"{F}: approvals[1] repeats approvals[0] (the requester's signature); a request has one requester",)
    other = good(approvals=[{**REQUESTER_SIGNS, "by": "dev@example.com"}])
    assert changes.parse(yaml.safe_dump(other), F, "CR-2026-014").problems == (
        f"{F}: approvals[0].by dev@example.com signs as requester but requested_by is requester@example.com; the "
        "requester's entry is signed by requested_by",)


# --- the command: platformctl change approve --role requester -------------------------------------------
def test_the_requester_signs_with_change_approve_and_show_and_verify_say_so(project, keyring):
    run(project, "new", "CR-2026-107", "--title", "API scaling", "--requested-by", "oncall@example.com")
    path = project / "changes" / "CR-2026-107.yaml"
    import datetime as dt
    fill(path, dt.datetime.now(dt.timezone.utc).replace(microsecond=0))
    before = path.read_text()
    # Only requested_by signs as requester, and nothing is written otherwise.
    assert run(project, "approve", "CR-2026-107", "--role", "requester", "--by", "team-lead@example.com",
               "--key", key(keyring, "team-lead@example.com"))[2] == (
        "platformctl change approve: --by team-lead@example.com is not CR-2026-107's requested_by "
        "(oncall@example.com); only the requester signs as requester; nothing was written\n")
    # Someone else's key under the requester's address does not verify: nothing is written.
    code, _, err = run(project, "approve", "CR-2026-107", "--role", "requester", "--by", "oncall@example.com",
                       "--key", key(keyring, "team-lead@example.com"))
    assert code == 1 and "does not verify for oncall@example.com" in err and path.read_text() == before
    code, out, _ = run(project, "verify", "CR-2026-107", "--stack", "production")
    assert code == 2 and "  NO requester: requested_by oncall@example.com has not signed the request" in out
    # The on-call engineer holds no approver role: a key in allowed_signers is all a requester needs.
    code, out, _ = run(project, "approve", "CR-2026-107", "--role", "requester", "--by", "oncall@example.com",
                       "--key", key(keyring, "oncall@example.com"))
    fp = fingerprint(keyring, "oncall@example.com")
    assert code == 0 and out.endswith(f"verified against governance/allowed_signers (key {fp})\n")
    assert run(project, "approve", "CR-2026-107", "--role", "requester", "--by", "oncall@example.com",
               "--key", key(keyring, "oncall@example.com"))[2] == (
        "platformctl change approve: approvals[0] is already the requester's signature; a request has one; nothing "
        "was written\n")
    assert run(project, "approve", "CR-2026-107", "--role", "team-lead", "--by", "team-lead@example.com",
               "--key", key(keyring, "team-lead@example.com"))[0] == 0
    code, out, _ = run(project, "verify", "CR-2026-107", "--stack", "production")
    assert f"  ok approvals[0] requester by oncall@example.com at " in out and f"(key {fp})" in out
    assert (code, out.splitlines()[-1]) == (0, "CR-2026-107: ready")
    _, shown, _ = run(project, "show", "CR-2026-107")
    assert f"requester: oncall@example.com, signature verified (key {fp})" in shown.splitlines()
    loaded = changes.load(project, "changes", "CR-2026-107")
    assert [a.role for a in loaded.change.approvals] == ["team-lead"]
    assert approvers.requester(loaded.change, approvers.load(project)) == ("", fp)
