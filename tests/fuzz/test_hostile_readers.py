"""One table over every reader of a file a user names or a bucket holds: a FIFO, /dev/zero, a
directory, a deeply nested document, an oversized one and one 40 MB string. Each reader must refuse
in one line (or, for the string, answer) without hanging, crashing or reading past its cap.

Each case runs in a child process with a memory limit and a timeout: a reader that hangs on a
FIFO, or reads /dev/zero until memory runs out, fails its case instead of the machine.
"""
from __future__ import annotations

import os
import resource
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024
DEEP = 20_000  # 40 KB of brackets: under every reader's byte cap, far over every depth cap
LONG_STRING = 40 * MIB

# reader: (how the child calls it, where the hostile file goes, format, cap in bytes).
# The child gets ROOT (a scratch repository) and TARGET (the file's path) and must print the
# reader's own one-line refusal, or "ACCEPTED" when the reader took the document.
READERS = {
    "audit --state": ("""
        from platformctl.statefile import StateFile
        state = StateFile(TARGET); state.read_header(); list(state.resources())""", "state.json", "json", None),
    "cost --against": ("""
        from platformctl.commands.cost import baseline_total
        baseline_total(str(TARGET), {})""", "state.json", "json", None),
    "audit --history": ("""
        from platformctl import history
        history.read(TARGET)""", "history.json", "json", 256 * MIB),
    "stack file": ("""
        from platformctl.project import stack_config
        stack_config("hostile", ROOT)""", "Pulumi.hostile.yaml", "yaml", MIB),
    "exemptions": ("""
        from platformctl import exemptions
        exemptions.load(TARGET)""", "exemptions.yaml", "yaml", None),
    "change request": ("""
        from platformctl.pack import changes
        loaded = changes.load(ROOT, "changes", "CR-2026-001")
        if loaded.problems: raise ValueError(loaded.problems[0])""", "changes/CR-2026-001.yaml", "yaml", None),
    "attestation": ("""
        from platformctl.pack import promotion
        found = promotion.load_attestations(ROOT)
        if found and found[0].problem: raise ValueError(found[0].problem)""", "attestations/staging-abc1234.yaml", "yaml", None),
    "approvers": ("""
        from platformctl.pack import approvers
        directory = approvers.load(ROOT)
        if directory.problems: raise ValueError(directory.problems[0])""", "governance/approvers.yaml", "yaml", None),
    "allowed_signers": ("""
        from platformctl.pack import approvers
        directory = approvers.load(ROOT)
        if directory.problems: raise ValueError(directory.problems[0])""", "governance/allowed_signers", "text", None),
    # Objects in S3 are bytes, never a FIFO or a directory; a hostile endpoint can still send a
    # body that never ends (the /dev/zero case streams the device as the object's body).
    "backup manifest": ("""
        from jobs.pgbackup.store import Store
        class Client:
            def get_object(self, **kw): return {"Body": open(TARGET, "rb")}
        Store("b", "p", client=Client()).get_json("p/20261122T020000Z-00000001/manifest.json")""",
                        "manifest.json", "json", 4 * MIB),
    "verification record": ("""
        from jobs.pgbackup.store import Store
        class Client:
            def get_object(self, **kw): return {"Body": open(TARGET, "rb")}
        Store("b", "p", client=Client()).get_json("p/20261122T020000Z-00000001/verifications/x.json")""",
                            "record.json", "json", 4 * MIB),
}
S3_READERS = {"backup manifest", "verification record"}
CASES = ("fifo", "dev-zero", "directory", "deep", "oversized", "long-string")
# What each case's refusal says (any of the words); the long string may also be taken.
SAYS = {
    "fifo": ("named pipe", "FIFO", "not a regular file"),
    "dev-zero": ("device", "not a regular file", "symbolic link"),
    "directory": ("directory", "not a regular file", "not a folder"),
    "deep": ("nest", "deep", "depth"),
    "oversized": ("larger than", "too large", "limit"),
    "long-string": ("larger than", "limit", "ACCEPTED", "expected", "not", "must"),
}

CHILD = """
import pathlib, sys
sys.path.insert(0, {repo!r})
ROOT = pathlib.Path({root!r}); TARGET = pathlib.Path({target!r})
{setup}
try:
{body}
except SystemExit:
    raise
except BaseException as exc:
    text = str(exc)
    print("REFUSED", type(exc).__name__, text.splitlines()[0][:400] if text else "")
    sys.exit(0 if type(exc).__name__ not in ("RecursionError", "MemoryError", "AttributeError", "TypeError",
                                           "KeyError", "IndexError", "UnboundLocalError", "NameError") else 3)
print("ACCEPTED")
"""


