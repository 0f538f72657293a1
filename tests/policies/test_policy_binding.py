"""An approval binds to what ships: the program commit and the stack's resolved config it signed.
A program commit made after the signature, or an edited stack file, once shipped under it."""
import datetime as dt
import shutil
import subprocess

import pytest

from test_change_command import REPO, fill, init_repo, key, run, update

UTC = dt.timezone.utc
GIT = ["-c", "user.email=t@example.com", "-c", "user.name=t"]


def commit(root, message, *paths):
    subprocess.run(["git", "-C", str(root), *GIT, "add", *(paths or ("-A",))], check=True)
    subprocess.run(["git", "-C", str(root), *GIT, "commit", "-q", "-m", message], check=True)
    return subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture()
def approved(tmp_path, keyring):
    """A signed, in-window request approved at the program's commit, the pack beside it."""
    keyring.install(tmp_path)
    head = init_repo(tmp_path)
    shutil.copytree(REPO / "policies", tmp_path / "policies", ignore=shutil.ignore_patterns("__pycache__", "venv"))
    (tmp_path / ".git" / "info" / "exclude").write_text("policies/\n")
    run(tmp_path, "new", "CR-2026-301", "--title", "API scaling", "--requested-by", "requester@example.com")
    fill(tmp_path / "changes" / "CR-2026-301.yaml", (dt.datetime.now(UTC) - dt.timedelta(minutes=5)).replace(microsecond=0))
    assert run(tmp_path, "approve", "CR-2026-301", "--role", "team-lead", "--by", "team-lead@example.com",
               "--key", key(keyring, "team-lead@example.com"))[0] == 0
    return tmp_path, head


def binding(got):
    return [(level, message) for policy, level, message in got if policy.startswith("approval-binding")]


def test_the_approved_commit_and_a_descendant_changing_only_the_evidence_pass(approved):
    root, _ = approved
    assert binding(update(root, dry_run=False, change_id="CR-2026-301")) == []
    commit(root, "the approvals", "changes")  # changes/ only: still the approved program
    assert binding(update(root, dry_run=False, change_id="CR-2026-301")) == []


def test_a_program_commit_made_after_the_approval_is_refused(approved):
    root, head = approved
    (root / "__main__.py").write_text("print('not what was approved')\n")
    new = commit(root, "slipped in after the signature", "__main__.py")
    got = binding(update(root, dry_run=False, change_id="CR-2026-301"))
    assert got == [("mandatory", f"changes/CR-2026-301.yaml: approvals[0] (team-lead, team-lead@example.com) signed "
                                 f"commit {head[:12]}; the commit that runs ({new[:12]}) changes __main__.py since: "
                                 "only changes/ and attestations/ may change after an approval")]
    # A preview says so, without blocking.
    assert [level for level, _ in binding(update(root, dry_run=True, change_id="CR-2026-301"))] == ["advisory"]


def test_a_stack_config_switched_after_the_approval_is_refused(approved):
    root, _ = approved
    got = binding(update(root, dry_run=False, change_id="CR-2026-301",
                         extra={"leadgen:workloads.api.tag": "9.9.9-unsoaked"}))
    assert len(got) == 1 and got[0][0] == "mandatory"
    assert got[0][1].startswith("changes/CR-2026-301.yaml: approvals[0] (team-lead, team-lead@example.com) signed "
                                "production's config sha256:")
    assert got[0][1].endswith("(its config changed since the approval)")


def test_an_approval_that_binds_no_commit_is_refused(approved, keyring):
    import yaml

    root, _ = approved
    path = root / "changes" / "CR-2026-301.yaml"
    doc = yaml.safe_load(path.read_text())
    approval = doc["approvals"][0]
    # Signed as before: over the request's text only.
    doc["approvals"] = [{k: approval[k] for k in ("by", "role", "at")}]
    doc["approvals"][0]["signature"] = keyring.sign(doc, "team-lead@example.com", "team-lead", approval["at"])
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    assert binding(update(root, dry_run=False, change_id="CR-2026-301")) == [
        ("mandatory", "changes/CR-2026-301.yaml: approvals[0] (team-lead, team-lead@example.com) binds no program "
                      "commit; sign it with platformctl change approve, which records the commit and the stack's "
                      "config digest")]


def test_a_key_added_with_the_request_it_approves_counts_for_nothing(tmp_path, keyring):
    # Whoever can commit could list a key of their own for an approver's address and sign as them.
    keyring.install(tmp_path)
    signers = tmp_path / "governance" / "allowed_signers"
    others = [a for a in keyring.people if a != "team-lead@example.com"]
    signers.write_text(keyring.signers_text(others))  # main knows no team-lead key yet
    init_repo(tmp_path)
    shutil.copytree(REPO / "policies", tmp_path / "policies", ignore=shutil.ignore_patterns("__pycache__", "venv"))
    (tmp_path / ".git" / "info" / "exclude").write_text("policies/\n")
    signers.write_text(keyring.signers_text())  # ...and the request's commit adds one
    run(tmp_path, "new", "CR-2026-302", "--title", "API scaling", "--requested-by", "requester@example.com")
    fill(tmp_path / "changes" / "CR-2026-302.yaml", (dt.datetime.now(UTC) - dt.timedelta(minutes=5)).replace(microsecond=0))
    commit(tmp_path, "request and a key for its approver", "changes", "governance")
    assert run(tmp_path, "approve", "CR-2026-302", "--role", "team-lead", "--by", "team-lead@example.com",
               "--key", key(keyring, "team-lead@example.com"))[0] == 0
    commit(tmp_path, "the approval", "changes")
    got = binding(update(tmp_path, dry_run=False, change_id="CR-2026-302"))
    assert len(got) == 1 and got[0][0] == "mandatory", got
    assert "was not in governance/allowed_signers for team-lead@example.com at the parent of the request's first " \
           "commit" in got[0][1] and got[0][1].endswith("a key must be on main before the request it approves")
