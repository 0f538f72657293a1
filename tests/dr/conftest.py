"""The pack's modules import as `governance` here too (platformctl.pack puts the pack folder on
sys.path, as the CLI does when it runs policies/). The recovery stack's program runs are shared by
the module's tests: each is a whole program under the mocks."""
import pytest

import platformctl.pack  # noqa: F401
from tests.helpers import run_program

STACK = "production-dr"


@pytest.fixture(scope="session")
def dr_runs():
    """Runs of the recovery stack, as an update sees them (every output known), by step."""
    cache = {}

    def get(step: str):
        if step not in cache:
            overrides = {"standby": {}, "active": {"leadgen:dr.state": "active"},
                         "handback": {"leadgen:dr.state": "handback"}}[step]
            cache[step] = run_program(STACK, overrides, preview=False)
        return cache[step]
    return get


@pytest.fixture(scope="session")
def dr_preview():
    """The recovery stack as `platformctl preview --stack production-dr` runs it."""
    return run_program(STACK, preview=True)


@pytest.fixture(scope="session")
def rehearsal(tmp_path_factory):
    """The runbook's failover and failback updates, rehearsed offline as `platformctl dr drill` does."""
    from platformctl import dr_plan

    return dr_plan.rehearse(lambda stack, overrides: run_program(stack, overrides, preview=False),
                            workdir=tmp_path_factory.mktemp("drill"))
