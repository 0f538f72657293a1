"""Every emergency block of the runbooks, run verbatim against the pack (harness.py).

With the CTO's signature the block must reach an update the pack allows, and leave the stack
file saying what the runbook says it changes; the same block without the signature must reach
the update and be refused by the pack, or the first test would prove nothing."""
import pytest

from harness import EMERGENCY, blocks, runbooks

# docs/runbooks/disaster-recovery.md's failover block runs against the recovery stack, with its own
# expectations (test_dr_failover_block.py); every other runbook's emergency block is listed here.
TESTED_ELSEWHERE = ("disaster-recovery.md",)

# Per block: production's config when the runbook is opened (the incident's state), and the keys
# the block must leave set in Pulumi.production.yaml.
CANARY_AT_10 = {"leadgen:canary.tag": "2.15.0@sha256:8b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d", "leadgen:canary.weight": 10}
EXPECTED = {
    "slo-violation.md:canary-off": (CANARY_AT_10, {"leadgen:canary.weight": "0", "leadgen:canary.tag": "2.15.0@sha256:8b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d"}),
    "slo-violation.md:rollback-tag": ({}, {"leadgen:workloads.api.tag": "2.13.0@sha256:5d2a9c1e7b3f4a6d8c0e2b4f6a8c0e2d4b6f8a0c2e4d6b8f0a2c4e6d8b0f2a4c"}),
    "slo-violation.md:scale-out": ({}, {"leadgen:workloads.api.maxReplicas": "20"}),
    "canary-release.md:rollback": (CANARY_AT_10, {"leadgen:canary.weight": "0", "leadgen:canary.tag": ""}),
    "high-api-error-rate.md:rollback-tag": ({}, {"leadgen:workloads.api.tag": "2.13.0@sha256:5d2a9c1e7b3f4a6d8c0e2b4f6a8c0e2d4b6f8a0c2e4d6b8f0a2c4e6d8b0f2a4c"}),
    "pod-crash-looping.md:rollback-tag": ({}, {"leadgen:workloads.backend.tag": "2.13.0@sha256:5d2a9c1e7b3f4a6d8c0e2b4f6a8c0e2d4b6f8a0c2e4d6b8f0a2c4e6d8b0f2a4c"}),
    "high-memory-usage.md:memory-limit": ({}, {"leadgen:workloads.api.memoryLimit": "2Gi"}),
    "persistent-volume-filling.md:prometheus-volume": ({}, {"leadgen:observability.prometheusStorageGb": "150"}),
    # No config change: the update puts back what was changed outside Pulumi.
    "monitoring-data-missing.md:restore-drift": ({}, {"leadgen:workloads.api.tag": "2.14.0@sha256:6f1c1bd1a1e1cb3b1d8c6f0a3f1e9d7c2b4a5e6f708192a3b4c5d6e7f8091a2b"}),
}

ALL = [b for path in runbooks(exclude=TESTED_ELSEWHERE) for b in blocks(path, EMERGENCY)]


def test_every_emergency_block_has_its_expected_outcome():
    assert sorted(b.id for b in ALL) == sorted(EXPECTED)


@pytest.mark.parametrize("block", ALL, ids=lambda b: b.id)
def test_the_block_reaches_an_update_the_pack_allows(block, tmp_path, runbook_keyring):
    from harness import Checkout

    before, after = EXPECTED[block.id]
    checkout = Checkout.make(tmp_path, runbook_keyring, config=before)
    run = checkout.run(block)
    assert run.code == 0, run.output[-4000:]
    assert [u.command for u in run.updates] == ["up"]
    update = run.updates[-1]
    assert (update.code, update.mandatory()) == (0, []), update.output[-3000:]
    # The pack saw the emergency and let it through, flagged for the next CAB.
    assert "governance-emergency-change" in update.advisory()
    config = checkout.stack_config("production")
    assert {k: config.get(k) for k in after} == after
    assert config["leadgen:changeRequest"].startswith("CR-")


@pytest.mark.parametrize("block", ALL, ids=lambda b: b.id)
def test_without_the_signature_the_pack_refuses_the_same_block(block, tmp_path, runbook_keyring):
    from harness import Checkout

    before, after = EXPECTED[block.id]
    checkout = Checkout.make(tmp_path, runbook_keyring, config=before)
    run = checkout.run(block, approvals=False)
    assert "change approve" not in block.without_approvals()
    assert [u.command for u in run.updates] == ["up"], run.output[-4000:]
    update = run.updates[-1]
    assert update.code == 2, update.output[-3000:]
    assert "change-request-required" in update.mandatory()
    assert run.code != 0
