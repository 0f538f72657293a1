"""Run a fenced block of docs/runbooks/disaster-recovery.md verbatim, in a throwaway git copy.

A block marked ```` ```bash emergency:<name> ```` is what the on-call DBA types. `Checkout.make`
copies the repository's tracked files (tests and benchmarks left out) into `tmp/repo`, installs
the test approvers and their throwaway SSH keys (tests/policies/signed.py) and commits it all, so
every approver's key predates the request. `run` gives the block to bash unchanged (`set -euo
pipefail`), with `python` (this interpreter) and `pulumi` (pulumi_standin.py) on PATH, HOME
holding the CTO's test key as `~/.ssh/id_ed25519`, git committing as the on-call DBA, and no AWS
credential anywhere. `approvals=False` leaves out each `platformctl change approve` command and
runs on past failures, so the update is reached and its refusal recorded.
"""
from __future__ import annotations

import dataclasses
import json
import pathlib
import re
import shlex
import shutil
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
RUNBOOK = REPO / "docs" / "runbooks" / "disaster-recovery.md"
STANDIN = pathlib.Path(__file__).resolve().with_name("pulumi_standin.py")
DBA, CTO = "dba-oncall@example.com", "cto@example.com"
_APPROVE = re.compile(r"^\s*python\s+-m\s+platformctl\s+change\s+approve\b")


def block(name: str, path: pathlib.Path = RUNBOOK) -> str:
    """The text of the block fenced ```` ```bash emergency:<name> ````."""
    found = re.findall(rf"^```bash emergency:{re.escape(name)}\n(.*?)^```$", path.read_text(encoding="utf-8"),
                       re.MULTILINE | re.DOTALL)
    if len(found) != 1:
        raise ValueError(f"{path.name}: {len(found)} blocks named emergency:{name}")
    return found[0]


def without_approvals(text: str) -> str:
    out, skipping = [], False
    for line in text.splitlines():
        if skipping or _APPROVE.match(line):
            skipping = line.rstrip().endswith("\\")
            continue
        out.append(line)
    return "\n".join(out) + "\n"


@dataclasses.dataclass(frozen=True)
class Run:
    code: int
    output: str
    updates: tuple  # each `pulumi up`: {"stack", "code", "output"}


@dataclasses.dataclass(frozen=True)
class Checkout:
    root: pathlib.Path
    home: pathlib.Path
    bin: pathlib.Path
    log: pathlib.Path

    @classmethod
    def make(cls, tmp: pathlib.Path, keyring) -> "Checkout":
        root = tmp / "repo"
        files = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, check=True).stdout
        for name in files.decode().split("\0"):
            if name and not name.startswith(("tests/", "bench/")) and (REPO / name).is_file():
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / name, root / name)
        if not (tmp / "shared").exists():  # code resolves ../shared from the repository root
            (tmp / "shared").symlink_to(REPO.parent / "shared")
        keyring.install(root)
        home, bin_dir = tmp / "home", tmp / "bin"
        (home / ".ssh").mkdir(parents=True)
        shutil.copy2(keyring.keys[CTO], home / ".ssh" / "id_ed25519")
        bin_dir.mkdir()
        python = shlex.quote(sys.executable)  # a wrapper: a virtualenv finds its packages from its own path
        for name, command in (("python", python), ("pulumi", f"{python} {shlex.quote(str(STANDIN))}")):
            (bin_dir / name).write_text(f'#!/bin/sh\nexec {command} "$@"\n')
            (bin_dir / name).chmod(0o755)
        checkout = cls(root, home, bin_dir, tmp / "pulumi-log.jsonl")
        for argv in (("init", "-q", "-b", "main"), ("add", "-A"), ("commit", "-q", "-m", "the program and its approvers")):
            checkout.git(*argv)
        return checkout

    def env(self) -> dict:
        return {"PATH": f"{self.bin}:/usr/local/bin:/usr/bin:/bin", "HOME": str(self.home), "LANG": "C.UTF-8",
                "GIT_AUTHOR_NAME": "On-call DBA", "GIT_AUTHOR_EMAIL": DBA,
                "GIT_COMMITTER_NAME": "On-call DBA", "GIT_COMMITTER_EMAIL": DBA, "GIT_CONFIG_NOSYSTEM": "1",
                "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                "AWS_EC2_METADATA_DISABLED": "true", "RUNBOOK_PULUMI_LOG": str(self.log),
                "PYTHONDONTWRITEBYTECODE": "1"}

    def git(self, *argv: str) -> str:
        return subprocess.run(["git", "-C", str(self.root), *argv], capture_output=True, text=True, check=True,
                              env=self.env()).stdout

    def run(self, text: str, *, approvals: bool = True) -> Run:
        body = ("set -euo pipefail\n" + text) if approvals else ("set -u\n" + without_approvals(text))
        done = subprocess.run(["bash", "-c", body], cwd=self.root, env=self.env(), capture_output=True, text=True)
        updates = tuple(json.loads(line) for line in self.log.read_text().splitlines()) if self.log.exists() else ()
        return Run(done.returncode, done.stdout + done.stderr, updates)
