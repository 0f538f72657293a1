"""An approver's key must have been on main before the request it approves existed.

A key added in the very commit that uses it was accepted: whoever can commit could list a key of
their own for an approver's address and sign as them. So the key that verified an approval must
already be in `governance/allowed_signers`, for that address, at the parent of the commit that
first added the request (or at the commit that runs, while the request is not yet committed). The
allowed_signers changes that got it there went through CAB review before the request was written.
"""
from __future__ import annotations

import functools
import pathlib
from typing import Optional

from . import promotion, signers_lint, signing
from .approvers import FOLDER, SIGNERS


def reference(root: pathlib.Path, running: str, request_path: str) -> tuple[Optional[str], str]:
    """(the commit whose allowed_signers counts, how it was chosen); None when there is none."""
    added = promotion._git(root, "log", "--diff-filter=A", "--format=%H", running, "--", request_path)
    commits = added.stdout.split() if added.returncode == 0 else []
    if not commits:
        return running, f"the commit that runs ({running[:12]}), the request not being committed yet"
    first = commits[-1]
    parent = promotion._git(root, "rev-parse", "--verify", "-q", f"{first}^")
    if parent.returncode != 0:
        return None, f"the request was added in the repository's first commit ({first[:12]})"
    return parent.stdout.strip(), f"the parent of the request's first commit ({first[:12]})"


@functools.lru_cache(maxsize=64)
def keys_at(root: str, commit: str) -> frozenset[tuple[str, str]]:
    """(address case-folded, key fingerprint) of every usable line of allowed_signers at `commit`."""
    shown = promotion._git(pathlib.Path(root), "show", f"{commit}:{FOLDER}/{SIGNERS}")
    if shown.returncode != 0:
        return frozenset()
    found = set()
    for line in shown.stdout.splitlines():
        if not line.strip() or line.lstrip().startswith("#") or signers_lint.lint(line):
            continue
        principal, rest = line.split(None, 1)
        key = next((" ".join(rest.split()[i:i + 2]) for i, token in enumerate(rest.split())
                    if signers_lint._KEY_TYPE.match(token)), "")
        fingerprint = signing.fingerprint_of(key) if key else None
        if fingerprint:
            found.add((principal.casefold(), fingerprint))
    return frozenset(found)


def judge(root: pathlib.Path, running: str, file: str, approvals, fingerprints: dict[int, str]) -> list[str]:
    commit, where = reference(root, running, file)
    out = []
    for a in approvals:
        fp = fingerprints.get(a.index, "")
        if not fp:
            continue
        if commit is None or (a.by.casefold(), fp) not in keys_at(str(root), commit):
            out.append(f"{file}: approvals[{a.index}] ({a.role}, {a.by}) is signed with key {fp}, which was not in "
                       f"{FOLDER}/{SIGNERS} for {a.by} at {where}: a key must be on main before the request it "
                       "approves")
    return out
