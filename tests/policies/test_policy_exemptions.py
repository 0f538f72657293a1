"""Exemptions applied inside the pack, so the Pulumi CLI blocks on exactly what platformctl does."""
import datetime as dt
import pathlib
import shutil

from governance import exemptions

from platformctl.policy_client import PolicyClient
from policy_baseline import PROJECT, STACK, baseline, set_path, urn

REPO = pathlib.Path(__file__).resolve().parents[2]
ENTRY = """\
exemptions:
  - policy: aws-rds-not-publicly-accessible
    urn: "urn:pulumi:*::leadgen::aws:rds/instance:Instance::leads"
    reason: Migration host reaches the database over its public endpoint until the VPN exists.
    ticket: SEC-2026-077
    change_request: CR-2026-014
    expires: "{expires}"
"""


def test_an_exemption_covers_its_policy_and_urn_until_its_last_day(tmp_path):
    path = tmp_path / "exemptions.yaml"
    path.write_text(ENTRY.format(expires="2026-12-31"))
    found = exemptions.load(path)
    leads = urn("aws:rds/instance:Instance", "leads")
    assert found.problems == () and len(found.entries) == 1
    assert found.covers("aws-rds-not-publicly-accessible", leads, dt.date(2026, 12, 31))
    assert not found.covers("aws-rds-not-publicly-accessible", leads, dt.date(2027, 1, 1))
    assert not found.covers("aws-rds-storage-encrypted", leads, dt.date(2026, 12, 1))
    assert not found.covers("aws-rds-not-publicly-accessible", leads.replace("leads", "other"), dt.date(2026, 12, 1))


def test_an_unreadable_file_exempts_nothing_and_says_why(tmp_path):
    path = tmp_path / "exemptions.yaml"
    path.write_text(ENTRY.format(expires="2026-12-31").replace('"2026-12-31"', "2026-12-31"))
    found = exemptions.load(path)
    assert found.entries == () and found.problems == (
        'exemptions.yaml: exemptions[0].expires is an unquoted date or time (2026-12-31); quote it: "2026-12-31"; '
        "no exemption applies",)


def test_the_repository_file_reads():
    assert exemptions.load().problems == ()


def test_the_pack_started_as_the_cli_starts_it_applies_exemptions(tmp_path):
    shutil.copytree(REPO / "policies", tmp_path / "policies", ignore=shutil.ignore_patterns("__pycache__", "venv"))
    far = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    (tmp_path / "policies" / "exemptions.yaml").write_text(ENTRY.format(expires=far))
    resources = baseline()
    set_path(resources, "aws:rds/instance:Instance", "leads", "publiclyAccessible", True)
    cfg = {"aws:region": "us-east-1", "leadgen:governance.protectedStacks": "[]"}
    with PolicyClient(tmp_path / "policies", project=PROJECT, stack="dev", config=cfg) as client:
        assert [v.policy for v in client.analyze(resources)] == []
    (tmp_path / "policies" / "exemptions.yaml").write_text(ENTRY.format(expires="2026-01-01"))
    with PolicyClient(tmp_path / "policies", project=PROJECT, stack="dev", config=cfg) as client:
        assert [v.policy for v in client.analyze(resources)] == ["aws-rds-not-publicly-accessible"]


GATE_ENTRY = """\
exemptions:
  - policy: {policy}
    urn: "*"
    reason: Ship it.
    ticket: SEC-1
    change_request: {cr}
    expires: "{expires}"
"""


def test_no_exemption_covers_a_gate_or_runs_for_good_or_names_no_change_request(tmp_path):
    # Entries for the gate policies with urn "*" and expires 9999-12-31 once gave 0 mandatory
    # findings on an update with no change request.
    path = tmp_path / "exemptions.yaml"
    today = dt.date(2026, 12, 3)
    soon = (today + dt.timedelta(days=30)).isoformat()
    cases = {
        ("change-request-required", "CR-2026-014", soon):
            "exemptions.yaml: exemption #1 (change-request-required): change-request-required decides whether an "
            "update may run at all; no exemption covers it (use an emergency change request instead)",
        ("error-budget-gate", "CR-2026-014", soon):
            "exemptions.yaml: exemption #1 (error-budget-gate): error-budget-gate decides whether an update may run "
            "at all; no exemption covers it (use an emergency change request instead)",
        ("aws-rds-not-publicly-accessible", "CR-2026-014", "9999-12-31"):
            'exemptions.yaml: exemption #1 (aws-rds-not-publicly-accessible): "expires" 9999-12-31 is more than 90 '
            "days ahead; an exemption is renewed through review, never granted for good",
        ("aws-rds-not-publicly-accessible", "SEC-1", soon):
            "exemptions.yaml: exemption #1 (aws-rds-not-publicly-accessible): \"change_request\" ('SEC-1') must name "
            "the change request that accepted the risk, like CR-2026-014",
    }
    for (policy, cr, expires), line in cases.items():
        path.write_text(GATE_ENTRY.format(policy=policy, cr=cr, expires=expires))
        found = exemptions.load(path, today)
        assert found.entries == () and found.problems == (line,)
        assert not found.covers(policy, urn("pulumi:pulumi:Stack", "leadgen-production"), today)
    path.write_text(GATE_ENTRY.format(policy="aws-rds-not-publicly-accessible", cr="CR-2026-014", expires=soon))
    assert len(exemptions.load(path, today).entries) == 1
