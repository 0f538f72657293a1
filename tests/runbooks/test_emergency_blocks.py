"""Every emergency block of the runbooks, run verbatim against the pack (harness.py).

With the CTO's signature the block must reach an update the pack allows, and leave the stack
file saying what the runbook says it changes; the same block without the signature must reach
the update and be refused by the pack, or the first test would prove nothing."""
import pytest

from harness import EMERGENCY, blocks, runbooks

# docs/runbooks/disaster-recovery.md's blocks are tested by tests/dr/ (the recovery stack's own
# state and checks); every other runbook's emergency block is listed here.
TESTED_ELSEWHERE = ("disaster-recovery.md",)

# Per block: production's config when the runbook is opened (the incident's state), and the keys
# the block must leave set in Pulumi.production.yaml.
CANARY = "2.15.0@sha256:8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4"  # production runs images by digest (kubernetes-container-image-digest-pinned)
CANARY_AT_10 = {"leadgen:canary.tag": CANARY, "leadgen:canary.weight": 10}
EXPECTED = {
    "slo-violation.md:canary-off": (CANARY_AT_10, {"leadgen:canary.weight": "0", "leadgen:canary.tag": CANARY}),
    "slo-violation.md:rollback-tag": ({}, {"leadgen:workloads.api.tag": "2.13.0@sha256:3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b"}),
    "slo-violation.md:scale-out": ({}, {"leadgen:workloads.api.maxReplicas": "20"}),
    "canary-release.md:rollback": (CANARY_AT_10, {"leadgen:canary.weight": "0", "leadgen:canary.tag": ""}),
    "high-api-error-rate.md:rollback-tag": ({}, {"leadgen:workloads.api.tag": "2.13.0"}),
    "pod-crash-looping.md:rollback-tag": ({}, {"leadgen:workloads.backend.tag": "2.13.0"}),
    "high-memory-usage.md:memory-limit": ({}, {"leadgen:workloads.api.memoryLimit": "2Gi"}),
    "persistent-volume-filling.md:prometheus-volume": ({}, {"leadgen:observability.prometheusStorageGb": "150"}),
    # No config change: the update puts back what was changed outside Pulumi.
    "monitoring-data-missing.md:restore-drift": ({}, {"leadgen:workloads.api.tag": "2.14.0"}),
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
