"""An approval binds to what ships, not to a text.

The signature once covered the request's fields only, so a program commit made after the signature
shipped under it, and so did an edited stack file. `platformctl change approve` now signs, with the
request, the program commit it was shown (`commit`) and the digest of each stack's resolved config
(`config`, see `config.config_digest`). At update time, for every approval that counts:

- the commit the update runs (`promotion.current_commit`: git HEAD with no uncommitted program
  change, GITHUB_SHA agreeing) is that commit, or a descendant that changes only `changes/` and
  `attestations/` (committing the approvals and staging's attestation makes new commits);
- the stack's resolved config is the one signed;
- the key that verified it was in allowed_signers before the request's first commit (key_history).

The requester's signed entry is held to the same: who asked is bound to what ships, and a key
added with the request cannot make someone else the requester.

A preview forecasts what the update will refuse (advisory); the update holds it (mandatory).
`judge` is the pure predicate; `binding_gate` the thin wrapper the catalog lists.
"""
from __future__ import annotations

import os
import pathlib
from typing import Callable, Iterator, Mapping, Optional, Sequence

from . import promotion
from .changes import Approval
from .model import Context, Resource

# What may change between the approved commit and the one that runs is the evidence, not the program:
# changes/ and attestations/ (promotion.NOT_PROGRAM, one list for both gates).


def judge(file: str, stack: str, approvals: Sequence[Approval], running: str, digest: str,
          changed_since: Callable[[str], Optional[str]]) -> list[str]:
    """Why the counted `approvals` do not cover the update of `stack` running commit `running` with
    config `digest`. `changed_since(c)` names a file outside changes/ and attestations/ that differs
    between `c` and `running` ("" when none), None when `c` is not an ancestor of `running`."""
    out = []
    for a in approvals:
        who = f"{file}: approvals[{a.index}] ({a.role}, {a.by})"
        if not a.commit:
            out.append(f"{who} binds no program commit; sign it with platformctl change approve, which records "
                       "the commit and the stack's config digest")
            continue
        if a.commit != running:
            changed = changed_since(a.commit)
            if changed is None:
                out.append(f"{who} signed commit {a.commit[:12]}, which is not an ancestor of the commit that runs "
                           f"({running[:12]})")
                continue
            if changed:
                out.append(f"{who} signed commit {a.commit[:12]}; the commit that runs ({running[:12]}) changes "
                           f"{changed} since: only changes/ and attestations/ may change after an approval")
                continue
        signed = dict(a.config).get(stack)
        if signed is None:
            out.append(f"{who} signed no config for {stack}")
        elif signed != digest:
            out.append(f"{who} signed {stack}'s config {signed[:19]}…; the update runs {digest[:19]}… (its "
                       "config changed since the approval)")
    return out


def changes_between(root: pathlib.Path, running: str) -> Callable[[str], Optional[str]]:
    from . import source
    checkout = source.Checkout(root)
    return lambda approved: checkout.changed_since(approved, running)


def findings(ctx: Context, env: Optional[Mapping[str, str]] = None) -> list[str]:
    if not ctx.protected:
        return []
    from . import gates  # the change request as the gates judge it, approvals verified

    verdict = gates.assess(ctx)
    if verdict.change is None or not verdict.approvals:
        return []  # change-request-required says what is missing
    from . import source
    facts = source.facts_of(ctx)
    try:
        running = facts.head(os.environ if env is None else env)
    except promotion.VersionUnknown as err:
        return [f"the commit the approvals bind cannot be compared: {err}"]
    signed = bound(verdict)
    out = judge(verdict.change.file, ctx.stack, signed, running, ctx.config.config_digest,
                lambda approved: facts.changed_since(approved, running))
    # Every counted approval's key, and the requester's, was on main before the request existed (key_history).
    from . import approvers, key_history

    keys = approvers.fingerprints(verdict.change, approvers.load(ctx.project_root))
    return out + key_history.judge(facts, running, verdict.change.file, signed, signers_of(verdict, keys))


def bound(verdict) -> tuple[Approval, ...]:
    """What must cover the update: the requester's verified signature first, then the counted approvals."""
    return ((verdict.requester,) if verdict.requester is not None else ()) + tuple(verdict.approvals)


def signers_of(verdict, keys: Sequence[str]) -> dict[int, str]:
    """Each entry's key fingerprint by its index in `approvals`, the requester's included."""
    found = {a.index: k for a, k in zip(verdict.change.approvals, keys)}
    if verdict.requester is not None:
        found[verdict.requester.index] = verdict.requester_key
    return found


def binding_gate(resources: list[Resource], ctx: Context) -> Iterator[str]:
    """At update time the approvals must cover the commit and config that run (mandatory)."""
    if ctx.dry_run:
        return
    yield from findings(ctx)


def binding_forecast(resources: list[Resource], ctx: Context) -> Iterator[str]:
    """In a preview: what the update will refuse (advisory)."""
    if not ctx.dry_run:
        return
    for line in findings(ctx):
        yield f"the update will be refused: {line}"
