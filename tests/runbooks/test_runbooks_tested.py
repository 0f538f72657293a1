"""No runbook step changes production outside a block the harness runs (harness.py)."""
import pytest

from harness import blocks, runbooks, untested_production_commands
from test_emergency_blocks import TESTED_ELSEWHERE


@pytest.mark.parametrize("path", runbooks(exclude=TESTED_ELSEWHERE), ids=lambda p: p.name)
def test_every_production_command_is_in_a_tested_block(path):
    blocks(path)  # the marks themselves read unambiguously
    assert untested_production_commands(path) == []


def test_the_runbooks_that_change_production_have_tested_blocks():
    changing = {p.name for p in runbooks(exclude=TESTED_ELSEWHERE) if blocks(p)}
    assert {"slo-violation.md", "canary-release.md", "high-api-error-rate.md", "pod-crash-looping.md",
            "high-memory-usage.md", "persistent-volume-filling.md", "monitoring-data-missing.md"} <= changing


def test_no_block_edits_a_request_with_sed():
    """`change new --description --impact --rollback` writes the request whole; a block once edited
    the template with GNU sed, which a macOS laptop does not have."""
    for path in runbooks():
        for block in blocks(path):
            assert "sed -i" not in block.text and "--description" in block.text, block.id
