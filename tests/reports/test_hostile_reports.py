"""Hostile names through every report format.

Every string field of a report holds something an attacker or a careless operator could put in a
URN, a stack name, a config key or a policy message: ANSI escapes, CR/LF, NUL, C1 and bidi
controls, backticks, `-->`, `<script>`, a spreadsheet formula, a mention, a URL with credentials
and a listed secret. Each format is then read back the way its consumer reads it: XML parsed by
ElementTree, CSV by the csv module, JSON and SARIF by json (SARIF against its schema), HTML by
html.parser, and Markdown checked for single-line headings, an intact marker, code spans that
close and table rows that keep their columns.
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import html.parser
import io
import json
import pathlib
import re
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from platformctl import reports
from platformctl.reports.escape import Escaper, marker_id

SCHEMAS = pathlib.Path("/work/shared/schemas")

SECRET = "s3cr3t-Passw0rd"
CREDENTIAL_URL = "https://admin:hunter2@prom.example.com/api/v1/query?token=tok-abc123&q=up"
LEAKS = ("hunter2", "tok-abc123", SECRET, "admin:")
HOSTILE = {
    "ansi": "\x1b[31mRED\x1b[0m\x1b]8;;http://evil.example/\x07link\x1b]8;;\x07",
    "crlf": "ok\r\nFAKE: PASS: no violations",
    "nul": "nul\x00byte",
    "backticks": "a`b``c```d`",
    "comment": "x --> <!-- y",
    "script": "<script>alert(1)</script>",
    "formula": "=cmd|' /C calc'!A0",
    "controls": "\x01\x07\x08\x0b\x0c\x7f\x85\x9b[2J",
    "bidi": "abc\u202edcba\u2066\u2069",
    "url": f"see {CREDENTIAL_URL}",
    "mention": "@leadgen/platform-team please",
    "pipe": "a|b||c",
    "secret": f"value={SECRET}",
    "surrogate": "lone\ud800half",
}
ALL = " ".join(HOSTILE.values())
# Raw characters no format may carry (CR/LF are checked per format: some use them as separators).
FORBIDDEN = re.compile("[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                       "\ud800-\udfff\ufffe\uffff]")


@dataclasses.dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    urn: str
    message: str
    severity: str = "high"


@dataclasses.dataclass(frozen=True)
class Exemption:
    policy: str
    urn: str
    reason: str
    ticket: str
    expires: dt.date

    def as_dict(self) -> dict:
        return {"policy": self.policy, "urn": self.urn, "reason": self.reason, "ticket": self.ticket,
                "expires": self.expires.isoformat()}


def hostile_report(kind: str = "audit") -> reports.Report:
    urn = "urn:pulumi:prod::leadgen::aws:s3/bucket:Bucket::"
    violations = [Violation(f"policy-{name}-{value}", "mandatory" if i % 2 else "advisory", urn + value,
                            f"{name}: {value}", ("critical", "high", "medium", "low")[i % 4])
                  for i, (name, value) in enumerate(HOSTILE.items())]
    exemption = Exemption(HOSTILE["formula"], urn + HOSTILE["ansi"], HOSTILE["crlf"] + HOSTILE["url"],
                          HOSTILE["script"], dt.date(2027, 1, 31))
    exempted = [(Violation("policy-x", "mandatory", urn + HOSTILE["backticks"], HOSTILE["comment"]), exemption)]
    changes = [reports.ChangeEvidence(version=3, kind="update", start=dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc),
                                      end=None, result="succeeded", change_request=HOSTILE["formula"],
                                      problems=(HOSTILE["crlf"], HOSTILE["nul"], HOSTILE["url"]))]
    cost = reports.CostView(total_usd=10.0, baseline_usd=5.0, baseline_source=CREDENTIAL_URL, items=(
        reports.CostItem(HOSTILE["ansi"], urn + HOSTILE["backticks"], HOSTILE["script"], 4.0, HOSTILE["crlf"]),
        reports.CostItem(HOSTILE["pipe"], urn + "ok", "aws:eks/cluster:Cluster", 6.0, HOSTILE["secret"])))
    return reports.Report(
        stack="prod-->\n<!-- x --> `y` " + HOSTILE["ansi"], project="leadgen\r\n### forged", kind=kind,
        generated_at=dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.timezone.utc), resource_count=7,
        violations=violations, exemptions=[exemption], exempted=exempted, cost=cost, changes=changes,
        period=(dt.date(2026, 3, 1), dt.date(2026, 3, 31)), source=CREDENTIAL_URL,
        notes=[f"Prometheus at {CREDENTIAL_URL}", HOSTILE["crlf"], HOSTILE["secret"]], secrets=[SECRET])


@pytest.fixture(params=["audit", "cost"])
def report(request) -> reports.Report:
    return hostile_report(request.param)


def assert_clean(text: str, fmt: str) -> None:
    bad = FORBIDDEN.search(text)
    assert bad is None, f"{fmt}: raw {bad.group()!r} at {bad.start()}: {text[max(0, bad.start() - 40):bad.start() + 40]!r}"
    for leak in LEAKS:
        assert leak not in text, f"{fmt} leaks {leak!r}"


@pytest.mark.parametrize("fmt", reports.FORMATS)
def test_no_format_carries_a_raw_control_character_or_a_secret(report, fmt, tmp_path):
    text = reports.render(report, fmt)
    assert_clean(text, fmt)
    assert "\r" not in text
    # The file is written whole too: a lone surrogate would have made the UTF-8 write fail.
    out = tmp_path / f"report.{fmt}"
    assert reports.write(report, fmt, out) == text and out.read_text(encoding="utf-8") == text


def test_table_shows_controls_visibly_and_forges_no_line(report):
    text = reports.render(report, "table")
    lines = text.splitlines()
    assert not any(line.startswith(("FAKE", "### forged")) for line in lines)
    assert "\\x1b[31mRED\\x1b[0m" in text and "nul\\x00byte" in text and "ok\\r\\nFAKE" in text
    assert "abc\\u202edcba" in text and "lone\\ud800half" in text
    assert "https://***@prom.example.com/api/v1/query?token=***&q=up" in text
    assert "value=***" in text
    coloured = reports.render(report, "table", color=True)
    # The only escapes left are the table's own colours.
    assert set(re.findall(r"\x1b\[[0-9;]*m", coloured)) <= {"\x1b[0m", "\x1b[31;1m", "\x1b[33m", "\x1b[32m", "\x1b[2m"}
    assert coloured.count("\x1b") == len(re.findall(r"\x1b\[[0-9;]*m", coloured))


def test_csv_reads_back_with_no_formula_and_escaped_controls(report):
    rows = list(csv.reader(io.StringIO(reports.render(report, "csv"))))
    header, body = rows[0], rows[1:]
    assert len(body) == len(report.violations) + len(report.exempted)
    assert all(len(row) == len(header) for row in body)
    for row in body:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    by_policy = {row[header.index("policy")]: row for row in body}
    formula = by_policy[f"policy-formula-{HOSTILE['formula']}"]
    assert formula[header.index("message")] == "formula: " + HOSTILE["formula"]  # not at the start: kept
    exempted = next(row for row in body if row[0] == "exempted")
    assert exempted[header.index("exemption_ticket")] == HOSTILE["script"]  # CSV has no markup to escape
    assert by_policy[f"policy-nul-nul\\x00byte"][header.index("message")] == "nul: nul\\x00byte"


def test_csv_prefixes_every_formula_trigger():
    escaper = Escaper()
    for trigger in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert escaper.csv(trigger).startswith("'"), trigger
    assert escaper.csv("=HYPERLINK(\"http://evil\")") == "'=HYPERLINK(\"http://evil\")"
    assert escaper.csv("policy-1") == "policy-1"


def code_spans(line: str) -> tuple[str, list[str]]:
    """CommonMark code spans: a backtick run opens, the next run of the same length closes.
    Returns the line with spans removed and the spans' contents; an unclosed run fails."""
    outside, spans, i = [], [], 0
    while i < len(line):
        if line[i] == "\\" and i + 1 < len(line):
            outside.append(line[i:i + 2])
            i += 2
            continue
        if line[i] != "`":
            outside.append(line[i])
            i += 1
            continue
        run = len(re.match(r"`+", line[i:]).group())
        closer = re.compile(r"(?<!`)`{%d}(?!`)" % run).search(line, i + run)
        assert closer is not None, f"code span of {run} backtick(s) never closes: {line!r}"
        spans.append(line[i + run:closer.start()])
        i = closer.end()
    return "".join(outside), spans


