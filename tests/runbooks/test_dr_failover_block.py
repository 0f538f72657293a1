"""The disaster-recovery runbook's failover block (`emergency:failover`), run verbatim through the
shared harness (harness.py) against the recovery stack: the on-call DBA's emergency request with a
window starting now, the config flip, the CTO's signature, `platformctl change verify` and
`pulumi up --policy-pack policies`. With the signature the pack lets the update through (flagged
for the CAB); without it the same block is refused. What the update changes is pinned in
tests/dr/test_failback.py; the failback table against the drill in tests/dr/test_dr_runbook_failback.py."""
from __future__ import annotations

from harness import EMERGENCY, RUNBOOKS, blocks

from platformctl import dr_plan

RUNBOOK = RUNBOOKS / "disaster-recovery.md"


def _failover():
    [block] = [b for b in blocks(RUNBOOK, EMERGENCY) if b.name == "failover"]
    return block


def test_the_failover_block_is_the_runbooks_only_emergency_block():
    assert [b.name for b in blocks(RUNBOOK, EMERGENCY)] == ["failover"]


def test_the_failover_block_passes_verify_and_the_pack(checkout):
    run = checkout.run(_failover())
    assert run.code == 0, run.output[-4000:]
    # `platformctl change verify` ran inside the block (set -e): the signature and CAB rules hold.
    assert "CR-2026-951: ready" in run.output.splitlines()
    [update] = run.updates
    assert (update.stack, update.code) == (dr_plan.RECOVERY, 0), update.output[-3000:]
    assert update.mandatory() == []
    assert "governance-emergency-change" in update.advisory()
    config = checkout.stack_config(dr_plan.RECOVERY)
    [failover] = [s for s in dr_plan.STEPS if s.name == "failover"]
    assert {k: config[f"leadgen:{k}"] for k in failover.config} == failover.config
    assert config["leadgen:changeRequest"] == "CR-2026-951"
    request = (checkout.root / "changes" / "CR-2026-951.yaml").read_text()
    assert "change_type: emergency" in request and "risk_level: critical" in request
    assert "stacks: [production-dr]" in request and "requested_by: \"dba-oncall@example.com\"" in request
    # Committed as the pipeline would receive it: the request, the flip and the approval.
    assert checkout.git("status", "--porcelain").strip() == ""


def test_without_the_ctos_signature_the_pack_refuses_the_failover(checkout):
    block = _failover()
    assert "change approve" not in block.without_approvals()
    run = checkout.run(block, approvals=False)
    [update] = run.updates
    assert update.code == 2, update.output[-3000:]
    assert "change-request-required" in update.mandatory()
    assert run.code != 0
