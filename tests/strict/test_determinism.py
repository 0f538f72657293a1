"""Two runs of a stack give identical inputs: a preview's saved plan (`pulumi up --plan`) holds
only when the update sends what the preview sent. Nothing random or clock-driven at run time;
randomness lives in stateful `random` resources, drawn once and kept in state."""
from __future__ import annotations

import pytest

from platformctl.program.engine import run_program
from platformctl.program.mocks import PlatformMocks
from platformctl.project import ROOT

STACKS = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml"))


def _inputs(stack: str) -> dict[str, dict]:
    return {r["urn"]: r["inputs"] for r in run_program(stack, preview=False).resources}


@pytest.mark.parametrize("stack", STACKS)
def test_two_runs_of_a_stack_send_the_same_inputs(stack):
    first, second = _inputs(stack), _inputs(stack)
    assert first.keys() == second.keys()
    assert [urn for urn in first if first[urn] != second[urn]] == []


def test_a_run_time_draw_differs_between_runs_as_in_the_cloud():
    # What made the old Redis token differ on every run: Secrets Manager's generator, called by
    # the program, answers anew each time; the mock does too, so the test above would catch it.
    class Args:
        token, args = "aws:secretsmanager/getRandomPassword:getRandomPassword", {"passwordLength": 64}

    mocks = PlatformMocks()
    assert mocks.call(Args)["randomPassword"] != mocks.call(Args)["randomPassword"]


def test_the_redis_token_is_a_stateful_random_resource_rotated_by_its_version():
    from tests.helpers import run_program as run_with

    def token(version: int):
        run = run_with("staging", {"leadgen:data.redis.authTokenVersion": version}, preview=False)
        (password,) = run.by_type("random:index/randomPassword:RandomPassword")
        return password["inputs"]["keepers"], password["outputs"]["result"]

    keepers, value = token(1)
    assert keepers == {"version": "1"} and token(1)[1] == value and token(2)[1] != value
