"""The warm interpreter (tests/warm.py) must be invisible but for time: the same exit code, output
and working directory as `python -m platformctl`, the caller's environment, and no child left
running when its caller is killed."""
import os
import signal
import subprocess
import sys
import time

from platformctl.project import ROOT
from tests import warm

ARGS = {0: ["-m", "platformctl", "change", "show", "CR-2026-014"],
        1: ["-m", "platformctl", "preview", "--stack", "no/such stack"],  # one line naming --stack
        2: ["-m", "platformctl", "no-such-command"]}                      # argparse's usage


def run(prefix, args, env=None):
    return subprocess.run([*prefix, *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def test_the_server_is_up_for_this_worker():
    assert os.path.exists(os.environ[warm.ENV])


def test_warm_and_cold_give_the_same_result():
    for code, args in ARGS.items():
        cold, hot = run([sys.executable], args), run(warm.PYTHON, args)
        assert (hot.returncode, hot.stdout, hot.stderr) == (code, cold.stdout, cold.stderr), args
        assert hot.stdout or hot.stderr


def test_the_child_sees_the_callers_environment_and_folder(tmp_path):
    probe = tmp_path / "platformctl"
    probe.mkdir()
    (probe / "__main__.py").write_text("import os, sys\nprint(os.getcwd(), os.environ['PROBE'], sys.path[0])\n"
                                       "sys.exit(7)\n")
    done = subprocess.run([*warm.PYTHON, "-m", "platformctl"], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PROBE": "seen"}, timeout=60)
    assert done.returncode == 7, done.stderr
    assert done.stdout.split() == [str(tmp_path), "seen", str(tmp_path)]


def test_a_killed_caller_takes_its_child_with_it(tmp_path):
    probe = tmp_path / "platformctl"
    probe.mkdir()
    marker = tmp_path / "pid"
    (probe / "__main__.py").write_text(f"import os, time\nopen({str(marker)!r}, 'w').write(str(os.getpid()))\n"
                                       "time.sleep(600)\n")
    caller = subprocess.Popen([*warm.PYTHON, "-m", "platformctl"], cwd=tmp_path)
    deadline = time.monotonic() + 60
    while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int(marker.read_text())
    assert child != caller.pid  # it ran in the server's fork, not in the caller
    caller.send_signal(signal.SIGKILL)
    caller.wait()
    deadline = time.monotonic() + 30
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
