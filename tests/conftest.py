"""Suite-wide rules. CI must run every test: a skipped test fails the run (DEVELOPERS.md)."""
import pytest

# The pack's modules are `governance.*` in every process, as when the CLI runs policies/; leadgen.pack
# is the one place that makes them importable.
import leadgen.pack  # noqa: F401


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and exitstatus == 0:
        reporter.write_line(f"{len(skipped)} test(s) skipped: CI runs every test, install what they need", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