def test_markdown_keeps_marker_headings_code_spans_and_tables_intact(report):
    text = reports.render(report, "markdown")
    lines = text.split("\n")
    marker = lines[0]
    assert re.fullmatch(r"<!-- platformctl-report:[A-Za-z0-9._/%-]+ -->", marker), marker
    assert marker.count("--") == 2  # nothing inside the marker can close it
    assert marker == f"<!-- platformctl-report:{marker_id(report.stack)} -->"
    # Only our own headings start a line; the forged one stays inside the title, visibly.
    headings = [line for line in lines if line.startswith("#")]
    assert headings[0].startswith(f"### `{report.kind}` leadgen\\\\r\\\\n### forged/prod--&gt;\\\\n&lt;!-- x --&gt; ")
    assert [h.split(" (")[0].split(":")[0] for h in headings[1:]] == ["#### Change evidence", "#### Monthly cost estimate"]
    assert not any(line.startswith(("FAKE", "> FAKE")) for line in lines)
    for line in lines[1:]:
        outside, spans = code_spans(line)  # fails if any span is left open
        # Outside code spans: no raw HTML but our own <details>/<summary>, no comment, no mention.
        tags = re.findall(r"<(/?[A-Za-z!][^ >]*)", outside)
        assert set(tags) <= {"details", "/details", "summary", "/summary"}, (tags, line)
        assert "-->" not in outside and "<!--" not in outside and "@" not in outside, line
    # Every table row keeps its header's column count: no `|` in a value splits a cell (GFM
    # splits cells before it parses code spans, so only an escaped pipe is safe even there).
    cells = lambda row: len(re.split(r"(?<!\\)\|", row)) - 2
    tables = 0
    for index, line in enumerate(lines):
        if re.fullmatch(r"\|(-+:?\|)+", line):
            tables += 1
            width = cells(line)
            assert cells(lines[index - 1]) == width
            for row in lines[index + 1:]:
                if not row.startswith("|"):
                    break
                assert cells(row) == width, row
    assert tables >= 4
    assert "| ```` urn:pulumi:prod::leadgen::aws:s3/bucket:Bucket::a`b``c```d` ```` |" in text


