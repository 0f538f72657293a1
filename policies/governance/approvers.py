"""Who may approve a change, in which role, and whether each approval was really signed by them.

`governance/approvers.yaml` maps each approver's e-mail address to the roles they hold;
`governance/allowed_signers` (ssh-keygen's format, the one git uses for `gpg.format=ssh`) holds
their public keys. Both are changed only through review by their CODEOWNERS, so a requester can
write `approvals:` but cannot make an approval count: it counts only if `ssh-keygen -Y verify`
says the key listed for that address signed this request's canonical content, with that role and
time (`signing.approval_message_for`), and approvers.yaml gives them that role.

Both files are read like change requests: only from the repository's own `governance/` folder,
no symlinks, no hard links, strictly parsed.
"""
from __future__ import annotations

import functools
import os
import pathlib
from dataclasses import dataclass
from typing import Mapping, Optional

from . import changes, signers_lint, signing
from .files import file_version as _version

FOLDER = "governance"
APPROVERS = "approvers.yaml"
SIGNERS = "allowed_signers"


@dataclass(frozen=True)
class Directory:
    roles: Mapping[str, frozenset[str]]  # lower-case e-mail -> roles held
    signers: Optional[pathlib.Path]  # the allowed_signers file, once checked to live in governance/
    problems: tuple[str, ...] = ()  # why a file could not be used (then no approval counts)


def load(project_root: pathlib.Path) -> Directory:
    """The approver directory, read once per version of its two files."""
    folder = pathlib.Path(project_root) / FOLDER
    return _load(str(project_root), _version(folder), _version(folder / APPROVERS), _version(folder / SIGNERS))


@functools.lru_cache(maxsize=4)
def _load(root: str, *_versions: tuple) -> Directory:
    project_root = pathlib.Path(root)
    problems: list[str] = []
    roles: dict[str, frozenset[str]] = {}
    shown = f"{FOLDER}/{APPROVERS}"
    try:
        doc = changes.read_document(changes.read_in_repo(project_root, FOLDER, APPROVERS), shown)
    except changes.RequestUnreadable as err:
        problems.append(f"{shown}: {err}")
        doc = {}
    except changes._Refused as err:
        problems.append(f"{shown}: {err}")
        doc = {}
    listed = doc.get("approvers", {}) if isinstance(doc, dict) else {}
    if not isinstance(listed, dict):
        problems.append(f"{shown}: approvers must map each e-mail address to the roles it holds")
        listed = {}
    for address, held in listed.items():
        where = f"{shown}: approvers.{address}"
        if not changes.EMAIL.match(address):
            problems.append(f"{where} is not an e-mail address")
            continue
        if not isinstance(held, list) or not held or not all(r in changes.ROLES for r in held):
            problems.append(f"{where} must list roles from {', '.join(changes.ROLES)}")
            continue
        key = address.casefold()
        if key in roles:
            # Two spellings of one address once merged silently; the file must say it once.
            problems.append(f"{where} repeats an address listed above (addresses are compared case-folded)")
            continue
        roles[key] = frozenset(held)
    signers: Optional[pathlib.Path] = None
    try:
        text = changes.read_in_repo(project_root, FOLDER, SIGNERS, max_bytes=1024 * 1024)
        signers = pathlib.Path(os.path.realpath(project_root)) / FOLDER / SIGNERS
        problems += signers_lint.lint(text.decode("utf-8", "replace"))
    except changes.RequestUnreadable as err:
        problems.append(f"{FOLDER}/{SIGNERS}: {err}")
    return Directory(roles, signers, tuple(problems))


def check(change: changes.ChangeRequest, directory: Directory) -> tuple[str, ...]:
    """For each approval of `change`, "" when it is a valid signed approval by someone holding its
    role, else the reason it does not count (one phrase, no file name)."""
    return tuple(reason for reason, _ in _verdicts(change, directory))


def fingerprints(change: changes.ChangeRequest, directory: Directory) -> tuple[str, ...]:
    """For each approval of `change`, the SHA256 fingerprint of the key that signed it ("" when it
    does not verify): what "two different people" compares, since an address is only a string."""
    return tuple(key for _, key in _verdicts(change, directory))


def requester(change: changes.ChangeRequest, directory: Directory) -> tuple[str, str]:
    """(why the requester's signed entry does not verify, "" when it does; the fingerprint of the key
    that signed it, "" when none). The requester needs no role here, only a key in allowed_signers
    for `requested_by` (the parser holds the entry's `by` to it): the key, not the text, says who asked."""
    entry = change.request_signature
    if entry is None:
        return (f"requested_by {change.requested_by} has not signed the request (platformctl change approve "
                f"{change.id} --role {changes.REQUESTER} --by {change.requested_by} --key <your ssh key>)", "")
    return _requester(change, directory.signers, directory.problems,
                      _version(directory.signers) if directory.signers else (-1,))


@functools.lru_cache(maxsize=32)
def _requester(change, signers, problems, _signers_version) -> tuple[str, str]:
    entry = change.request_signature
    if not entry.signature:
        return "is not signed", ""
    if problems:
        return f"cannot be verified ({problems[0]})", ""
    message = signing.approval_message_for(change.canonical, by=entry.by, role=entry.role, at=entry.at,
                                           commit=entry.commit, config=entry.config)
    verdict = signing.verify(message, entry.signature, identity=entry.by, allowed_signers=signers,
                             namespace=signing.APPROVAL_NAMESPACE)
    return ("", verdict.fingerprint) if verdict.ok else (verdict.reason, "")


def _verdicts(change, directory: Directory) -> tuple[tuple[str, str], ...]:
    return _check(change, directory.signers, tuple(sorted((k, tuple(sorted(v))) for k, v in directory.roles.items())),
                  directory.problems, _version(directory.signers) if directory.signers else (-1,))


@functools.lru_cache(maxsize=32)
def _check(change: changes.ChangeRequest, signers: Optional[pathlib.Path], roles: tuple, problems: tuple,
           _signers_version: tuple) -> tuple[tuple[str, str], ...]:
    held = {address: set(r) for address, r in roles}
    return tuple(_reason(change, approval, signers, held, problems) for approval in change.approvals)


def _reason(change, approval, signers, held, problems) -> tuple[str, str]:
    reason = _why_not(change, approval, signers, held, problems)
    return reason if isinstance(reason, tuple) else (reason, "")


def _why_not(change, approval, signers, held, problems):
    if not approval.signature:
        return (f"is not signed (platformctl change approve {change.id} --role {approval.role} --key "
                "<your ssh key>)")
    if problems:
        return f"cannot be verified ({problems[0]})"
    roles = held.get(approval.by.casefold())
    if roles is None:
        return f"{approval.by} is not an approver in {FOLDER}/{APPROVERS}"
    if approval.role not in roles:
        return f"{approval.by} does not hold the role {approval.role} in {FOLDER}/{APPROVERS}"
    message = signing.approval_message_for(change.canonical, by=approval.by, role=approval.role, at=approval.at,
                                           commit=approval.commit, config=approval.config)
    verdict = signing.verify(message, approval.signature, identity=approval.by, allowed_signers=signers,
                             namespace=signing.APPROVAL_NAMESPACE)
    return ("", verdict.fingerprint) if verdict.ok else verdict.reason