def _document(fmt: str, case: str, cap: int | None) -> bytes:
    if case == "deep":
        if fmt == "text":
            return b"a@example.com " + b"[" * DEEP + b"\n"
        if fmt == "json":
            return b'{"version": 3, "deployment": ' + b"[" * DEEP + b"]" * DEEP + b"}"
        return b"config: " + b"[" * DEEP + b"]" * DEEP + b"\n"
    if case == "oversized":
        size = (cap or MIB) + 1
        if fmt == "json":
            return b'{"pad": "' + b"x" * size + b'"}'
        return b"config:\n  leadgen:pad: '" + b"x" * size + b"'\n" if fmt == "yaml" else b"#" + b"x" * size + b"\n"
    assert case == "long-string"
    blob = b"y" * LONG_STRING
    if fmt == "json":
        return b'{"version": 3, "deployment": {"resources": [{"urn": "' + blob + b'"}]}}'
    return b"config:\n  leadgen:s: '" + blob + b"'\n" if fmt == "yaml" else b"a@example.com " + blob + b"\n"


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (3 * 1024 * MIB, 3 * 1024 * MIB))


def _place(root: Path, rel: str, case: str, fmt: str, cap: int | None) -> Path:
    target = root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    if case == "fifo":
        os.mkfifo(target)
    elif case == "dev-zero":
        try:  # the device itself inside the repository, where root may make one
            os.mknod(target, 0o666 | stat.S_IFCHR, os.makedev(1, 5))
        except PermissionError:
            target.symlink_to("/dev/zero")
    elif case == "directory":
        target.mkdir()
    else:
        target.write_bytes(_document(fmt, case, cap))
    return target


def _applies(reader: str, case: str) -> bool:
    """An S3 object is bytes: it cannot be a FIFO or a directory; allowed_signers is one key per
    line, so nothing in it nests. CI runs every test, so such pairs are not generated at all."""
    if reader in S3_READERS and case in ("fifo", "directory"):
        return False
    return not (READERS[reader][2] == "text" and case == "deep")


@pytest.mark.parametrize("reader,case", [(r, c) for r in sorted(READERS) for c in CASES if _applies(r, c)])
def test_reader_refuses_hostile_file(reader, case, tmp_path):
    body, rel, fmt, cap = READERS[reader]
    root = tmp_path / "repo"
    (root / "governance").mkdir(parents=True)
    if reader == "allowed_signers":
        (root / "governance" / "approvers.yaml").write_text("approvers: {}\n")
    (root / "Pulumi.yaml").write_text("name: leadgen\nruntime: python\n")
    setup = ""
    if case == "oversized" and reader in ("audit --state", "cost --against"):
        # Exports stream with a 4 GiB cap; the case lowers it rather than writing 4 GiB.
        setup = ("import dataclasses, platformctl.statefile as sf\n"
                 "sf.STATE_LIMITS = dataclasses.replace(sf.STATE_LIMITS, max_bytes=1024 * 1024)")
        cap = MIB
    target = _place(root, rel, case, fmt, cap)
    if case == "dev-zero" and reader in ("audit --state", "cost --against", "audit --history"):
        target.unlink()
        target = Path("/dev/zero")  # as `--history /dev/zero` gives it
    script = CHILD.format(repo=str(REPO), root=str(root), target=str(target), setup=setup,
                          body=textwrap.indent(textwrap.dedent(body).strip(), "    "))
    try:
        proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True,
                              timeout=120, preexec_fn=_limit_memory)
    finally:
        if case == "fifo":
            # Unblock a reader stuck in open() so the child can go away.
            try:
                fd = os.open(target, os.O_WRONLY | os.O_NONBLOCK)
                os.close(fd)
            except OSError:
                pass
    out = proc.stdout.strip()
    assert proc.returncode == 0, f"{reader} / {case}: exit {proc.returncode}: {out} {proc.stderr[-600:]}"
    assert "Traceback" not in proc.stderr, proc.stderr[-600:]
    assert out.count("\n") == 0, out
    if case == "long-string":
        assert out == "ACCEPTED" or out.startswith("REFUSED"), out
    else:
        assert out.startswith("REFUSED"), f"{reader} / {case}: {out}"
        # An endless S3 body is not a device: it is cut at the cap.
        says = ("larger than",) if reader in S3_READERS and case == "dev-zero" else SAYS[case]
        assert any(word in out for word in says), f"{reader} / {case}: {out}"
