"""The application contract (README and docs/app-contract.md) says what the SLO rules read.

Both tables are rendered from the names the rules are built from (leadgen/observability/contract.py);
these tests hold the files to the renderer and the renderer to the rules."""
import re
import subprocess
import sys

from leadgen.observability import contract
from leadgen.observability.catalog import SOURCE_SERIES, series_in
from leadgen.observability.slo import parse_slos, slo_rule_file, slo_window_rule_file

SLOS = parse_slos([
    {"name": "api-availability", "service": "api", "objective": 99.9, "sli": "availability"},
    {"name": "api-latency", "service": "api", "objective": 99, "sli": "latency", "threshold": 0.5},
])


def test_the_readme_and_the_contract_page_carry_the_generated_table():
    done = subprocess.run([sys.executable, "-m", "leadgen.observability.contract", "--check"],
                          capture_output=True, text=True, cwd=contract.ROOT)
    assert done.returncode == 0, done.stderr
    for name in contract.FILES:
        assert contract.table() in (contract.ROOT / name).read_text()


def test_a_hand_edit_of_either_table_is_stale(tmp_path, monkeypatch):
    for name in contract.FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        text = (contract.ROOT / name).read_text().replace("`code`: the HTTP status", "`status`: the HTTP status")
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(contract, "ROOT", tmp_path)
    assert contract.main(["--check"]) == 1
    assert contract.main(["--write"]) == 0 and contract.main(["--check"]) == 0


def test_every_application_series_the_slo_rules_read_is_in_the_contract_and_nothing_else():
    rules = [slo_rule_file(SLOS, "https://example.test"), slo_window_rule_file(SLOS)]
    read = set()
    for f in rules:
        for group in f["groups"]:
            for rule in group["rules"]:
                read |= {s for s in series_in(rule["expr"]) if SOURCE_SERIES.get(s) == "application"}
    listed = {re.match(r"`([a-z_]+)`", series).group(1) for series, _, _ in contract.rows()}
    # _sum is the dashboards'; every series a rule reads is listed.
    assert read <= listed and listed - read == {"http_request_duration_seconds_sum"}
    # The labels and matchers the table names are the ones in the rules.
    exprs = "\n".join(r["expr"] for f in rules for g in f["groups"] for r in g["rules"])
    labels = {row[0].split("`")[1]: row[1] for row in contract.rows()}
    assert 'code=~"5.."' in exprs and labels["http_requests_total"].startswith("`code`")
    assert 'le="0.5"' in exprs and "default `0.5`" in labels["http_request_duration_seconds_bucket"]
