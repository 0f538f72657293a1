"""The strict JSON reader against malformed and hostile exports and checkpoints.

Bounds are proven with the reader's counters (bytes handed to the parser, events) and
tracemalloc, never with a clock.
"""
from __future__ import annotations

import io
import json
import pathlib
import tracemalloc

import pytest

from leadgen.pack import strictread

Limits, ReadError, Stats = strictread.Limits, strictread.ReadError, strictread.Stats

REAL_EXPORTS = pathlib.Path("/work/shared/real-exports")
NAME = "production.json"


def refused(data: bytes, **kwargs) -> str:
    with pytest.raises(ReadError) as caught:
        strictread.load_json(data, name=kwargs.pop("name", NAME), **kwargs)
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message and "\x1b" not in message
    return message


def export(*resources: str) -> bytes:
    return ('{"version": 3, "deployment": {"manifest": {}, "resources": [' + ", ".join(resources) + "]}}").encode()


def test_deep_nesting_fails_at_the_cap_after_one_buffer_with_little_memory():
    deep = b'{"deployment": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"  # 400 KB, 200,000 deep
    stats = Stats()
    tracemalloc.start()
    try:
        message = refused(deep, stats=stats)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert message.startswith(f"{NAME}: $.deployment[0][0]") and "..." in message and len(message) < 200
    assert message.endswith("[0][0]: nested deeper than 128 levels")
    assert stats.depth == 129 and stats.events < 140
    assert stats.bytes_read <= 16 * 1024  # one parser buffer of the 400 KB
    assert peak < 2 * 1024 * 1024  # ijson.parse's prefix strings would need ~10 GB here


def test_five_thousand_digit_integer_never_reaches_the_parser():
    # ijson's C backend crashes the interpreter on such a number when not reading floats;
    # reaching the assertion at all is part of the test.
    stats = Stats()
    message = refused(export('{"urn": "a", "outputs": {"port": ' + "9" * 5000 + "}}"), stats=stats)
    assert message == f"{NAME}: $.deployment.resources[0].outputs.port: a number (or digit run) longer than 3999 digits"


def test_integers_are_capped_in_digits_and_to_64_bits():
    assert refused(b'{"a": [1, 123456]}', limits=Limits(max_int_digits=5)) == (
        f"{NAME}: $.a[1]: integer with 6 digits; the limit is 5")
    assert refused(b'{"a": [1, 123456789012345678901234]}') == f"{NAME}: $.a[1]: integer too large (beyond 64 bits)"


def test_duplicate_keys_are_refused_at_any_depth():
    doc = export('{"urn": "a"}', '{"urn": "b"}', '{"urn": "c"}', '{"urn": "d", "type": "t", "urn": "e"}')
    assert refused(doc) == f"{NAME}: $.deployment.resources[3].urn: duplicate key; the last would silently win"
    assert refused(b'{"version": 3, "deployment": {}, "version": 4}') == (
        f"{NAME}: $.version: duplicate key; the last would silently win")


def test_non_utf8_bytes_are_refused_at_their_path():
    doc = export('{"urn": "cafe"}').replace(b"cafe", b"caf\xe9")  # Latin-1, not UTF-8
    offset = doc.index(b"\xe9")
    assert refused(doc) == f"{NAME}: $.deployment.resources[0].urn: not UTF-8 text (byte 0xe9 at offset {offset})"


@pytest.mark.parametrize("data, message", [
    (b"", "empty file, expected a JSON document"),
    (b'[{"urn": "a"}]', "$: the document is an array; expected an object"),
    (b'"just text"', "$: the document is a single str value; expected an object"),
    (b'{"version": 3, "deployment": {"resources": [{"urn": "a"}, {"urn": ',
     "$.deployment.resources[1].urn: truncated JSON (parse error: premature EOF)"),
    (b'{"a": [1, NaN]}', "$.a[1]: not valid JSON (lexical error: invalid char in json text.)"),
    (b'{"a": [1, 1e400]}', "$.a[1]: not valid JSON (parse error: numeric (floating point) overflow)"),
    (b'{"a": 1} {"a": 2}', "$: not valid JSON (parse error: trailing garbage)"),
    (b'{"a": {"b": 1,}}', "$.a.b: not valid JSON (parse error: invalid object key (must be a string))"),
    (b'{"odd key\\u001b[31m": {"x": 1, "x": 2}}',
     '$["odd key\\u001b[31m"].x: duplicate key; the last would silently win'),
])
def test_malformed_documents_name_the_path_and_cause(data, message):
    assert refused(data) == f"{NAME}: {message}"


