"""Every planned-change block of the runbooks (`bash change:<name>`), run verbatim against the pack.

A planned change of production waits for staging to apply and soak its commit (the promotion
gate: an attestation staging's pipeline signs, 60 minutes old); no test can be that pipeline
without faking its clock. So the block, signed as the budget's band asks, must reach an update
the pack refuses for that soak and nothing else; without the signature the same block is refused
for it too, or the first test would prove nothing."""
import pytest

from harness import CHANGE, blocks, runbooks
from test_emergency_blocks import TESTED_ELSEWHERE

TEAM_LEAD = "team-lead@example.com"
EXPECTED = {
    "canary-release.md:release-step": (
        {}, {"leadgen:canary.tag": "2.15.0", "leadgen:canary.weight": "10", "leadgen:canary.replicas": "2"}),
    "canary-release.md:promote": (
        {"leadgen:canary.tag": "2.15.0", "leadgen:canary.weight": 100, "leadgen:canary.replicas": 3},
        {"leadgen:workloads.api.tag": "2.15.0", "leadgen:canary.weight": "0", "leadgen:canary.tag": "",
         "leadgen:canary.replicas": "2"}),
}

ALL = [b for path in runbooks(exclude=TESTED_ELSEWHERE) for b in blocks(path, CHANGE)]


def test_every_change_block_has_its_expected_outcome():
    assert sorted(b.id for b in ALL) == sorted(EXPECTED)


@pytest.mark.parametrize("block", ALL, ids=lambda b: b.id)
def test_the_signed_block_waits_only_for_stagings_soak(block, tmp_path, runbook_keyring, slo_store):
    from harness import Checkout

    before, after = EXPECTED[block.id]
    checkout = Checkout.make(tmp_path, runbook_keyring, signer=TEAM_LEAD, config=before, slo_store=slo_store)
    run = checkout.run(block)
    assert [u.command for u in run.updates] == ["up"], run.output[-4000:]
    update = run.updates[-1]
    assert (update.code, update.mandatory()) == (2, ["promotion-gate"]), update.output[-3000:]
    assert "has no attestation that staging applied it" in update.output
    # Everything before the update succeeded: the request verified, the commits were made.
    assert "ready" in run.output and run.code != 0
    assert "has no attestation that staging applied it" in update.output
    config = checkout.stack_config("production")
    assert {k: config.get(k) for k in after} == after
    # Staging got the same keys, so the image tags production runs are ones staging ran.
    staging = checkout.stack_config("staging")
    assert {k: staging.get(k) for k in after if "canary" in k} == {k: v for k, v in after.items() if "canary" in k}


@pytest.mark.parametrize("block", ALL, ids=lambda b: b.id)
def test_without_the_signature_the_pack_refuses_it_for_the_signature_too(block, tmp_path, runbook_keyring,
                                                                         slo_store):
    from harness import Checkout

    before, _ = EXPECTED[block.id]
    checkout = Checkout.make(tmp_path, runbook_keyring, signer=TEAM_LEAD, config=before, slo_store=slo_store)
    run = checkout.run(block, approvals=False)
    (update,) = run.updates
    assert update.code == 2
    assert {"change-request-required", "error-budget-gate", "promotion-gate"} <= set(update.mandatory())
