"""Every report format produced and read back: SARIF against its schema, JUnit and CSV parsed,
Markdown under GitHub's comment limit, HTML opened in headless Chromium."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import pathlib
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from auditkit import Violation
from platformctl import reports
from platformctl.exemptions import Exemption
from platformctl.reports.text import GITHUB_COMMENT_LIMIT

SCHEMAS = pathlib.Path(__file__).resolve().parents[3] / "shared" / "schemas"
URN = "urn:pulumi:production::leadgen::aws:s3/bucket:Bucket::{}"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def sample(n_violations: int = 3) -> reports.Report:
    levels = ("mandatory", "advisory")
    violations = [Violation(f"policy-{i % 4}", levels[i % 2], URN.format(f"b{i}"),
                            f"bucket b{i} <is> \"bad\" & | odd, with a comma", ("high", "low", "critical")[i % 3])
                  for i in range(n_violations)]
    exemption = Exemption("policy-9", URN.format("legacy*"), "migration under way", "SEC-7", dt.date(2026, 9, 30))
    exempted = [(Violation("policy-9", "mandatory", URN.format("legacy-1"), "public bucket"), exemption)]
    change = reports.ChangeEvidence(version=7, kind="update", start=dt.datetime(2026, 3, 2, 2, 10, tzinfo=dt.timezone.utc),
                                    end=None, result="succeeded", change_request="CR-2026-001",
                                    requester="a@x.com", approver="b@x.com", independently_approved=True,
                                    rollback_plan=True, in_window=True)
    bad_change = reports.ChangeEvidence(version=8, kind="update", start=dt.datetime(2026, 3, 3, tzinfo=dt.timezone.utc),
                                        end=None, result="succeeded", change_request="", problems=("no change request",))
    cost = reports.CostView(total_usd=1234.5, baseline_usd=1000.0, baseline_source="last-month.json", items=(
        reports.CostItem("network", "urn:a", "aws:ec2/natGateway:NatGateway", 98.55),
        reports.CostItem("cluster", "urn:b", "aws:eks/cluster:Cluster", 1135.95)))
    return reports.Report(stack="production", project="leadgen", kind="audit",
                          generated_at=dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.timezone.utc),
                          resource_count=42, violations=violations, exemptions=[exemption], exempted=exempted,
                          cost=cost, changes=[change, bad_change], period=(dt.date(2026, 3, 1), dt.date(2026, 3, 31)))


def test_json_lists_violations_with_the_four_fields():
    data = json.loads(reports.render(sample(), "json"))
    # Worst first: mandatory before advisory, then critical before high.
    assert data["violations"][0] == {"policy": "policy-2", "level": "mandatory", "urn": URN.format("b2"),
                                     "message": 'bucket b2 <is> "bad" & | odd, with a comma'}
    assert [v["policy"] for v in data["violations"]] == ["policy-2", "policy-0", "policy-1"]
    assert data["summary"] == {"mandatory": 2, "advisory": 1, "exempted": 1, "exit_code": 2}
    assert data["cost"]["delta_usd"] == 234.5 and data["cost"]["delta_percent"] == 23.45
    assert data["exemptions"][0]["ticket"] == "SEC-7"


def test_sarif_is_valid_2_1_0_and_marks_exemptions_as_suppressed():
    document = json.loads(reports.render(sample(), "sarif"))
    schema = json.loads((SCHEMAS / "sarif-2.1.0.json").read_text())
    jsonschema.validate(document, schema, cls=jsonschema.Draft7Validator)
    run = document["runs"][0]
    assert [r["level"] for r in run["results"]] == ["error", "error", "warning", "error"]
    assert run["results"][-1]["suppressions"][0]["justification"].startswith("SEC-7")
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert all(rule_ids[r["ruleIndex"]] == r["ruleId"] for r in run["results"])


def test_sarif_rejects_what_the_schema_rejects():
    # Proof the schema check has teeth: a result level SARIF does not define fails validation.
    document = json.loads(reports.render(sample(), "sarif"))
    document["runs"][0]["results"][0]["level"] = "mandatory"
    schema = json.loads((SCHEMAS / "sarif-2.1.0.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema, cls=jsonschema.Draft7Validator)


def test_junit_parses_and_fails_only_mandatory_findings_and_bad_changes():
    root = ET.fromstring(reports.render(sample(), "junit"))
    assert root.tag == "testsuites"
    failures = [(suite.get("name"), case.get("name")) for suite in root for case in suite
                if case.find("failure") is not None]
    assert ("policy-pack", "production: no mandatory violations") in failures
    assert ("policy-0", URN.format("b0")) in failures and ("policy-2", URN.format("b2")) in failures
    assert not any(name == "policy-1" for name, _ in failures)  # advisory: shown, not failed
    assert any(suite == "change-management" and "(no change request)" in case for suite, case in failures)
    assert int(root.get("failures")) == len(failures) == 4


def test_csv_has_one_row_per_finding_and_survives_commas_and_quotes():
    rows = list(csv.DictReader(io.StringIO(reports.render(sample(), "csv"))))
    assert [(r["status"], r["policy"]) for r in rows] == [
        ("open", "policy-2"), ("open", "policy-0"), ("open", "policy-1"), ("exempted", "policy-9")]
    assert rows[0]["message"] == 'bucket b2 <is> "bad" & | odd, with a comma'
    assert rows[-1]["exemption_ticket"] == "SEC-7"


def test_markdown_stays_under_githubs_comment_limit_even_with_thousands_of_findings():
    small = reports.render(sample(), "markdown")
    assert small.startswith("<!-- platformctl-report:production -->")
    # Pipes would split the table, and raw HTML would be swallowed by GitHub's sanitiser.
    assert '&lt;is&gt; "bad" &amp; \\| odd' in small and "CR-2026-001" in small and "+$234.50" in small
    huge = reports.render(sample(5000), "markdown")
    assert len(huge) < GITHUB_COMMENT_LIMIT
    assert re.search(r"…and \d+ more finding\(s\)", huge)
    assert "#### Monthly cost estimate" in huge  # the tail survives the cut


def test_table_is_coloured_only_on_request():
    plain = reports.render(sample(), "table")
    assert "\033[" not in plain and "FAIL: 2 mandatory violation(s)" in plain
    assert "\033[31;1m" in reports.render(sample(), "table", color=True)


def test_write_creates_the_file_atomically(tmp_path):
    out = tmp_path / "deep" / "report.sarif"
    text = reports.write(sample(), "sarif", out)
    assert out.read_text() == text and not list(tmp_path.rglob("*.tmp"))


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="unknown report format 'pdf'"):
        reports.render(sample(), "pdf")


def test_html_report_renders_in_headless_chromium(tmp_path):
    page = tmp_path / "report.html"
    reports.write(sample(), "html", page)
    text = page.read_text()
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in text
    shot = tmp_path / "shot.png"
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,1600",
         f"--screenshot={shot}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120)
    dom = result.stdout
    assert "<body" in dom, result.stderr[-2000:]
    assert 'data-ready="1"' in dom  # the inline script ran before the DOM was dumped
    figure = lambda fid: re.search(rf'id="{fid}">([^<]*)<', dom).group(1)
    assert figure("resource-count") == "42"
    assert figure("mandatory-count") == "2" and figure("advisory-count") == "1"
    assert figure("exempted-count") == "1"
    assert figure("monthly-cost") == "$1,234.50"
    assert figure("noncompliant-changes") == "1 / 2"
    assert figure("findings-shown") == "3"
    assert dom.count("<rect") == 3 + 3 + 2  # bars: policies with findings, severities, components
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1280, 1600) and len(png) > 20_000


def test_html_csp_allows_only_the_reports_own_script_and_style(tmp_path):
    """No 'unsafe-inline': a script that reaches the page by any other way does not run."""
    from platformctl.reports import html as html_report
    text = reports.render(sample(), "html")
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', text).group(1)
    assert "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert csp == html_report.CSP
    # The report's own script runs (headless Chromium above sees data-ready); one planted beside it
    # does not: the page below marks the body only if the planted script ran.
    planted = text.replace("</body>", "<script>document.body.setAttribute('data-planted','1')</script></body>")
    page = tmp_path / "planted.html"
    page.write_text(planted)
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert 'data-ready="1"' in result.stdout, result.stderr[-2000:]
    assert "data-planted" not in result.stdout.split("<script>")[0]
    assert 'data-planted="1"' not in result.stdout
