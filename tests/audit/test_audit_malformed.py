"""No malformed export is ever audited: each shape is one line naming the file, where in it and
the cause, exit 1, no report. Deep nesting and huge numbers fail fast in little memory."""
from __future__ import annotations

import json
import tracemalloc

import pytest

from auditkit import baseline_resources, export, write
from platformctl.statefile import StateError, StateFile

GOOD = json.dumps(export(baseline_resources()))
URN = "urn:pulumi:production::leadgen::aws:s3/bucket:Bucket::b"


def doc(**deployment) -> str:
    return json.dumps({"version": 3, "deployment": deployment})


def with_resource(**fields) -> str:
    return doc(resources=[{"urn": URN, "type": "aws:s3/bucket:Bucket", **fields}])


SHAPES = [
    # (id, content, what the line must say)
    ("empty", "", "empty file"),
    ("whitespace", "   \n ", "truncated JSON (parse error: premature EOF)"),
    ("truncated-header", '{"version": 3, "deploy', "truncated JSON"),
    ("truncated-resources", GOOD[: len(GOOD) // 2], "truncated JSON"),
    ("truncated-last-brace", GOOD[:-1], "truncated JSON"),
    ("trailing-garbage", GOOD + " {}", "not valid JSON"),
    ("array-document", "[1, 2]", "the document is an array; expected an object"),
    ("string-document", '"export"', "expected an object"),
    ("number-document", "3", "expected an object"),
    ("null-document", "null", "expected an object"),
    ("no-version", '{"deployment": {"resources": []}}', 'no "version" key'),
    ("version-string", '{"version": "3", "deployment": {"resources": []}}', 'unsupported state "version" \'3\''),
    ("version-bool", '{"version": true, "deployment": {"resources": []}}', 'unsupported state "version" True'),
    ("version-9", '{"version": 9, "deployment": {"resources": []}}', 'unsupported state "version" 9'),
    ("no-envelope", '{"version": 3, "resources": []}', 'neither "deployment" nor "checkpoint"'),
    ("both-envelopes", '{"version": 3, "deployment": {}, "checkpoint": {}}', "ambiguous"),
    ("deployment-null", '{"version": 3, "deployment": null}', "$.deployment: is null, expected an object"),
    ("deployment-list", '{"version": 3, "deployment": []}', "$.deployment: is an array, expected an object"),
    ("latest-null", '{"version": 3, "checkpoint": {"stack": "dev", "latest": null}}',
     "$.checkpoint.latest: is null, expected the latest deployment"),
    ("Latest-null", '{"version": 3, "checkpoint": {"Stack": "dev", "Latest": null}}',
     "$.checkpoint.Latest: is null, expected the latest deployment"),
    ("no-latest", '{"version": 3, "checkpoint": {"stack": "dev"}}', "has no latest deployment"),
    ("stack-number", '{"version": 3, "checkpoint": {"stack": 7, "latest": {}}}', "$.checkpoint.stack: is a number"),
    ("resources-object", doc(resources={"a": 1}), "$.deployment.resources: expected a list, got an object"),
    ("resources-string", doc(resources="[]"), "$.deployment.resources: expected a list, got str"),
    ("resources-null", doc(resources=None), "$.deployment.resources: expected a list, got null"),
    ("resource-number", doc(resources=[5]), "resource #0 is not an object"),
    ("no-urn", doc(resources=[{"type": "t"}]), 'resource #0 has no "urn"'),
    ("bad-urn", doc(resources=[{"urn": "arn:aws:s3:::b", "type": "t"}]), "not a Pulumi URN"),
    ("inputs-string", with_resource(inputs="{}"), "'inputs' is a string, expected an object"),
    ("dependencies-object", with_resource(dependencies={}), "'dependencies' is an object, expected a list"),
    ("delete-string", with_resource(delete="true"), "'delete' is a string, expected true or false"),
    ("duplicate-key", '{"version": 3, "deployment": {"resources": [], "resources": []}}', "duplicate key"),
    ("duplicate-in-resource", '{"version": 3, "deployment": {"resources": [{"urn": "%s", "type": "t", "type": "u"}]}}'
     % URN, "$.deployment.resources[0].type: duplicate key"),
    ("huge-int", '{"version": 3, "deployment": {"resources": [{"urn": "%s", "type": "t", "inputs": {"n": %s}}]}}'
     % (URN, "9" * 5000), "longer than 3999 digits"),
    ("not-utf8", b'{"version": 3, "deployment": {"resources": [{"urn": "\xff\xfe", "type": "t"}]}}', "not UTF-8 text"),
    ("nan", '{"version": 3, "deployment": {"resources": [{"urn": "%s", "type": "t", "inputs": {"n": NaN}}]}}' % URN,
     "not valid JSON"),
]


@pytest.mark.parametrize("content,expected", [s[1:] for s in SHAPES], ids=[s[0] for s in SHAPES])
def test_each_malformed_shape_is_one_line(tmp_path, content, expected):
    path = write(tmp_path, content)
    with pytest.raises(StateError) as caught:
        list(StateFile(path).resources())
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and expected in message
    assert "\n" not in message and len(message) < 400


def test_there_are_at_least_35_shapes():
    assert len(SHAPES) >= 35 and len({s[0] for s in SHAPES}) == len(SHAPES)


def test_200000_levels_in_400_kb_fail_fast_in_little_memory(tmp_path):
    depth = 200_000
    path = write(tmp_path, '{"version": 3, "deployment": {"resources": [{"urn": "%s", "type": "t", "inputs": {"a": ' % URN
                 + "[" * depth + "]" * depth + "}}]}}")
    assert path.stat().st_size < 410_000
    tracemalloc.start()
    try:
        with pytest.raises(StateError) as caught:
            list(StateFile(path).resources())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "nested deeper than 128 levels" in str(caught.value)
    assert peak < 20 * 2**20


def test_deep_nesting_before_the_resources_fails_in_the_header(tmp_path):
    path = write(tmp_path, '{"version": 3, "x": ' + "[" * 200_000 + "]" * 200_000 + ', "deployment": {}}')
    tracemalloc.start()
    try:
        with pytest.raises(StateError) as caught:
            StateFile(path).read_header()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "nested deeper than 128 levels" in str(caught.value) and peak < 20 * 2**20


@pytest.mark.parametrize("shape", ["deployment-null", "resources-null", "latest-null"])
def test_the_cli_exits_1_and_writes_no_report(tmp_path, shape):
    import subprocess
    import sys

    from platformctl.project import ROOT

    content = next(s[1] for s in SHAPES if s[0] == shape)
    path = write(tmp_path, content)
    out = tmp_path / "report.json"
    result = subprocess.run([sys.executable, "-m", "platformctl", "audit", "--state", str(path), "--format", "json",
                             "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and result.stdout == "" and not out.exists()
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("platformctl audit: ") and "PASS" not in lines[0]


def test_control_characters_from_the_file_never_reach_the_terminal(tmp_path):
    path = write(tmp_path, json.dumps({"version": 3, "deployment": {"resources": [
        {"urn": "urn:pulumi:p::l::t::\x1b[2Jname", "type": "t", "inputs": "x"}]}}))
    with pytest.raises(StateError) as caught:
        list(StateFile(path).resources())
    assert "\x1b" not in str(caught.value) and "\\x1b[2Jname" in str(caught.value)
