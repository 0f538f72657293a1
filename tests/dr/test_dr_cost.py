"""`platformctl cost` shows a recovery site beside its primary, and the standby costs what a warm
standby should: a scaled-down copy, not 79 % of production."""
from __future__ import annotations

import argparse
import json

from platformctl.commands import cost


def test_the_standby_is_priced_beside_production_and_is_scaled_down(capsys):
    args = argparse.Namespace(stack="production-dr", against=None, format="json", out=None)
    assert cost.main(args) == 0
    got = json.loads(capsys.readouterr().out)["cost"]
    production = got["baseline_usd"]
    assert production is not None and production > 1000
    # Redis at the standby's node type and a single-AZ replica: under half of production's.
    assert got["monthly_usd"] < 0.5 * production
    notes = {r["urn"].rsplit("::", 1)[-1]: r["note"] for r in got["resources"]}
    assert "cache.t4g.medium" in notes["leadgen-production-dr-redis"]
    assert "Single-AZ" in notes["leadgen-production-dr-postgres"]


def test_a_primary_stack_has_no_baseline_of_its_own(capsys):
    args = argparse.Namespace(stack="staging", against=None, format="json", out=None)
    assert cost.main(args) == 0
    assert json.loads(capsys.readouterr().out)["cost"]["baseline_usd"] is None
