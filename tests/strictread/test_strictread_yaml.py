"""The strict YAML reader against hostile stack files, change requests and exemptions.

Each case asserts the exact one-line message. "Fails fast" is proven with the reader's own
counters (events parsed, aliases used, nodes built) and tracemalloc, never with a clock.
"""
from __future__ import annotations

import datetime as dt
import pathlib
import tracemalloc

import pytest

from leadgen.pack import strictread

Limits, ReadError, Stats = strictread.Limits, strictread.ReadError, strictread.Stats

ROOT = pathlib.Path(__file__).resolve().parents[2]
NAME = "Pulumi.production.yaml"


def refused(data: bytes, **kwargs) -> str:
    with pytest.raises(ReadError) as caught:
        strictread.load_yaml(data, name=kwargs.pop("name", NAME), **kwargs)
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message and "\x1b" not in message
    return message


def billion_laughs(levels: int = 9, width: int = 9) -> bytes:
    lines = ['a0: &a0 "lol"']
    for level in range(1, levels + 1):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]")
    return ("\n".join(lines) + "\n").encode()


def test_alias_bomb_stops_at_the_alias_budget_with_little_memory():
    bomb = billion_laughs(levels=10, width=10)
    assert len(bomb) < 1024  # a 1 KB file that would expand to 10^10 strings
    stats = Stats()
    tracemalloc.start()
    try:
        message = refused(bomb, stats=stats)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert message == (f"{NAME}: a2[6]: more than 16 alias uses (*a1); aliases are capped so a small file "
                       "cannot expand to gigabytes")
    assert stats.aliases == 17 and stats.nodes < 100 and stats.events < 60
    assert peak < 2 * 1024 * 1024


def test_alias_expansion_is_counted_node_by_node_even_within_the_alias_budget():
    stats = Stats()
    message = refused(billion_laughs(), limits=Limits(max_aliases=10_000), stats=stats)
    assert message.startswith(f"{NAME}: a6[") and message.endswith(
        ": more than 100000 values (aliases expand to too much)")
    assert stats.nodes == 100_001


def test_a_few_aliases_are_still_fine_and_expanded_with_their_own_paths():
    root = strictread.parse_yaml(b"base: &b {size: 3}\nother: *b\n", name=NAME)
    assert root.plain() == {"base": {"size": 3}, "other": {"size": 3}}
    assert root.value["other"].value["size"].path == "other.size"


def test_duplicate_key_nested_is_refused_naming_both_lines():
    assert refused(b"config:\n  leadgen:data:\n    tag: '1'\n    tag: '2'\n") == (
        f"{NAME}: config.leadgen:data.tag: duplicate key (first on line 3, again on line 4); "
        "the last would silently win")


def test_a_second_config_block_is_a_duplicate_top_level_key():
    text = b"config:\n  leadgen:environment: production\nencryptionsalt: x\nconfig:\n  leadgen:environment: dev\n"
    assert refused(text) == (f"{NAME}: config: duplicate key (first on line 1, again on line 4); "
                             "the last would silently win")


def test_a_second_document_is_refused():
    assert refused(b"config: {}\n---\nconfig: {}\n") == (
        f"{NAME}: line 2: a second YAML document (---) follows the first; one document is expected "
        "and a reader could take either")


def test_deep_nesting_stops_at_the_depth_cap_without_reading_on():
    deep = b"config: " + b"[" * 200_000 + b"]" * 200_000 + b"\n"  # 400 KB
    stats = Stats()
    message = refused(deep, stats=stats)
    assert message.startswith(f"{NAME}: config[0][0]") and "..." in message
    assert message.endswith("[0][0]: nested deeper than 64 levels") and len(message) < 200
    assert stats.depth == 65 and stats.events < 80


def test_a_list_where_a_mapping_is_expected():
    assert refused(b"- config\n- leadgen:environment\n") == f"{NAME}: the document is a list; expected a mapping"
    assert refused(b"just text\n") == f"{NAME}: the document is a single str value; expected a mapping"


def test_impossible_date_is_refused():
    assert refused(b"exemptions:\n  - expires: 2026-02-30\n", name="policies/exemptions.yaml") == (
        "policies/exemptions.yaml: exemptions[0].expires: 2026-02-30 is not a real date "
        "(day is out of range for month)")


