"""The runbook's failover block (docs/runbooks/disaster-recovery.md, `emergency:failover`), run
verbatim (runbook_runner.py) in a throwaway copy of the repository: the on-call DBA's emergency
request with a window starting now, the config flip, the CTO's signature, `platformctl change verify` and `pulumi up --policy-pack policies` against
the recovery stack. With the signature the pack lets the update through (flagged for the CAB);
without it, the same block is refused. What the update changes is pinned in test_failback.py."""
from __future__ import annotations

import importlib.util
import pathlib
import re

import pytest

from platformctl import dr_plan
from platformctl.project import stack_config
from tests.dr import runbook_runner as runner

SIGNED = pathlib.Path(__file__).resolve().parents[1] / "policies" / "signed.py"


@pytest.fixture(scope="module")
def keyring(tmp_path_factory):
    # The change-command tests' throwaway approvers and keys, loaded by path (tests/policies is not a package).
    spec = importlib.util.spec_from_file_location("dr_runbook_signed", SIGNED)
    signed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(signed)
    return signed.Keyring(tmp_path_factory.mktemp("dr-keys"))


def mandatory(update) -> list[str]:
    return sorted(set(re.findall(r"^mandatory\s+\S+\s+(\S+)", update["output"], re.MULTILINE)))


def advisory(update) -> list[str]:
    return sorted(set(re.findall(r"^advisory\s+\S+\s+(\S+)", update["output"], re.MULTILINE)))


def test_the_failover_block_passes_verify_and_the_pack(tmp_path, keyring):
    checkout = runner.Checkout.make(tmp_path, keyring)
    run = checkout.run(runner.block("failover"))
    assert run.code == 0, run.output[-4000:]
    # `platformctl change verify` ran inside the block (set -e): the signature and CAB rules hold.
    assert "CR-2026-951: ready" in run.output.splitlines()
    [update] = run.updates
    assert (update["stack"], update["code"]) == (dr_plan.RECOVERY, 0), update["output"][-3000:]
    assert mandatory(update) == []
    assert "governance-emergency-change" in advisory(update)
    config = stack_config(dr_plan.RECOVERY, checkout.root)
    [failover] = [s for s in dr_plan.STEPS if s.name == "failover"]
    assert {k: config[f"leadgen:{k}"] for k in failover.config} == failover.config
    assert config["leadgen:changeRequest"] == "CR-2026-951"
    request = (checkout.root / "changes" / "CR-2026-951.yaml").read_text()
    assert "change_type: emergency" in request and "risk_level: critical" in request
    assert "stacks: [production-dr]" in request and "requested_by: \"dba-oncall@example.com\"" in request
    # Committed as the pipeline would receive it: the request, the flip and the approval.
    assert checkout.git("status", "--porcelain").strip() == ""


def test_without_the_ctos_signature_the_pack_refuses_the_failover(tmp_path, keyring):
    checkout = runner.Checkout.make(tmp_path, keyring)
    run = checkout.run(runner.block("failover"), approvals=False)
    assert "change approve" not in runner.without_approvals(runner.block("failover"))
    [update] = run.updates
    assert update["code"] == 2, update["output"][-3000:]
    assert "change-request-required" in mandatory(update)
    assert run.code != 0
