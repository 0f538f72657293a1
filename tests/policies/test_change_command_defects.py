"""The smaller holes of the change commands, each refused with one line (and nothing written)."""
import datetime as dt

import pytest
import yaml

from test_change_command import fill, init_repo, key, run

from governance import approvers, changes, config

UTC = dt.timezone.utc


@pytest.fixture()
def project(tmp_path, keyring):
    keyring.install(tmp_path)
    init_repo(tmp_path)
    return tmp_path


def test_a_title_with_a_colon_writes_a_request_the_tool_reads(project):
    # `--title "A: B"` once wrote `title: A: B`, YAML the tool then refused.
    assert run(project, "new", "CR-2026-201", "--title", "Scale: api # now", "--requested-by",
               "requester@example.com")[0] == 0
    text = (project / "changes" / "CR-2026-201.yaml").read_text()
    assert yaml.safe_load(text)["title"] == "Scale: api # now"


def test_the_templates_own_placeholders_are_not_a_request(project):
    run(project, "new", "CR-2026-202", "--title", "t", "--requested-by", "requester@example.com")
    code, out, err = run(project, "verify", "CR-2026-202")
    assert code == 1 and "ready" not in out
    loaded = changes.load(project, "changes", "CR-2026-202")
    assert loaded.change is None
    assert set(loaded.problems) == {
        "changes/CR-2026-202.yaml: description is still the template's placeholder text; say what this change does",
        "changes/CR-2026-202.yaml: impact_analysis is still the template's placeholder text; say what this change does",
        "changes/CR-2026-202.yaml: rollback_plan[0] ('Replace this line with the first command or action that undoes "
        "the change') is a placeholder, not a concrete step"}


@pytest.mark.parametrize("bad", ["CR-\u0662\u0660\u0662\u0666-014", "CR-2026-\uff10\uff11\uff14", "CR-2026-014\n"])
def test_ids_are_ascii_digits_and_nothing_after(project, bad):
    assert not config.CHANGE_REQUEST_ID.match(bad)
    code, _, err = run(project, "new", bad, "--title", "t", "--requested-by", "requester@example.com")
    assert code == 1 and "is not a change request ID like CR-2026-014" in err
    assert not (project / "changes").exists() or list((project / "changes").iterdir()) == []


def test_approve_by_someone_who_is_not_an_approver_writes_nothing(project, keyring):
    run(project, "new", "CR-2026-203", "--title", "t", "--requested-by", "requester@example.com")
    path = project / "changes" / "CR-2026-203.yaml"
    fill(path, dt.datetime(2026, 12, 15, 2, tzinfo=UTC))
    before = path.read_bytes()
    (project / "governance" / "approvers.yaml").write_text(yaml.safe_dump({"approvers": {
        "team-lead@example.com": ["team-lead"]}}))
    code, _, err = run(project, "approve", "CR-2026-203", "--role", "cab", "--by", "cab@example.com",
                       "--key", key(keyring, "cab@example.com"))
    assert (code, err) == (1, "platformctl change approve: --by cab@example.com is not an approver in "
                              "governance/approvers.yaml; nothing was written\n")
    code, _, err = run(project, "approve", "CR-2026-203", "--role", "cab", "--by", "team-lead@example.com",
                       "--key", key(keyring, "team-lead@example.com"))
    assert code == 1 and "does not hold the role cab" in err
    # A key that is not the approver's own: the signature does not verify, so nothing is written.
    code, _, err = run(project, "approve", "CR-2026-203", "--role", "team-lead", "--by", "team-lead@example.com",
                       "--key", key(keyring, "cab@example.com"))
    assert code == 1 and "does not verify" in err and err.endswith("nothing was written\n")
    assert path.read_bytes() == before


def test_the_same_approval_twice_is_refused(project, keyring):
    run(project, "new", "CR-2026-204", "--title", "t", "--requested-by", "requester@example.com")
    path = project / "changes" / "CR-2026-204.yaml"
    fill(path, dt.datetime(2026, 12, 15, 2, tzinfo=UTC))
    argv = ("approve", "CR-2026-204", "--role", "team-lead", "--by", "team-lead@example.com",
            "--key", key(keyring, "team-lead@example.com"), "--at", "2026-11-20T10:00:00Z")
    assert run(project, *argv)[0] == 0
    once = path.read_bytes()
    code, _, err = run(project, *argv[:-1], "2026-11-20T10:05:00Z")
    assert (code, err) == (1, "platformctl change approve: approvals[0] is already team-lead@example.com's team-lead "
                              "approval; nothing was written\n")
    assert path.read_bytes() == once


def test_approvers_listed_twice_under_two_spellings_are_refused(project):
    (project / "governance" / "approvers.yaml").write_text(
        "approvers:\n  lead@example.com: [team-lead]\n  Lead@Example.com: [cab]\n")
    directory = approvers.load(project)
    assert directory.problems == ("governance/approvers.yaml: approvers.Lead@Example.com repeats an address listed "
                                  "above (addresses are compared case-folded)",)


def test_dev_and_staging_need_no_signed_approval(project):
    run(project, "new", "CR-2026-205", "--title", "t", "--requested-by", "requester@example.com",
        "--stacks", "dev", "staging")
    fill(project / "changes" / "CR-2026-205.yaml", dt.datetime.now(UTC).replace(microsecond=0))
    code, out, _ = run(project, "verify", "CR-2026-205")
    assert (code, out.splitlines()[-1]) == (0, "CR-2026-205: ready")
    code, out, _ = run(project, "verify", "CR-2026-205", "--stack", "production-dr")
    assert code == 2 and "approvals has no approval from anyone other than the requester" in out
