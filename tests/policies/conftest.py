"""The pack's modules import as `governance`, as they do when the CLI runs policies/ (runpy puts
the pack folder on sys.path)."""
import pathlib
import sys

import pytest

PACK_DIR = pathlib.Path(__file__).resolve().parents[2] / "policies"
if str(PACK_DIR) not in sys.path:
    sys.path.insert(0, str(PACK_DIR))


@pytest.fixture(scope="session")
def keyring(tmp_path_factory):
    """Throwaway SSH keys for every approver the tests use (see signed.py)."""
    from signed import Keyring

    return Keyring(tmp_path_factory.mktemp("keys"))
