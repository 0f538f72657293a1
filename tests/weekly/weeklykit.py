"""Running `platformctl weekly` as an operator does, in a subprocess with a controlled environment."""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "weekly" / "fixtures"
SECTIONS = ("backups", "certificates", "kubernetes", "slos", "cost", "security", "nodes_logs", "changes")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def offline_env(tmp_path: pathlib.Path, **extra: str) -> dict:
    """No AWS credentials anywhere in the chain, no instance metadata, no pulumi CLI, no fixtures."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "LEADGEN_WEEKLY", "LEADGEN_LOKI", "PULUMI_"))}
    env.update({"AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
                "AWS_EC2_METADATA_DISABLED": "true", "PATH": os.path.dirname(sys.executable) + ":/usr/bin:/bin",
                "HOME": str(tmp_path)})
    env.update(extra)
    return env


def weekly(tmp_path: pathlib.Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "platformctl", "weekly", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env=env if env is not None else offline_env(tmp_path))


def weekly_json(tmp_path: pathlib.Path, *args: str, env: dict | None = None) -> tuple[int, dict]:
    done = weekly(tmp_path, "--format", "json", *args, env=env)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout)


def copy_fixtures(tmp_path: pathlib.Path) -> pathlib.Path:
    target = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, target)
    return target


def sections(doc: dict) -> dict[str, dict]:
    return {s["key"]: s for s in doc["sections"]}


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MotoServer:
    """moto in server mode on a loopback port: real HTTP, real S3 XML, real SigV4 headers."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def __enter__(self) -> "MotoServer":
        import time
        import urllib.request
        moto = pathlib.Path(sys.executable).parent / "moto_server"
        self.proc = subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "moto_server exited"
            try:
                with urllib.request.urlopen(self.url + "/moto-api/", timeout=2):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto_server did not start")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(10)