def test_streaming_yields_one_resource_at_a_time_and_checks_the_rest():
    doc = export('{"urn": "a", "inputs": {"n": [1, 2]}}', '{"urn": "b"}')
    assert list(strictread.iter_json(doc, ("deployment", "resources"), name=NAME)) == [
        (0, {"urn": "a", "inputs": {"n": [1, 2]}}), (1, {"urn": "b"})]
    # A fault after the last resource still fails the read: a truncated file is never "complete".
    items = strictread.iter_json(doc[:-1], ("deployment", "resources"), name=NAME)
    assert next(items)[1]["urn"] == "a" and next(items)[1]["urn"] == "b"
    with pytest.raises(ReadError, match=r"^production\.json: \$\.deployment: truncated JSON"):
        next(items)
    with pytest.raises(ReadError, match=r"^production\.json: \$\.deployment\.resources: expected a list, got an object$"):
        list(strictread.iter_json(b'{"deployment": {"resources": {}}}', ("deployment", "resources"), name=NAME))


def test_streaming_a_large_export_holds_one_resource_at_a_time(tmp_path):
    resource = {"urn": "urn:pulumi:production::leadgen::aws:s3/bucket:Bucket::b", "type": "aws:s3/bucket:Bucket",
                "inputs": {"tags": {f"k{i}": "v" * 40 for i in range(40)}}}
    path = tmp_path / "big.json"
    with open(path, "w") as handle:
        handle.write('{"version": 3, "deployment": {"resources": [')
        handle.write(", ".join(json.dumps(dict(resource, id=str(i))) for i in range(2000)))
        handle.write("]}}")
    size = path.stat().st_size
    assert size > 4 * 1024 * 1024
    stats = Stats()
    tracemalloc.start()
    try:
        count = sum(1 for _ in strictread.iter_json(path, ("deployment", "resources"), stats=stats))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 2000 and stats.bytes_read == size
    assert peak < size / 8  # far less than the document: one resource and one buffer at a time


@pytest.mark.parametrize("export_file", sorted(p.name for p in REAL_EXPORTS.glob("*.json")))
def test_real_exports_and_checkpoints_read_as_json_reads_them(export_file):
    path = REAL_EXPORTS / export_file
    expected = json.loads(path.read_text())
    assert strictread.load_json(path) == expected
    base = ("deployment",) if "deployment" in expected else ("checkpoint", "latest")
    streamed = [item for _, item in strictread.iter_json(path, base + ("resources",))]
    container = expected
    for key in base:
        container = container.get(key) or {}
    assert streamed == (container.get("resources") or [])


def test_file_objects_are_not_needed_a_path_or_bytes_will_do(tmp_path):
    path = tmp_path / "x.json"
    path.write_bytes(b'{"a": 1}')
    assert strictread.load_json(path) == strictread.load_json(io.BytesIO(b'{"a": 1}').getvalue()) == {"a": 1}
    with pytest.raises(ReadError) as caught:
        strictread.load_json(tmp_path / "missing.json", name="missing.json")
    assert str(caught.value) == "missing.json: cannot be read (No such file or directory)"


def test_peek_reads_a_header_in_a_few_events_however_large_the_file():
    doc = export(*['{"urn": "u", "type": "t"}'] * 5000)
    stats = Stats()
    found, keys = strictread.peek_json(doc, [("version",)], until=[("deployment", "resources")], name=NAME,
                                       stats=stats)
    assert (found, keys) == ({("version",): 3}, ["version", "deployment"])
    assert stats.events == 10 and stats.bytes_read <= 16 * 1024 < len(doc)  # of 20,000+ events
    checkpoint = b'{"checkpoint": {"stack": "dev", "latest": {"resources": []}}, "version": 1}'
    # The version comes last here: peeking goes on past `until` until it is found.
    assert strictread.peek_json(checkpoint, [("version",), ("checkpoint", "stack")],
                                until=[("checkpoint", "latest", "resources")]) == (
        {("checkpoint", "stack"): "dev", ("version",): 1}, ["checkpoint", "version"])


@pytest.mark.parametrize("data, message", [
    (b'[{"version": 3}]', "$: the document is an array; expected an object"),
    (b"3", "$: the document is a single int value; expected an object"),
    (b'{"version": 3, "version": 4}', "$.version: duplicate key; the last would silently win"),
    (b'{"version": 3, "deployment": ' + b"[" * 200_000, None),
])
def test_peek_refuses_what_the_full_read_refuses(data, message):
    with pytest.raises(ReadError) as caught:
        strictread.peek_json(data, [("version",)], until=[("deployment", "resources")], name=NAME)
    if message is None:
        assert str(caught.value).endswith(": nested deeper than 128 levels")
    else:
        assert str(caught.value) == f"{NAME}: {message}"
