"""Audits over export files: each format version, secrets, pending operations, deletions."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from auditkit import (NETWORK_URN, PROVIDER_URN, RecordingAnalyzer, baseline_resources, export,
                      resource, write)
from platformctl import reports
from platformctl.commands import audit
from platformctl.exemptions import Exemption, Finding
from platformctl.statefile import REDACTED, StateError, StateFile

TODAY = dt.date(2026, 3, 15)


def run_audit(path, exemptions=(), with_cost=True):
    RecordingAnalyzer.instances.clear()
    # The temp dir as project root: no Pulumi.<stack>.yaml, so the pack's config defaults apply.
    report = audit.audit_state(path, RecordingAnalyzer, list(exemptions), TODAY, project_root=path.parent,
                               with_cost=with_cost)
    return report, RecordingAnalyzer.instances[-1]


@pytest.mark.parametrize("version,checkpoint,capitalised", [
    (3, False, False), (4, False, False), (3, True, False), (4, True, False),
    # Older CLIs (state versions 1 and 2) and the `Stack` / `Latest` keys newer CLIs write.
    (1, True, False), (2, False, False), (3, True, True)])
def test_every_export_version_gives_the_same_verdict(tmp_path, version, checkpoint, capitalised):
    doc = export(baseline_resources(), version=version, checkpoint=checkpoint)
    if capitalised:
        doc["checkpoint"] = {"Stack": doc["checkpoint"]["stack"], "Latest": doc["checkpoint"]["latest"]}
    path = write(tmp_path, doc)
    report, analyzer = run_audit(path)
    assert (report.stack, report.project) == ("production", "leadgen")
    assert report.resource_count == 7
    assert [(v.policy, v.level) for v in report.violations] == [
        ("aws-s3-bucket-require-tags", "mandatory"), ("stack-outputs-cluster-name", "advisory")]
    assert report.violations[0].urn.endswith("::scratch")
    assert report.exit_code() == 2
    assert analyzer.closed


def test_inputs_go_to_analyze_outputs_to_analyze_stack_and_providers_are_resolved(tmp_path):
    resources = baseline_resources()
    bucket = resources[3]
    bucket["outputs"] = dict(bucket["inputs"], arn="arn:aws:s3:::logs")
    report, analyzer = run_audit(write(tmp_path, export(resources)))
    analyzed = {r["name"]: r for r in analyzer.analyzed}
    assert "arn" not in analyzed["logs"]["inputs"]
    assert analyzed["logs"]["provider"] == {"urn": PROVIDER_URN, "type": "pulumi:providers:aws",
                                            "name": "default_7_51_1",
                                            "properties": {"region": "us-east-1", "version": "7.51.1"}}
    assert analyzed["main-nat-a"]["parent"] == NETWORK_URN
    at_stack = {r["name"]: r for r in analyzer.stack_resources}
    assert at_stack["logs"]["outputs"]["arn"] == "arn:aws:s3:::logs"
    assert "inputs" not in at_stack["logs"]  # dropped after Analyze: held once, not twice


def test_secrets_never_reach_the_pack_or_the_report(tmp_path):
    resources = baseline_resources()
    resources.append(resource("aws:s3/bucket:Bucket", "plain", {"bucket": "p", "token": {
        "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "plaintext": '"hunter3"'}}))
    path = write(tmp_path, export(resources))
    report, analyzer = run_audit(path)
    db = next(r for r in analyzer.analyzed if r["name"] == "db")
    assert db["inputs"]["password"] == REDACTED
    root = next(r for r in analyzer.stack_resources if r["type"] == "pulumi:pulumi:Stack")
    assert root["outputs"]["kubeconfig"] == REDACTED
    text = "".join(reports.render(report, fmt) for fmt in reports.FORMATS)
    for leaked in ("hunter2", "hunter3", "s3cr3t-pw", "ciphertext", "2ertnuh"):
        assert leaked not in text
        assert leaked not in json.dumps(analyzer.analyzed) + json.dumps(analyzer.stack_resources)
    assert any("secret value(s) shown as [secret]" in n for n in report.notes)


def test_resources_marked_for_deletion_are_skipped(tmp_path):
    resources = baseline_resources()
    doomed = resource("aws:s3/bucket:Bucket", "scratch", {"bucket": "old-scratch"}, delete=True)
    resources.insert(4, doomed)  # the old copy of a replaced bucket, pending deletion
    resources.append(resource("aws:s3/bucket:Bucket", "gone", {"bucket": "gone"}, delete=True))
    report, analyzer = run_audit(write(tmp_path, export(resources)))
    assert "gone" not in {r["name"] for r in analyzer.analyzed}
    assert [r["inputs"]["bucket"] for r in analyzer.analyzed if r["name"] == "scratch"] == ["scratch"]
    assert report.resource_count == 7
    assert "2 resource(s) marked for deletion skipped" in report.notes
    assert [n for n in report.notes if n.startswith("pending deletion")] == [
        f"pending deletion (not assessed): {doomed['urn']}",
        "pending deletion (not assessed): urn:pulumi:production::leadgen::aws:s3/bucket:Bucket::gone"]


def test_pending_operations_are_findings(tmp_path):
    pending = [{"resource": resource("aws:eks/nodeGroup:NodeGroup", "general", {"nodeGroupName": "general"}),
                "type": "creating"}]
    report, _ = run_audit(write(tmp_path, export(baseline_resources(), pending=pending)))
    finding = next(v for v in report.violations if v.policy == audit.PENDING_POLICY)
    assert finding.urn.endswith("::general") and "interrupted creating" in finding.message
    assert finding.level == "advisory"


def test_exemptions_in_force_drop_violations_and_expired_ones_are_findings(tmp_path):
    path = write(tmp_path, export(baseline_resources()))
    live = Exemption("aws-s3-bucket-require-tags", "urn:pulumi:production::leadgen::*::scratch",
                     "scratch space, deleted monthly", "SEC-1", dt.date(2026, 3, 15))
    old = Exemption("stack-outputs-cluster-name", "urn:pulumi:*", "legacy", "SEC-0", dt.date(2026, 3, 14))
    report, _ = run_audit(path, [live, old])
    assert [v.policy for v in report.violations] == ["stack-outputs-cluster-name", "governance-exemption-expired"]
    assert [e.ticket for _, e in report.exempted] == ["SEC-1"]
    assert report.exemptions == [live]
    assert report.exit_code() == 0


def test_cost_is_grouped_by_top_level_component(tmp_path):
    report, _ = run_audit(write(tmp_path, export(baseline_resources())))
    by_component = dict(report.cost.by_component())
    assert set(by_component) == {"main", "db", "logs", "scratch"}  # NAT under the network component
    assert by_component["main"] > 0 and report.cost.total_usd == pytest.approx(sum(by_component.values()))


def test_streaming_reader_reports_header_and_counts(tmp_path):
    state = StateFile(write(tmp_path, export(baseline_resources(), version=4, checkpoint=True)))
    names = [r["name"] for r in state.resources()]
    assert names[:2] == ["leadgen-production", "default_7_51_1"]
    assert (state.header.version, state.header.envelope, state.header.stack) == (4, "checkpoint", "organization/leadgen/production")
    assert state.secrets_redacted == 3  # db password in inputs and outputs, kubeconfig


@pytest.mark.parametrize("content,expected", [
    ('{"version": 3, "deployment": {"resources": [{"urn": "urn:pulumi:a::b::t::n", "ty', "truncated JSON"),
    ('{"version": 7, "deployment": {"resources": []}}', '$.version: unsupported state "version" 7 (expected 1 to 4)'),
    ('{"deployment": {"resources": []}}', 'no "version" key'),
    ('{"version": 3, "deployment": {"resources": [{"urn": "urn:pulumi:a::b::t::n"}]}}', 'resource #0 (urn:pulumi:a::b::t::n) has no "type"'),
    ('{"version": 3, "deployment": {"resources": [{"type": "aws:s3/bucket:Bucket"}]}}', 'resource #0 has no "urn"'),
    ('[1, 2]', "$: the document is an array; expected an object"),
    ('', "empty file"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not UTF-8 text (byte 0x89 at offset 0)"),
])
def test_bad_exports_fail_with_one_line(tmp_path, content, expected):
    path = write(tmp_path, content)
    with pytest.raises(StateError) as caught:
        list(StateFile(path).resources())
    message = str(caught.value)
    assert expected in message and str(path) in message
    assert "\n" not in message and len(message) < 300


def test_the_fast_path_and_the_streaming_reader_read_the_same(tmp_path, monkeypatch):
    from platformctl import statefile

    resources = baseline_resources()
    resources[3]["inputs"]["port"] = 443.0  # whole numbers become ints on both paths
    pending = [{"type": "creating", "resource": {"urn": resources[3]["urn"], "type": "aws:s3/bucket:Bucket"}}]
    path = write(tmp_path, export(resources, pending=pending))

    def read():
        state = StateFile(path)
        return list(state.resources()), state.secrets_redacted, state.pending_operations, state._document is False

    fast = read()
    monkeypatch.setattr(statefile, "FAST_MAX_BYTES", 0)
    streamed = read()
    assert fast[3] is False and streamed[3] is True  # each path was really taken
    assert fast[:3] == streamed[:3]
    assert fast[0][3]["inputs"]["port"] == 443 and isinstance(fast[0][3]["inputs"]["port"], int)
    assert fast[1] == 3 and fast[2] == [{"type": "creating", "urn": resources[3]["urn"],
                                         "resource_type": "aws:s3/bucket:Bucket"}]


def test_a_stack_mostly_of_uncovered_types_is_not_assessed_unless_something_else_fails(tmp_path):
    tags = {"environment": "production", "owner": "platform", "cost-center": "cc-1"}
    others = [resource("azure:core/resourceGroup:ResourceGroup", f"rg-{i}", {"location": "westeurope"})
              for i in range(3)]
    report, _ = run_audit(write(tmp_path, export(baseline_resources()[:2] + others + [
        resource("aws:s3/bucket:Bucket", "logs", {"bucket": "logs", "tags": tags})])), with_cost=False)
    (finding,) = [v for v in report.violations if v.policy == audit.COVERAGE_POLICY]
    assert finding.message == ("NOT ASSESSED: policies judge only 1 of its 4 resources (more than half are needed); "
                               "this is not a PASS (exit 3)")
    assert "not covered by any policy: 3 of 4 resources: azure:core/resourceGroup:ResourceGroup (3)" in report.notes
    assert audit.exit_code(report) == 3
    # The JSON summary and the process say the same: not assessed, not "2 mandatory findings".
    assert json.loads(reports.render(report, "json"))["summary"]["exit_code"] == 3
    report.violations = list(report.violations) + [Finding("aws-s3-bucket-require-tags", "mandatory", "urn", "m")]
    assert audit.exit_code(report) == 2
    assert json.loads(reports.render(report, "json"))["summary"]["exit_code"] == 2