def test_markdown_code_span_cannot_be_closed_from_inside():
    escaper = Escaper()
    for content in ("a`b", "``", "x```y`", "`lead", "trail`", "", " "):
        span = escaper.md_code(content, table=False)
        _, spans = code_spans(span)
        assert len(spans) == 1, (content, span)
        inner = spans[0]
        if inner.startswith(" ") and inner.endswith(" ") and inner.strip():
            inner = inner[1:-1]
        assert inner == content or (not content.strip() and not inner.strip()), (content, span)
    assert escaper.md_code("a|b") == "`a\\|b`"


def test_comment_marker_keeps_plain_stack_names_and_encodes_the_rest():
    assert marker_id("production") == "production"
    assert marker_id("prod-eu.1_x") == "prod-eu.1_x"
    assert marker_id("org/leadgen/prod") == "org/leadgen/prod"
    assert marker_id("a-->b") == "a%2D-%3Eb"
    assert marker_id("a\n<!--") == "a%0A%3C%21%2D%2D"
    assert marker_id("ends-") == "ends%2D"


def test_html_has_only_our_own_elements_and_escaped_attributes(report):
    text = reports.render(report, "html")

    class Collect(html.parser.HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.attrs, self.data = [], [], []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)
            self.attrs += [value or "" for _, value in attrs]

        def handle_data(self, data):
            self.data.append(data)

        def handle_comment(self, data):
            raise AssertionError(f"a comment appeared: {data!r}")

    parser = Collect()
    parser.feed(text)
    assert parser.tags.count("script") == 1  # ours
    assert set(parser.tags) <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "span", "div", "b",
                                "table", "thead", "tbody", "tr", "th", "td", "code", "svg", "text", "rect", "label",
                                "select", "option", "script"}
    assert any(HOSTILE["script"] in d for d in parser.data)  # shown as text, not run
    assert any("\\x1b[31mRED" in a for a in parser.attrs)  # data-label: escaped and visible
    assert_clean("".join(parser.data) + "".join(parser.attrs), "html (parsed)")


