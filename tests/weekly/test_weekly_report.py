"""`platformctl weekly --stack production`: against recorded answers every section gives its figure
and status; against nothing reachable every section is "not assessed" with its reason and the exit
is non-zero; bad input is one line."""
from __future__ import annotations

import json

import pytest

from weeklykit import FIXTURES, SECTIONS, copy_fixtures, offline_env, sections, weekly, weekly_json

@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    return weekly_json(tmp_path_factory.mktemp("weekly"), "--stack", "production", "--fixtures", str(FIXTURES))


def test_every_section_is_reported_in_the_registry_order(recorded):
    _, doc = recorded
    assert [s["key"] for s in doc["sections"]] == list(SECTIONS)
    assert doc["generated_at"] == "2026-11-30T06:00:00+00:00"  # the recording's time, so figures never drift
    assert doc["since"] == "2026-11-23T06:00:00+00:00"


def test_against_the_recording_every_section_is_assessed_with_its_figure(recorded):
    code, doc = recorded
    for key, s in sections(doc).items():
        assert s["status"] in ("ok", "attention", "action needed") and s["figure"] and s["action"], (key, s)
        assert s["reason"] == ""
    assert doc["counts"] == {"ok": 2, "attention": 3, "action needed": 3, "not assessed": 0}


def test_backups_newest_and_verified_per_database_from_the_manifests(recorded):
    s = sections(recorded[1])["backups"]
    assert s["status"] == "ok"
    assert "insurance_lead_gen: 20261130T020000Z-c1d2e3f4, finished 2026-11-30T02:09:40Z" in s["figure"]
    rows = {r["name"]: r for r in s["rows"]}
    assert rows["insurance_lead_gen: newest backup"]["figure"].endswith("(3.8 h ago; limit 26 h for a 24 h RPO)")
    assert "restored and checked 2026-11-30T05:06:12Z" in rows["insurance_lead_gen: newest verified backup"]["figure"]


def test_certificates_days_to_expiry_against_the_renewal_threshold(recorded):
    s = sections(recorded[1])["certificates"]
    assert (s["status"], s["figure"]) == ("ok", "1 certificate; soonest expiry in 61.3 days (renewal threshold 30 days)")
    assert s["rows"] == [{"name": "envoy-gateway-system/api-tls", "status": "ok",
                          "figure": "expires in 61.3 days (renewal from 30 days, alert at 21 days)"}]


def test_kubernetes_version_against_the_calendar_and_addons_behind(recorded):
    s = sections(recorded[1])["kubernetes"]
    assert s["status"] == "attention"
    assert s["figure"] == ("Kubernetes 1.35: 117 days of standard support left (until 2027-03-27); "
                           "1 add-on pin behind")
    rows = {r["name"]: r for r in s["rows"]}
    assert rows["add-on kube-proxy"] == {"name": "add-on kube-proxy", "status": "attention",
                                         "figure": "pinned v1.35.3-eksbuild.13, newest v1.35.3-eksbuild.15"}
    assert rows["next version"]["figure"].startswith("1.36 (standard support until 2027-08-02")


def test_slos_compliance_budget_week_on_week_and_matrix_row(recorded):
    s = sections(recorded[1])["slos"]
    assert (s["status"], s["figure"]) == ("attention", "4 SLOs; lowest budget 45.0 % (backend-latency, matrix: optimize)")
    rows = {r["name"]: r for r in s["rows"]}
    assert rows["api-availability"] == {
        "name": "api-availability", "status": "ok",
        "figure": "99.962 % compliant (objective 99.9 %), 62.0 % budget left, -9.0 points on the week; matrix: monitor"}
    assert rows["backend-latency"]["figure"].endswith("matrix: optimize, approval: team-lead")


def test_changes_judged_as_the_history_audit_judges_them(recorded):
    s = sections(recorded[1])["changes"]
    # The refresh does not count, the update of 11-18 is before the week; CR-2026-014 has no signed approval.
    assert (s["status"], s["figure"]) == ("action needed", "1 update, 1 non-compliant")
    assert s["rows"][0]["name"] == "update v212"
    assert "is not signed" in s["rows"][0]["figure"] and "outside the window" in s["rows"][0]["figure"]


