"""`python -m platformctl audit` as a user runs it: exit codes, one-line errors, a 200 MB export."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

from auditkit import baseline_resources, export, history_entry, write

ROOT = pathlib.Path(__file__).resolve().parents[2]


def platformctl(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "platformctl", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def one_line_error(result, *expected):
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for text in expected:
        assert text in lines[0]


@pytest.mark.parametrize("content,expected", [
    ('{"version": 3, "deployment": {"resources": [{"urn": "urn:pulumi:p::l::t::n", "type": "t"', "truncated JSON"),
    ('{"version": 5, "deployment": {"resources": []}}', 'unsupported state "version" 5'),
    ('{"version": 3, "deployment": {"resources": [{"urn": "urn:pulumi:p::l::t::n"}]}}', 'has no "type"'),
    ('{"version": 3, "deployment": {"resources": [{"type": "t"}]}}', 'resource #0 has no "urn"'),
    (b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\xff\xfe\xfd", "not UTF-8 text (byte 0xff at offset 12)"),
])
def test_unreadable_exports_exit_1_with_one_line_and_no_report(tmp_path, content, expected):
    state = write(tmp_path, content)
    out = tmp_path / "report.html"
    one_line_error(platformctl("audit", "--state", str(state), "--format", "html", "--out", str(out)),
                   "platformctl audit:", str(state), expected)
    assert not out.exists()


def test_a_history_without_dates_exits_1(tmp_path):
    path = tmp_path / "history.json"
    path.write_text(json.dumps([{"version": 3, "kind": "update", "message": "scale api"}]))
    one_line_error(platformctl("audit", "--history", str(path), "--since", "2026-03-01"),
                   'entry #0 (version 3) has no valid "startTime"')


@pytest.mark.parametrize("args,expected", [
    ([], "audit needs --state FILE, --history FILE, or both"),
    (["--history", "h.json"], "--history needs --since DATE"),
    (["--history", "h.json", "--since", "March"], "--since 'March' is not a date YYYY-MM-DD"),
])
def test_bad_arguments_exit_1_with_one_line(tmp_path, args, expected):
    (tmp_path / "h.json").write_text("[]")
    one_line_error(platformctl("audit", *[a if a != "h.json" else str(tmp_path / a) for a in args]), expected)


def test_a_broken_exemptions_file_exits_1(tmp_path):
    state = write(tmp_path, export(baseline_resources()))
    bad = tmp_path / "exemptions.yaml"
    bad.write_text("exemptions:\n  - policy: aws-s3-bucket-kms-encrypted\n    urn: 'urn:pulumi:*'\n"
                   "    reason: legacy\n    ticket: SEC-1\n    change_request: CR-2026-014\n    expires: next year\n")
    one_line_error(platformctl("audit", "--state", str(state), "--exemptions", str(bad)),
                   "exemption #1 (aws-s3-bucket-kms-encrypted)", '"expires"')


def test_history_only_audit_exits_2_on_an_update_without_change_request(tmp_path):
    path = tmp_path / "history.json"
    path.write_text(json.dumps([history_entry(4, "2026-03-02T02:10:00Z", None, None)]))
    result = platformctl("audit", "--history", str(path), "--since", "2026-03-01", "--until", "2026-03-31",
                         "--stack", "production", "--format", "json")
    assert result.returncode == 2, result.stderr
    report = json.loads(result.stdout)
    assert report["violations"] == [{"policy": "governance-change-evidence", "level": "mandatory",
                                     "urn": "update/4", "message": report["violations"][0]["message"]}]
    assert "no change request" in report["violations"][0]["message"]


def _big_export(path: pathlib.Path, target_bytes: int) -> int:
    """Writes a realistic-shaped export of about `target_bytes`, one resource at a time."""
    prefix = "urn:pulumi:production::leadgen::"
    blob = "x" * 7000  # e.g. a rendered manifest or policy document held in state
    count = 0
    with open(path, "w") as handle:
        handle.write('{"version": 3, "deployment": {"manifest": {"time": "2026-03-01T00:00:00Z"}, "resources": [')
        handle.write(json.dumps({"urn": prefix + "pulumi:pulumi:Stack::leadgen-production", "custom": False,
                                 "type": "pulumi:pulumi:Stack", "outputs": {}}))
        while handle.tell() < target_bytes:
            tags = {"environment": "production", "owner": "platform", "cost-center": "cc-1"}
            res = {"urn": f"{prefix}aws:s3/bucket:Bucket::b{count}", "custom": True, "id": f"b{count}",
                   "type": "aws:s3/bucket:Bucket", "parent": prefix + "pulumi:pulumi:Stack::leadgen-production",
                   "inputs": {"bucket": f"b{count}", "tags": tags, "policy": blob},
                   "outputs": {"bucket": f"b{count}", "arn": f"arn:aws:s3:::b{count}", "tags": tags, "policy": blob}}
            handle.write("," + json.dumps(res))
            count += 1
        handle.write("]}}")
    return count + 1


PEAK_RSS = textwrap.dedent("""
    import json, resource, sys, datetime
    sys.path.insert(0, {tests!r})
    mode, path = sys.argv[1], sys.argv[2]
    if mode == "json":
        with open(path) as f:
            n = len(json.load(f)["deployment"]["resources"])
    else:
        from platformctl.commands import audit
        class Null:
            def __init__(self, *a): pass
            def analyze(self, r): return []
            def analyze_stack(self, rs): return []
            def close(self): pass
        n = audit.audit_state(path, Null, [], datetime.date(2026, 3, 15), with_cost=False).resource_count
    # VmHWM, not ru_maxrss: on Linux ru_maxrss carries the forking parent's peak (pytest's) across
    # exec, which made this figure the test runner's size rather than the audit's.
    hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    print(n, hwm)
""")


def test_a_200_mb_export_streams_and_a_truncated_one_fails_cleanly(tmp_path):
    big = tmp_path / "big-state.json"
    count = _big_export(big, 200 * 2**20)
    assert big.stat().st_size >= 200 * 2**20
    script = PEAK_RSS.format(tests=str(pathlib.Path(__file__).parent))

    def peak(mode):
        result = subprocess.run([sys.executable, "-c", script, mode, str(big)], cwd=ROOT, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        n, kib = map(int, result.stdout.split())
        assert n == count
        return kib

    streamed, loaded = peak("audit"), peak("json")
    size_kib = big.stat().st_size // 1024
    # json.load holds the text and the objects together; the audit never holds the text, and
    # keeps only outputs after Analyze. Both figures come from this run, on this machine.
    assert streamed < loaded * 0.6, (streamed, loaded)
    assert streamed < size_kib, (streamed, size_kib)

    with open(big, "r+b") as handle:  # cut it mid-resource: a copy interrupted by a full disk
        handle.truncate(big.stat().st_size - 5000)
    out = tmp_path / "report.json"
    result = platformctl("audit", "--state", str(big), "--format", "json", "--out", str(out))
    one_line_error(result, "truncated JSON")
    assert not out.exists()


def test_a_mistyped_exemptions_path_is_an_error_not_no_exemptions(tmp_path):
    state = tmp_path / "state.json"
    state.write_text('{"version": 3, "deployment": {"resources": []}}')
    missing = tmp_path / "exemptons.yaml"
    result = platformctl("audit", "--state", str(state), "--exemptions", str(missing))
    one_line_error(result, str(missing), "no such file")
    # Without --exemptions the repository's file applies (present or not) and the audit runs.
    assert platformctl("audit", "--state", str(state)).returncode == 3  # ran: "no resources, not a PASS"