def test_sarif_is_valid_and_every_string_is_visible_text(report):
    document = json.loads(reports.render(report, "sarif"))
    schema = json.loads((SCHEMAS / "sarif-2.1.0.json").read_text())
    jsonschema.validate(document, schema, cls=jsonschema.Draft7Validator)
    strings = []

    def walk(value):
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, dict):
            [walk(k) or walk(v) for k, v in value.items()]
        elif isinstance(value, list):
            [walk(v) for v in value]
    walk(document)
    assert_clean("".join(strings), "sarif (decoded)")
    run = document["runs"][0]
    uri = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert re.fullmatch(r"Pulumi\.[A-Za-z0-9._~%-]+\.yaml", uri), uri
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert all(rule_ids[r["ruleIndex"]] == r["ruleId"] for r in run["results"])


def test_junit_is_well_formed_xml_with_controls_shown(report):
    text = reports.render(report, "junit")
    root = ET.fromstring(text)  # raises on any character XML 1.0 forbids
    names = [case.get("name") for case in root.iter("testcase")]
    assert any("\\x1b[31mRED" in n for n in names) and any("nul\\x00byte" in n for n in names)
    values = [v for el in root.iter() for v in el.attrib.values()] + [el.text or "" for el in root.iter()]
    assert_clean("".join(values), "junit (parsed)")
    assert int(root.get("failures")) == sum(1 for c in root.iter("testcase") if c.find("failure") is not None)


def test_json_keeps_values_exact_but_redacted(report):
    data = json.loads(reports.render(report, "json"))
    urns = [v["urn"] for v in data["violations"]]
    assert "urn:pulumi:prod::leadgen::aws:s3/bucket:Bucket::" + HOSTILE["ansi"] in urns  # exact, JSON-escaped
    assert data["source"] == "https://***@prom.example.com/api/v1/query?token=***&q=up"
    assert data["notes"][2] == "value=***"
    decoded = json.dumps(data, ensure_ascii=False)
    for leak in LEAKS:
        assert leak not in decoded


@pytest.mark.parametrize("text, redacted", [
    ("https://user:pass@host/x", "https://***@host/x"),
    ("postgres://app:p%40ss@db:5432/leadgen", "postgres://***@db:5432/leadgen"),
    ("https://token@github.com/org/repo", "https://***@github.com/org/repo"),
    ("https://host/q?api_key=K1&x=1&password=P2", "https://host/q?api_key=***&x=1&password=***"),
    ("https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA1&X-Amz-Signature=abc",
     "https://b.s3.amazonaws.com/k?X-Amz-Credential=***&X-Amz-Signature=***"),
    ("secure: v1:aGVsbG8gd29y:bGQgaGVsbG8gd29ybGQ=", "secure: ***"),
    ("mail ops@example.com about https://host/", "mail ops@example.com about https://host/"),
    # An unencoded "@" in the password: cut at the last "@" of the authority, not the first.
    ("https://user:p@ss@host/x", "https://***@host/x"),
    ("amqp://u:a@b@c@broker:5672/vhost?x=1", "amqp://***@broker:5672/vhost?x=1"),
    ("see https://host/path/@me and https://u:s@cr@t@h2", "see https://host/path/@me and https://***@h2"),
])
def test_redaction_of_credentials_in_urls_and_ciphertext(text, redacted):
    assert Escaper().redact(text) == redacted
