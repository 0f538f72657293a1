"""`platformctl dr drill`: failover and failback rehearsed offline, each update's diff printed and
checked against what the runbook says it changes; the record counts steps, never clock time."""
from __future__ import annotations

import dataclasses
import json

from platformctl import dr_plan
from platformctl.cli import main as cli


def drill(monkeypatch, rehearsed, *args):
    # The rehearsal is the session's (tests/dr/conftest.py), run exactly as the command runs it.
    monkeypatch.setattr(dr_plan, "rehearse", lambda run: rehearsed)
    return cli(["dr", "drill", *args])


def test_the_drill_prints_each_updates_diff_and_finds_it_as_the_runbook_says(monkeypatch, rehearsal, tmp_path, capsys):
    record = tmp_path / "drill.json"
    assert drill(monkeypatch, rehearsal, "--out", str(record)) == 0
    out = capsys.readouterr().out
    steps = out.split("\n== step ")[1:]
    assert [s.split(":", 1)[1].split("(")[0].strip() for s in steps] == [s.name for s in dr_plan.STEPS]
    rebuild = steps[2]
    assert rebuild.startswith("3/7: rebuild-primary (production)")
    assert "config: leadgen:dr.replicaOf: 'production-dr'" in rebuild
    assert " +- aws:rds/instance:Instance leadgen-production-postgres replace" in rebuild
    assert "replicateSourceDb: null => arn:aws:rds:us-west-2:123456789012:db:leadgen-production-dr-postgres (forces replacement)" in rebuild
    assert "ok: changes exactly what the runbook says" in rebuild
    assert "step 1/7: failover (production-dr) - the primary's region is down" in out
    assert out.rstrip().endswith("dr drill: 7 updates (1 failover, 6 failback), 12 manual actions and checks; "
                                 "every update changes what the runbook says")
    doc = json.loads(record.read_text())
    assert (doc["ok"], doc["updates"], doc["manualActions"]) == (True, {"failover": 1, "failback": 6}, 12)
    assert [(s["step"], s["ok"], s["primaryDown"]) for s in doc["steps"]][:2] == [
        ("failover", True, True), ("unprotect-primary", True, False)]
    # Nothing in the record depends on when the drill ran.
    assert "2026-12" not in record.read_text().replace("20261203", "")


def test_an_update_that_changes_something_else_fails_the_drill(monkeypatch, rehearsal, capsys):
    wrong = [dataclasses.replace(r, step=dataclasses.replace(r.step, expect={"update": ["leadgen-production-postgres"]}))
             if r.step.name == "rebuild-primary" else r for r in rehearsal]
    assert drill(monkeypatch, wrong) == 2
    out = capsys.readouterr().out
    assert "FAIL: the runbook says {'update': ['leadgen-production-postgres']}, the update changes {'create': " in out
    assert out.rstrip().endswith("MISMATCH in rebuild-primary")
