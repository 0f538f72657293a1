"""Fixtures for running runbook blocks (harness.py): the throwaway approvers' keys, made once, and
an SLO store for planned changes."""
import importlib.util
import pathlib
import sys

import pytest

POLICY_TESTS = pathlib.Path(__file__).resolve().parents[1] / "policies"


def _load(name: str):
    # The change-command tests' helpers (tests/policies/<name>.py), loaded by path under a name of
    # their own, so this folder does not put tests/policies' modules on everyone's sys.path.
    alias = f"runbook_{name}"
    if alias not in sys.modules:
        spec = importlib.util.spec_from_file_location(alias, POLICY_TESTS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[alias] = module  # dataclasses look their module up while the class is made
        spec.loader.exec_module(module)
    return sys.modules[alias]


@pytest.fixture(scope="session")
def runbook_keyring(tmp_path_factory):
    return _load("signed").Keyring(tmp_path_factory.mktemp("runbook-keys"))


@pytest.fixture()
def checkout(tmp_path, runbook_keyring):
    from harness import Checkout

    return Checkout.make(tmp_path, runbook_keyring)


@pytest.fixture()
def slo_store():
    """A Prometheus answering `slo_error_budget_remaining` of api at 42 %: the matrix's optimize
    band, where a planned change needs a team lead's signature (tests/prometheus_stub.py)."""
    from tests.prometheus_stub import answering

    with answering("42", slo_name="api-availability", service="api") as url:
        yield url
