"""`platformctl change evidence`: what a published pack (a Pulumi Cloud policy group) needs from the
repository, as one value the `up` workflow puts in `pulumi up`'s environment (LEADGEN_CHANGE_EVIDENCE).

The change request and staging's attestations travel as their own text (their signatures are
verified by the pack against the keys published with it); the git facts the gates need are computed
here, in the checkout, by the same `source.Checkout` the repository's pack asks, so the published
pack answers as the repository's would (see policies/governance/source.py for what that rests on).
"""
from __future__ import annotations

import os
import pathlib
from typing import Mapping, Optional

from platformctl.errors import InputError


def build(root: pathlib.Path, stack: str, change_id: str, env: Optional[Mapping[str, str]] = None) -> str:
    """The evidence JSON for the update of `stack` under `change_id` from the checkout at `root`."""
    from platformctl.pack import changes, promotion, source

    env = os.environ if env is None else env
    if not changes.ID_PATTERN.match(change_id):
        raise InputError(f"{change_id!r} is not a change request ID like CR-2026-014")
    request_file = f"{changes.CHANGES_DIR}/{change_id}.yaml"
    try:
        request_text = changes.read_request(root, change_id).decode("utf-8")
    except changes.RequestUnreadable as err:
        raise InputError(f"{request_file}: {err}") from None
    except UnicodeDecodeError:
        raise InputError(f"{request_file}: is not UTF-8") from None
    checkout = source.Checkout(root)
    try:
        commit, problem = checkout.head(env), ""
    except promotion.VersionUnknown as err:
        # Carried as it is: the pack refuses with the line the repository's pack would print.
        head = promotion._git(root, "rev-parse", "--verify", "HEAD")
        commit, problem = (head.stdout.strip() if head.returncode == 0 else ""), str(err)
    loaded = changes.parse(request_text, request_file, change_id)
    # The requester's signed entry binds a commit like an approval does.
    entries = (loaded.change.approvals + ((loaded.change.request_signature,) if loaded.change.request_signature
                                          else ())) if loaded.change is not None else ()
    approved = [a.commit for a in entries if a.commit]
    attestations, attested = [], []
    for att in promotion.load_attestations(root) if commit else []:
        target = str(att.fields.get("commit", ""))
        # Only attestations of this commit's history can pass; the rest would only lengthen the value.
        if att.problem or checkout.changed_since(target, commit) is None:
            continue
        name = pathlib.PurePosixPath(att.file).name
        text = changes.read_in_repo(root, promotion.FOLDER, name).decode("utf-8", "replace")
        attestations.append((att.file, text))
        attested.append(target)
    changed = {c: checkout.changed_since(c, commit) for c in sorted(set(approved) | set(attested))} if commit else {}
    times = {}
    for c in sorted(set(attested)):
        moment = checkout.commit_time(c)
        if moment is not None:
            times[c] = moment.isoformat()
    added = {}
    for file, _ in attestations:
        moment = checkout.added_time(file, commit)
        added[file] = moment.isoformat() if moment is not None else None
    reference = checkout.key_reference(commit, request_file) if commit else (None, "no commit")
    signers = checkout.signers_at(reference[0]) if reference[0] else None
    evidence = source.Evidence(stack=stack, commit=commit, checkout_problem=problem, request_file=request_file,
                               request_text=request_text, attestations=tuple(attestations), changed=changed,
                               times=times, added=added, reference=reference, signers=signers)
    text = source.dump(evidence)
    if len(text.encode("utf-8")) > source.MAX_EVIDENCE_BYTES:
        raise InputError(f"the evidence for {change_id} is larger than {source.MAX_EVIDENCE_BYTES // 1024} KiB "
                         "(an environment value holds at most 128 KiB)")
    return text
