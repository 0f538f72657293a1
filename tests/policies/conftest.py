"""The pack's modules import as `governance`, as they do when the CLI runs policies/ (leadgen.pack,
imported by the suite's conftest, is the one place that puts the pack folder on sys.path). This
folder's helpers (`policy_baseline`, `guardrails`, `signed`) serve the family folders below it."""
import pytest


@pytest.fixture(scope="session")
def keyring(tmp_path_factory):
    """Throwaway SSH keys for every approver the tests use (see signed.py)."""
    from signed import Keyring

    return Keyring(tmp_path_factory.mktemp("keys"))
