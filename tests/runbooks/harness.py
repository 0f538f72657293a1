"""Run a runbook's commands verbatim, in a throwaway copy of the repository.

A runbook marks the blocks a test runs in the fence's info string, after the language:

    ```bash emergency:canary-off
    ...
    ```

`emergency:<name>` is a production change on the emergency path: the request, its signatures and
the update, in the order an on-call engineer types them. `change:<name>` is a planned change: the
request, the signature the budget's band asks for, staging's soak, the update (tests cannot be the
staging pipeline, so they hold such a block to a refusal by the promotion gate alone).
`blocks(path)` returns them; every other fenced block is prose to the harness. `untested_production_commands(path)` lists each command
that changes production (`pulumi up`, `pulumi config set|rm ... --stack production`) found
anywhere outside a marked block, fenced or inline, so no such step escapes the tests.

`Checkout.make(tmp, keyring)` copies the repository's tracked files (as they are in the working
tree) into `tmp/repo`, installs the test approvers and their throwaway SSH keys (tests/policies/
signed.py) and commits it all, so every approver's key predates any request. `checkout.run(block)`
then runs the block's text with bash, unchanged, with the repository as working directory and on
PATH: `python` (this suite's interpreter, so `python -m platformctl` runs the copy's platformctl)
and `pulumi`, the stand-in of pulumi_standin.py. HOME is a folder of its own whose
`~/.ssh/id_ed25519` is the CTO's test key (the runbooks' approval step is the CTO's, on their
machine), and `KEY` the block's requester's (the `# you` address: the requester signs the request
with their own key, `change approve --role requester --key "$KEY"`); git commits as the on-call
engineer. No AWS credential is reachable, so the gate reads
no SLO store: only an approved emergency passes it, which is the case the emergency path is for.

`checkout.run(block, approvals=False)` runs the same block with every `platformctl change approve`
command left out, and without stopping at the first failure: the update must then be refused by
the pack, or the test proves nothing. Each `pulumi up`/`preview` is recorded in `Run.updates`.
"""
from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
from typing import Optional

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
RUNBOOKS = REPO / "docs" / "runbooks"
STANDIN = pathlib.Path(__file__).resolve().with_name("pulumi_standin.py")
# `python` in a block runs through the worker's warm interpreter when there is one (tests/warm.py):
# the same command and result, without importing the provider SDKs again for every command.
WARM = pathlib.Path(__file__).resolve().parents[1] / "warm.py"
WARM_ENV = "LEADGEN_TEST_WARM_SOCKET"
EMERGENCY = "emergency"
CHANGE = "change"  # a planned (normal) change: request, the band's signature, staging's soak, update
KINDS = (EMERGENCY, CHANGE)
# Who the runbooks' emergency blocks act as: the on-call engineer requests, the CTO signs.
ONCALL = "oncall@example.com"
CTO = "cto@example.com"

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_MARK = re.compile(r"^(?P<kind>[a-z]+):(?P<name>[a-z0-9][a-z0-9-]*)$")
# A command that changes production, as the runbooks write them.
_UPDATE = re.compile(r"\bpulumi\s+up\b")
_CONFIG = re.compile(r"\bpulumi\s+config\s+(?:set|rm)\b[^\n`]*?(?:--stack|-s)[ =]production(?![\w-])")
_APPROVE = re.compile(r"^\s*python\s+-m\s+platformctl\s+change\s+approve\b")
# The block's requester: `ONCALL=oncall@example.com   # you: the requester`.
_REQUESTER = re.compile(r"^[A-Z]+=(\S+@\S+)\s+#\s*you\b", re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class Block:
    runbook: str  # file name under docs/runbooks
    kind: str
    name: str
    line: int  # 1-based line of the opening fence
    text: str

    @property
    def id(self) -> str:
        return f"{self.runbook}:{self.name}"

    def without_approvals(self) -> str:
        """The block with each `platformctl change approve` command (and its continuation lines) left out."""
        out, skipping = [], False
        for line in self.text.splitlines():
            if skipping or _APPROVE.match(line):
                skipping = line.rstrip().endswith("\\")
                continue
            out.append(line)
        return "\n".join(out) + "\n"


class RunbookError(ValueError):
    """A runbook's Markdown the harness cannot read unambiguously (one line, naming file and line)."""


def _fenced(path: pathlib.Path):
    """(line, info, body, end line) of every fenced block; an unclosed fence is an error."""
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opened = _FENCE.match(lines[i])
        if not opened:
            i += 1
            continue
        fence, start = opened["fence"], i
        body = []
        i += 1
        while i < len(lines):
            closing = _FENCE.match(lines[i])
            if closing and closing["fence"][0] == fence[0] and len(closing["fence"]) >= len(fence) \
                    and not closing["info"].strip():
                break
            body.append(lines[i])
            i += 1
        else:
            raise RunbookError(f"{path.name}:{start + 1}: the fence opened here is never closed")
        yield start + 1, opened["info"].strip(), body, i + 1
        i += 1


def blocks(path: pathlib.Path, kind: Optional[str] = None) -> list[Block]:
    """The marked blocks of a runbook (of `kind` when given), in document order."""
    found, names = [], {}
    for line, info, body, _ in _fenced(path):
        words = info.split()
        marks = [w for w in words[1:] if ":" in w]
        if not marks:
            continue
        if len(marks) > 1 or not _MARK.match(marks[0]) or _MARK.match(marks[0])["kind"] not in KINDS:
            raise RunbookError(f"{path.name}:{line}: {info!r} is not `<language> <kind>:<name>` with a kind of "
                               f"{', '.join(KINDS)}")
        mark = _MARK.match(marks[0])
        if words[0] not in ("bash", "sh"):
            raise RunbookError(f"{path.name}:{line}: a tested block is bash, not {words[0]!r}")
        if mark["name"] in names:
            raise RunbookError(f"{path.name}:{line}: block name {mark['name']!r} is used at line {names[mark['name']]} too")
        names[mark["name"]] = line
        if kind is None or mark["kind"] == kind:
            found.append(Block(path.name, mark["kind"], mark["name"], line, "\n".join(body) + "\n"))
    return found


def untested_production_commands(path: pathlib.Path) -> list[str]:
    """`file:line: text` of every production-changing command outside a marked block."""
    lines = path.read_text(encoding="utf-8").splitlines()
    tested = set()
    for line, info, _, end in _fenced(path):
        if any(":" in w for w in info.split()[1:]):
            tested.update(range(line, end + 1))
    # Join a command continued over lines (`\` at the end, or prose wrapping inside backticks)
    # with its next line, so `pulumi config set X 0` / `--stack production` is seen whole.
    found = []
    for number, text in enumerate(lines, start=1):
        if number in tested:
            continue
        window = text + " " + (lines[number] if number < len(lines) and number + 1 not in tested else "")
        hit = _UPDATE.search(text) or _CONFIG.search(window)
        if hit and hit.start() < len(text):
            found.append(f"{path.name}:{number}: {text.strip()}")
    return found


def runbooks(exclude: tuple[str, ...] = ()) -> list[pathlib.Path]:
    return sorted(p for p in RUNBOOKS.glob("*.md") if p.name not in exclude)


@dataclasses.dataclass(frozen=True)
class Update:
    command: str  # up | preview
    stack: str
    code: int  # platformctl preview's: 0 allowed (advisories at most), 2 a mandatory finding, 1 error
    output: str

    def mandatory(self) -> list[str]:
        """The policies the pack reported as mandatory violations."""
        return sorted({m.group(1) for m in re.finditer(r"^mandatory\s+\S+\s+(\S+)", self.output, re.MULTILINE)})

    def advisory(self) -> list[str]:
        return sorted({m.group(1) for m in re.finditer(r"^advisory\s+\S+\s+(\S+)", self.output, re.MULTILINE)})


@dataclasses.dataclass(frozen=True)
class Run:
    code: int
    output: str
    updates: tuple[Update, ...]


_TRACKED_SKIP = ("tests/", "bench/")


class Checkout:
    """A throwaway git copy of the repository, its approvers the test keyring's."""

    def __init__(self, root: pathlib.Path, home: pathlib.Path, bin_dir: pathlib.Path, log: pathlib.Path,
                 keys: Optional[dict] = None):
        self.root, self.home, self.bin, self.log = root, home, bin_dir, log
        self.keys = dict(keys or {})

    @classmethod
    def make(cls, tmp: pathlib.Path, keyring, signer: str = CTO, stack: str = "production",
             config: Optional[dict[str, str]] = None, slo_store: Optional[str] = None) -> "Checkout":
        """The copy, its first commit holding `config` (full keys) set in `stack`'s file: the state
        production is in when the runbook is opened (a canary at 10 %, say). `slo_store` is the
        Prometheus URL the CAB's governance/gates.yaml gives the stack's error-budget gate (by
        default the repository's `amp:stack`, which nothing here can read: the gate fails closed).
        `signer` is whose key is ~/.ssh/id_ed25519."""
        root = tmp / "repo"
        files = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, check=True).stdout
        for name in files.decode().split("\0"):
            if not name or name.startswith(_TRACKED_SKIP) or not (REPO / name).is_file():
                continue
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, target)
        # Code resolves ../shared from the repository root (CRD schemas, real exports).
        shared = REPO.parent / "shared"
        if shared.exists() and not (tmp / "shared").exists():
            (tmp / "shared").symlink_to(shared)
        # The test approvers replace the repository's (whose allowed_signers ships empty); the
        # rest of approvers.yaml, the promotion rules above all, stays the repository's.
        approvers = root / "governance" / "approvers.yaml"
        rules = {k: v for k, v in (yaml.safe_load(approvers.read_text(encoding="utf-8")) or {}).items()
                 if k != "approvers"}
        keyring.install(root)
        installed = yaml.safe_load(approvers.read_text(encoding="utf-8"))
        approvers.write_text(yaml.safe_dump({**installed, **rules}, sort_keys=False), encoding="utf-8")
        if slo_store is not None:
            gates = root / "governance" / "gates.yaml"
            doc = yaml.safe_load(gates.read_text(encoding="utf-8"))
            doc["stacks"][stack]["prometheus_url"] = slo_store
            gates.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        if config:
            path = root / f"Pulumi.{stack}.yaml"
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            doc["config"].update(config)
            path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        home = tmp / "home"
        (home / ".ssh").mkdir(parents=True)
        key = pathlib.Path(keyring.keys[signer])
        shutil.copy2(key, home / ".ssh" / "id_ed25519")
        shutil.copy2(str(key) + ".pub", home / ".ssh" / "id_ed25519.pub")
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        # Wrappers, not symlinks: a virtualenv's interpreter finds its packages from the path it
        # was started by.
        python = shlex.quote(sys.executable)
        warm = f"{python} {shlex.quote(str(WARM))}"
        for name, command in (("python", warm), ("python3", warm),
                              ("pulumi", f"{python} {shlex.quote(str(STANDIN))}")):
            (bin_dir / name).write_text(f'#!/bin/sh\nexec {command} "$@"\n')
            (bin_dir / name).chmod(0o755)
        checkout = cls(root, home, bin_dir, tmp / "pulumi-log.jsonl", keyring.keys)
        checkout.git("init", "-q", "-b", "main")
        checkout.git("add", "-A")
        checkout.git("commit", "-q", "-m", "the program, its approvers and their keys")
        return checkout

    def env(self) -> dict[str, str]:
        keep = {k: os.environ[k] for k in ("LANG", "LC_ALL", "TMPDIR", "PYTHONHASHSEED", WARM_ENV) if k in os.environ}
        return {
            **keep,
            "PATH": f"{self.bin}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.home),
            "GIT_AUTHOR_NAME": "On-call", "GIT_AUTHOR_EMAIL": ONCALL,
            "GIT_COMMITTER_NAME": "On-call", "GIT_COMMITTER_EMAIL": ONCALL,
            "GIT_CONFIG_NOSYSTEM": "1",
            # No credential anywhere: the gate cannot read an SLO store and fails closed.
            "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_EC2_METADATA_DISABLED": "true",
            "RUNBOOK_PULUMI_LOG": str(self.log),
            "PYTHONDONTWRITEBYTECODE": "1",
        }

    def git(self, *argv: str) -> str:
        done = subprocess.run(["git", "-C", str(self.root), *argv], capture_output=True, text=True,
                              env={**self.env(), "PATH": os.environ.get("PATH", "/usr/bin:/bin")})
        if done.returncode != 0:
            raise RuntimeError(f"git {' '.join(argv)}: {done.stderr.strip()}")
        return done.stdout

    def run(self, block: Block, *, approvals: bool = True) -> Run:
        """The block as bash runs it: stopping at the first failing command, or, without the
        approvals, running on so the update is reached and its refusal recorded."""
        text = block.text if approvals else block.without_approvals()
        prologue = "set -euo pipefail\n" if approvals else "set -u\n"
        if self.log.exists():
            self.log.unlink()
        done = subprocess.run(["bash", "-c", prologue + text, block.id], cwd=self.root,
                              env={**self.env(), **self.requester_key(block)}, capture_output=True, text=True)
        updates = []
        if self.log.exists():
            for line in self.log.read_text(encoding="utf-8").splitlines():
                entry = json.loads(line)
                updates.append(Update(entry["command"], entry["stack"], entry["code"], entry["output"]))
        return Run(done.returncode, done.stdout + done.stderr, tuple(updates))

    def requester_key(self, block: Block) -> dict[str, str]:
        """`KEY`, the requester's own SSH key, for the block's requester (the `# you` address): the
        requester signs the request on their machine, the approver on theirs, with different keys."""
        found = _REQUESTER.search(block.text)
        key = self.keys.get(found.group(1)) if found else None
        return {"KEY": str(key)} if key else {}

    def stack_config(self, stack: str) -> dict[str, str]:
        """The stack's resolved config (flat keys to strings) as the program reads it, in this copy."""
        from platformctl.project import stack_config
        return stack_config(stack, self.root)
