"""Fixtures for running runbook blocks (harness.py): the throwaway approvers' keys, made once."""
import importlib.util
import pathlib

import pytest

SIGNED = pathlib.Path(__file__).resolve().parents[1] / "policies" / "signed.py"


def _signed():
    # The signed-request helpers of the change-command tests (tests/policies/signed.py), loaded by
    # path so this folder does not put tests/policies' modules on everyone's sys.path.
    spec = importlib.util.spec_from_file_location("runbook_signed", SIGNED)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def runbook_keyring(tmp_path_factory):
    return _signed().Keyring(tmp_path_factory.mktemp("runbook-keys"))


@pytest.fixture()
def checkout(tmp_path, runbook_keyring):
    from harness import Checkout

    return Checkout.make(tmp_path, runbook_keyring)
