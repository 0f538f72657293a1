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

from . import signers_lint, signing, source
from .approvers import FOLDER, SIGNERS


def reference(root: pathlib.Path, running: str, request_path: str) -> tuple[Optional[str], str]:
    """(the commit whose allowed_signers counts, how it was chosen); None when there is none."""
    return source.Checkout(root).key_reference(running, request_path)


def keys_in(text: Optional[str]) -> frozenset[tuple[str, str]]:
    """(address case-folded, key fingerprint) of every usable line of an allowed_signers text."""
    found = set()
    for line in (text or "").splitlines():
        if not line.strip() or line.lstrip().startswith("#") or signers_lint.lint(line):
            continue
        principal, rest = line.split(None, 1)
        key = next((" ".join(rest.split()[i:i + 2]) for i, token in enumerate(rest.split())
                    if signers_lint._KEY_TYPE.match(token)), "")
        fingerprint = signing.fingerprint_of(key) if key else None
        if fingerprint:
            found.add((principal.casefold(), fingerprint))
    return frozenset(found)


@functools.lru_cache(maxsize=64)
def keys_at(root: str, commit: str) -> frozenset[tuple[str, str]]:
    """(address case-folded, key fingerprint) of every usable line of allowed_signers at `commit`."""
    return keys_in(source.Checkout(pathlib.Path(root)).signers_at(commit))


@functools.lru_cache(maxsize=64)
def _keys_of(text: Optional[str]) -> frozenset[tuple[str, str]]:
    return keys_in(text)


def judge(facts, running: str, file: str, approvals, fingerprints: dict[int, str]) -> list[str]:
    """`facts`: a source.Facts (git, or a published pack's evidence), or a checkout's root folder."""
    if not isinstance(facts, source.Facts):
        facts = source.Checkout(pathlib.Path(facts))
    commit, where = facts.key_reference(running, file)
    known = _keys_of(facts.signers_at(commit)) if commit is not None else frozenset()
    out = []
    for a in approvals:
        fp = fingerprints.get(a.index, "")
        if not fp:
            continue
        if commit is None or (a.by.casefold(), fp) not in known:
            out.append(f"{file}: approvals[{a.index}] ({a.role}, {a.by}) is signed with key {fp}, which was not in "
                       f"{FOLDER}/{SIGNERS} for {a.by} at {where}: a key must be on main before the request it "
                       "approves")
    return out
