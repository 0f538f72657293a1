"""The pack's modules import as `governance` here too (platformctl.pack puts the pack folder on
sys.path, as the CLI does when it runs policies/)."""
import platformctl.pack  # noqa: F401