def test_real_dates_and_timestamps_still_read_as_dates():
    data = strictread.load_yaml(b"expires: 2026-09-30\nat: 2026-11-20T10:00:00Z\n", name="x.yaml")
    assert data["expires"] == dt.date(2026, 9, 30)
    assert data["at"] == dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.timezone.utc)  # as yaml.safe_load


@pytest.mark.parametrize("written, becomes", [
    ("2.10", "the number 2.1"),
    ("17.10", "the number 17.1"),
    ("1:20", "the integer 80"),  # YAML 1.1 sexagesimal
    ("017", "the integer 15"),  # YAML 1.1 octal
    ("on", "the boolean True"),
    ("no", "the boolean False"),
    ("2026-01-01", "the date 2026-01-01"),
    ("~", "null"),
])
def test_unquoted_values_where_text_is_meant_must_be_quoted(written, becomes):
    text = f"config:\n  leadgen:workloads.api.tag: {written}\n".encode()
    assert refused(text, strings=["config.leadgen:workloads.*.tag"]) == (
        f'{NAME}: config.leadgen:workloads.api.tag: must be quoted: unquoted {written} would become '
        f'{becomes}; write "{written}"')
    quoted = f'config:\n  leadgen:workloads.api.tag: "{written}"\n'.encode()
    assert strictread.load_yaml(quoted, name=NAME, strings=["config.leadgen:workloads.*.tag"]) == {
        "config": {"leadgen:workloads.api.tag": written}}


def test_the_node_tree_keeps_the_text_as_written():
    node = strictread.parse_yaml(b"config:\n  leadgen:cluster.version: 17.10\n", name=NAME)
    scalar = node.value["config"].value["leadgen:cluster.version"]
    assert (scalar.value, scalar.text, scalar.tag, scalar.quoted, scalar.line) == (17.1, "17.10", "float", False, 2)
    with pytest.raises(ReadError, match="^Pulumi.production.yaml: config.leadgen:cluster.version: must be quoted: "
                                        'unquoted 17.10 would become the number 17.1; write "17.10"$'):
        scalar.string()


def test_empty_value_and_wrong_shapes_where_text_is_meant():
    spec = {"strings": ["config.leadgen:traffic.zoneId"]}
    assert refused(b"config:\n  leadgen:traffic.zoneId:\n", **spec) == (
        f"{NAME}: config.leadgen:traffic.zoneId: is empty (read as null); give the value as quoted text")
    assert refused(b"config:\n  leadgen:traffic.zoneId: [Z1, Z2]\n", **spec) == (
        f"{NAME}: config.leadgen:traffic.zoneId: expected text, got a list")
    assert refused(b"config:\n  leadgen:traffic.zoneId: {id: Z1}\n", **spec) == (
        f"{NAME}: config.leadgen:traffic.zoneId: expected text, got a mapping")


def test_trailing_newline_is_refused_where_one_line_is_asked_for():
    spec = {"single_line": ["config.leadgen:traffic.hostname"]}
    assert refused(b"config:\n  leadgen:traffic.hostname: |\n    api.example.com\n", **spec) == (
        f"{NAME}: config.leadgen:traffic.hostname: ends with a line break; one line of text is expected "
        "(a `|` block keeps its last newline: use `|-` or a quoted string)")
    assert refused(b'config:\n  leadgen:traffic.hostname: "api\\e[31m.example.com"\n', **spec) == (
        f"{NAME}: config.leadgen:traffic.hostname: contains the control character \\x1b; "
        "one line of text is expected")
    assert strictread.load_yaml(b"config:\n  leadgen:traffic.hostname: |-\n    api.example.com\n",
                                name=NAME, **spec) == {"config": {"leadgen:traffic.hostname": "api.example.com"}}


def test_five_thousand_digit_integer_is_refused_before_conversion():
    assert refused(b"config:\n  leadgen:canary.replicas: " + b"9" * 5000 + b"\n") == (
        f"{NAME}: config.leadgen:canary.replicas: integer with 5000 digits; the limit is 32")


def test_non_utf8_bytes_are_refused_with_their_place():
    assert refused(b"config:\n  leadgen:environment: caf\xe9\n") == (
        f"{NAME}: config.leadgen:environment: not UTF-8 text (byte 0xe9 at line 2, column 27)")
    assert refused(b'config:\n  "leadgen:caf\xe9": x\n') == (
        f"{NAME}: config.leadgen:caf\ufffd: not UTF-8 text (byte 0xe9 at line 2, column 15)")


