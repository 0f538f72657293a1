"""The audit's two engines give one verdict: the pack's catalog run in-process (the default, for
speed) and the pack started over gRPC as `pulumi policy analyze` starts it."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from platformctl.commands import audit
from test_audit_regressions import REGRESSIONS, production  # noqa: F401 - the module's fixture

TODAY = dt.date(2026, 11, 30)


def verdicts(path, engine):
    report = audit.audit_state(path, audit.ENGINES[engine], [], TODAY, with_cost=False)
    return sorted((v.policy, v.level, v.urn, v.message) for v in report.violations)


def test_both_engines_agree_on_the_production_export_with_every_regression(production, tmp_path):  # noqa: F811
    document = production
    for _, apply, _ in REGRESSIONS:
        document = apply(document)
    path = tmp_path / "regressed.json"
    path.write_text(json.dumps(document))
    in_process, over_grpc = verdicts(path, "catalog"), verdicts(path, "pack")
    assert len(in_process) >= len(REGRESSIONS)
    assert in_process == over_grpc


@pytest.mark.parametrize("name", ["r7-poc-test-1665589008.checkpoint.json", "gcp-gke-dev-1614771120.checkpoint.json"])
def test_both_engines_agree_on_real_exports(name):
    from test_audit_real_exports import EXPORTS

    assert verdicts(EXPORTS / name, "catalog") == verdicts(EXPORTS / name, "pack")
