"""`platformctl change new --description --impact --rollback`: a runbook opens a request it can sign
at once, instead of editing the template with sed; what no flag gives stays the template's text,
which the parser (and so `verify` and the gates) refuses."""
from test_change_command import project, run  # noqa: F401 (project: the fixture)

from governance import changes


def test_the_flags_fill_the_request_and_each_rollback_flag_is_a_step(project):
    code, out, err = run(project, "new", "CR-2026-108", "--title", "Roll api back: 5xx", "--requested-by",
                         "oncall@example.com", "--description", "workloads.api.tag 2.13.0: the previous release",
                         "--impact", 'api pods roll one at a time: "no" downtime',
                         "--rollback", "Set workloads.api.tag back to the release tag", "--rollback", "pulumi up")
    assert code == 0, err
    loaded = changes.load(project, "changes", "CR-2026-108")
    assert loaded.problems == ()
    change = loaded.change
    assert (change.description, change.impact_analysis, change.rollback_plan) == (
        "workloads.api.tag 2.13.0: the previous release", 'api pods roll one at a time: "no" downtime',
        ("Set workloads.api.tag back to the release tag", "pulumi up"))
    assert "fill in" not in out and "--role requester --by oncall@example.com" in out


def test_without_the_flags_the_template_text_is_still_refused(project):
    code, out, _ = run(project, "new", "CR-2026-109", "--title", "t", "--requested-by", "oncall@example.com",
                       "--description", "Raise the API's minimum replicas to 5")
    assert code == 0 and "fill in impact_analysis, rollback_plan," in out
    problems = changes.load(project, "changes", "CR-2026-109").problems
    assert problems == (
        "changes/CR-2026-109.yaml: impact_analysis is still the template's placeholder text; say what this change does",
        "changes/CR-2026-109.yaml: rollback_plan[0] ('Replace this line with the first command or action that undoes "
        "the change') is a placeholder, not a concrete step")


def test_an_empty_flag_is_one_line_and_nothing_is_written(project):
    assert run(project, "new", "CR-2026-110", "--title", "t", "--requested-by", "oncall@example.com",
               "--description", "  ") == (
        1, "", "platformctl change new: --description must not be empty; say what this change does\n")
    assert run(project, "new", "CR-2026-110", "--title", "t", "--requested-by", "oncall@example.com",
               "--rollback", "") == (
        1, "", "platformctl change new: --rollback must not be empty; give the first command or action that undoes "
               "the change\n")
    assert not (project / "changes" / "CR-2026-110.yaml").exists()