def test_raw_control_characters_are_refused_and_shown_escaped():
    assert refused(b"config:\n  leadgen:environment: prod\x1b[2J\n") == (
        f"{NAME}: config.leadgen:environment: character U+001B at line 2, column 28 is not allowed "
        "(a control or invisible formatting character)")
    assert refused(b"config:\n  - a\n  - 'b\x00'\n") == (
        f"{NAME}: config[1]: character U+0000 at line 3, column 7 is not allowed "
        "(a control or invisible formatting character)")
    # In a comment there is no key to name, only the place.
    assert refused("# note \u202e[2J\nconfig: {}\n".encode()) == (
        f"{NAME}: character U+202E at line 1, column 8 is not allowed (a control or invisible formatting character)")
    # YAML itself takes NEL as a line break; no editor shows it.
    assert refused("config:\n  leadgen:owner: a\u0085b\n".encode()) == (
        f"{NAME}: config.leadgen:owner: character U+0085 at line 2, column 19 is not allowed "
        "(a control or invisible formatting character)")


def test_size_is_capped_before_parsing(tmp_path):
    path = tmp_path / "Pulumi.big.yaml"
    path.write_bytes(b"config:\n" + b"  # padding\n" * 200)
    with pytest.raises(ReadError) as caught:
        strictread.load_yaml(path, limits=Limits(max_bytes=1024))
    assert str(caught.value) == f"{path}: larger than 1 KiB, the limit for this file"


def test_missing_file_is_one_line(tmp_path):
    with pytest.raises(ReadError) as caught:
        strictread.load_yaml(tmp_path / "Pulumi.nope.yaml", name="Pulumi.nope.yaml")
    assert str(caught.value) == "Pulumi.nope.yaml: cannot be read (No such file or directory)"


@pytest.mark.parametrize("text, message", [
    (b"a: !!python/object/apply:os.system [true]\n", "a: tag tag:yaml.org,2002:python/object/apply:os.system is not allowed"),
    (b"a: !!binary aGk=\n", "a: tag tag:yaml.org,2002:binary is not allowed"),
    (b"a: !custom x\n", "a: tag !custom is not allowed"),
    (b"base: &b {x: 1}\na:\n  <<: *b\n", "a: merge keys (<<) are not allowed; write the keys out"),
    (b"on: push\n", 'on: key on would become the boolean True; keys must be text: write "on"'),
    (b"? [a, b]\n: 1\n", "line 1: a key must be text, not a list or mapping"),
    (b"a: *nowhere\n", "a: alias *nowhere refers to no anchor defined before it"),
    (b"a: .inf\n", "a: .inf is not a finite number"),
    (b"a: [1, 2\n", "line 2, column 1: not valid YAML (did not find expected ',' or ']')"),
])
def test_other_yaml_hazards_are_refused(text, message):
    assert refused(text) == f"{NAME}: {message}"


def test_a_key_holding_escape_sequences_is_shown_visibly():
    assert refused(b'config:\n  "leadgen:x\\e[31m": a\n  "leadgen:x\\e[31m": b\n') == (
        f"{NAME}: config.leadgen:x\\x1b[31m: duplicate key (first on line 2, again on line 3); "
        "the last would silently win")


@pytest.mark.parametrize("relative", sorted(
    [p.relative_to(ROOT).as_posix() for p in ROOT.glob("Pulumi*.yaml")]
    + [p.relative_to(ROOT).as_posix() for p in (ROOT / "changes").glob("*.yaml")]
    + ["policies/exemptions.yaml"]))
def test_every_file_the_project_takes_in_today_passes(relative):
    data = strictread.load_yaml(ROOT / relative, name=relative)
    assert isinstance(data, dict) and data


def test_a_file_that_takes_no_aliases_refuses_an_anchor_where_it_is_defined():
    # Change requests and exemptions are read with max_aliases=0: an anchor there could only be
    # meant for an alias, so it is named at its own line, before any alias is reached.
    with pytest.raises(ReadError) as err:
        strictread.load_yaml(b"a: 1\nb: &x [1]\nc: *x\n", name=NAME, limits=Limits(max_aliases=0))
    assert str(err.value) == f"{NAME}: b: carries an anchor (&x); this file takes no aliases: write every value out, once"
    assert strictread.load_yaml(b"b: &x [1]\nc: *x\n", name=NAME) == {"b": [1], "c": [1]}
