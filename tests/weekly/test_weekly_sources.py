"""Recorded answers: which file answers which request, and what a directory must hold."""
from __future__ import annotations

import json

import pytest

from platformctl.errors import InputError
from platformctl.weekly.model import Unreachable
from platformctl.weekly.sources import FixtureFetch


def write(root, rel, doc):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))


def test_the_file_naming_the_most_params_answers(tmp_path):
    write(tmp_path, "prometheus/query.json", {"any": True})
    write(tmp_path, "prometheus/query.up.json", {"request": {"query": "up"}, "response": {"up": True}})
    write(tmp_path, "prometheus/query-up-then.json", {"request": {"query": "up", "time": "5"}, "response": {"then": 1}})
    write(tmp_path, "prometheus/query_range.json", {"range": True})
    fetch = FixtureFetch(tmp_path)
    assert fetch("prometheus", "query", {"query": "up", "time": "5"}) == {"then": 1}
    assert fetch("prometheus", "query", {"query": "up", "time": "6"}) == {"up": True}
    assert fetch("prometheus", "query", {"query": "down"}) == {"any": True}
    assert fetch("prometheus", "query_range", {"query": "up"}) == {"range": True}  # never query's answer, nor the reverse
    assert fetch.recorded_at is None


def test_two_answers_that_fit_equally_are_not_a_guess(tmp_path):
    write(tmp_path, "ecr/DescribeImageScanFindings.a.json", {"request": {"repositoryName": "api"}, "response": 1})
    write(tmp_path, "ecr/DescribeImageScanFindings.b.json", {"request": {"repositoryName": "api"}, "response": 2})
    with pytest.raises(Unreachable, match="2 recorded answers fit equally"):
        FixtureFetch(tmp_path)("ecr", "DescribeImageScanFindings", {"repositoryName": "api"})


def test_an_answer_is_a_copy(tmp_path):
    write(tmp_path, "pulumi/stack-output.json", {"backupBucket": "b"})
    fetch = FixtureFetch(tmp_path)
    fetch("pulumi", "stack-output", {})["backupBucket"] = "changed"
    assert fetch("pulumi", "stack-output", {}) == {"backupBucket": "b"}


@pytest.mark.parametrize("rel, content, message", [
    ("s3/ListObjectsV2.json", "{", "not a recorded answer: "),
    ("s3/ListObjectsV2.json", "NaN", "not a recorded answer: NaN is not JSON"),
    ("s3/GetObject.json", '{"request": [1], "response": {}}', "field request must be an object of the params it answers"),
    ("recorded.json", '{"recorded_at": "2026-11-30T06:00:00"}', "has no time zone (add Z for UTC)"),
    ("recorded.json", '{"when": 1}', "field recorded_at is missing"),
])
def test_a_malformed_directory_is_refused_when_opened(tmp_path, rel, content, message):
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    with pytest.raises(InputError) as err:
        FixtureFetch(tmp_path)
    assert str(err.value).startswith(str(path)) and message in str(err.value)


def test_a_missing_directory_is_bad_input(tmp_path):
    with pytest.raises(InputError, match=r"^--fixtures .*nosuch: not a directory$"):
        FixtureFetch(tmp_path / "nosuch")
