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


@pytest.fixture(scope="session", autouse=True)
def warm_python():
    """A warm interpreter for this worker's `python -m platformctl` subprocesses (tests/warm.py):
    sets its socket in this process's environment, which the callers hand on. The result of a
    command never depends on it, only the time it takes."""
    import os
    import subprocess
    import sys
    import tempfile
    import time

    from tests import warm

    folder = tempfile.mkdtemp(prefix="warm-")  # short: a socket path has a 108-byte limit
    path = os.path.join(folder, "sock")
    server = subprocess.Popen([sys.executable, warm.__file__, "serve", path], stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not os.path.exists(path) and server.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.environ[warm.ENV] = path
    yield path
    os.environ.pop(warm.ENV, None)
    server.kill()
    server.wait()
    import shutil
    shutil.rmtree(folder, ignore_errors=True)
