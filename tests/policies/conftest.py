"""The pack's modules import as `governance`, as they do when the CLI runs policies/ (runpy puts
the pack folder on sys.path)."""
import pathlib
import sys

PACK_DIR = pathlib.Path(__file__).resolve().parents[2] / "policies"
if str(PACK_DIR) not in sys.path:
    sys.path.insert(0, str(PACK_DIR))