def test_exit_code_names_the_worst(recorded):
    code, doc = recorded
    assert doc["status"] == "action needed" and code == doc["exit_code"] == 2


def test_nothing_reachable_makes_every_section_not_assessed_with_its_reason(tmp_path):
    code, doc = weekly_json(tmp_path, "--stack", "production", "--timeout", "2")
    assert code == 3 and doc["status"] == "not assessed"
    got = sections(doc)
    assert set(got) == set(SECTIONS)
    for key, s in got.items():
        assert s["status"] == "not assessed" and s["reason"], key
    assert got["changes"]["reason"] == "pulumi stack history: the pulumi CLI is not on PATH"
    assert got["backups"]["reason"] == "pulumi stack output: the pulumi CLI is not on PATH"
    assert "Prometheus" in got["slos"]["reason"] or "pulumi" in got["slos"]["reason"]


def test_a_source_missing_from_the_recording_is_not_assessed_not_a_pass(tmp_path):
    fixtures = copy_fixtures(tmp_path)
    (fixtures / "prometheus" / "query.certificates.json").unlink()
    code, doc = weekly_json(tmp_path, "--stack", "production", "--fixtures", str(fixtures))
    s = sections(doc)["certificates"]
    assert s["status"] == "not assessed"
    assert s["reason"].startswith("prometheus query: no recorded answer in ")
    assert code == 2  # changes still needs action: action outranks not assessed


@pytest.mark.parametrize("args, line", [
    (("--stack", "production", "--since", "last monday"),
     "platformctl weekly: --since 'last monday' is not a date YYYY-MM-DD (or an ISO 8601 time with its zone)"),
    (("--stack", "production", "--since", "2026-12-01"),
     "platformctl weekly: --since 2026-12-01 is not before the report's time 2026-11-30T06:00:00+00:00"),
    (("--stack", "nosuch"), "platformctl weekly: unknown stack 'nosuch': no Pulumi.nosuch.yaml (stacks: "),
])
def test_bad_input_is_one_line(tmp_path, args, line):
    done = weekly(tmp_path, *args, "--fixtures", str(FIXTURES))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith(line) and done.stderr.count("\n") == 1, done.stderr


def test_a_malformed_fixture_is_one_line_naming_the_file_and_nothing_is_written(tmp_path):
    fixtures = copy_fixtures(tmp_path)
    broken = fixtures / "s3" / "ListObjectsV2.json"
    broken.write_text(broken.read_text()[:-40])
    out = tmp_path / "weekly.md"
    done = weekly(tmp_path, "--stack", "production", "--fixtures", str(fixtures), "--out", str(out))
    assert done.returncode == 1 and not out.exists() and not list(tmp_path.glob(".weekly.md*"))
    assert done.stderr.startswith(f"platformctl weekly: {broken}: not a recorded answer: ")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_a_fixture_with_duplicate_keys_is_refused(tmp_path):
    fixtures = copy_fixtures(tmp_path)
    (fixtures / "pulumi" / "stack-output.json").write_text('{"backupBucket": "a", "backupBucket": "b"}')
    done = weekly(tmp_path, "--stack", "production", "--fixtures", str(fixtures))
    assert done.returncode == 1 and "duplicate key 'backupBucket'" in done.stderr


def test_fixtures_come_from_the_environment_too(tmp_path):
    code, doc = weekly_json(tmp_path, "--stack", "production",
                            env=offline_env(tmp_path, LEADGEN_WEEKLY_FIXTURES=str(FIXTURES)))
    assert sections(doc)["certificates"]["status"] == "ok" and doc["source"].startswith("recorded answers in ")


def test_an_answer_in_a_shape_the_section_cannot_read_is_not_assessed(tmp_path):
    fixtures = copy_fixtures(tmp_path)
    path = fixtures / "prometheus" / "query.slo-budget.json"
    doc = json.loads(path.read_text())
    doc["response"]["data"]["result"][0]["value"][1] = True
    path.write_text(json.dumps(doc))
    _, report = weekly_json(tmp_path, "--stack", "production", "--fixtures", str(fixtures))
    s = sections(report)["slos"]
    assert s["status"] == "not assessed" and s["reason"] == ('the SLO store returned slo_error_budget_remaining{slo_name="api-availability"} = true, not a number')
