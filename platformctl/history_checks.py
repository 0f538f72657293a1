"""What the history audit re-checks at each update's commit, beyond the change request: the same
things the gates check before an update, so the audit never confirms what the gate would refuse.

Of 8 non-compliant updates in a history built from real commits the audit once flagged 1: a program
commit never attested, a dirty checkout on a feature branch, a faked Prometheus and budget in the
recorded config, shared-key approvals and an unsoaked image were all judged compliant. Now, for
each update with a commit:

- the checkout it ran from: `git.dirty` must not be true and `git.headName` must be main;
- the gate settings in the config it recorded (a protected stack's file sets none, gate_settings);
- what its approvals bind: the commit and the stack's resolved config at that commit (binding);
- the age of each counted approval's key: in allowed_signers before the request's first commit
  (key_history), as the gate checks it;
- promotion and soak: a staging attestation of the program at that commit (promotion).

Key fingerprints (one key, one person) are counted by `compliance.assess` itself. What cannot be re-checked from a
history and a repository is listed (`NOT_RECHECKED`) in every report that judges a period.
"""
from __future__ import annotations

import datetime as dt
import pathlib
from typing import Callable, Optional

from platformctl.pack import approvers, binding, config as gconfig, gate_settings, key_history, promotion

MAIN = "refs/heads/main"
NOT_RECHECKED = (
    "not re-checked: the error budget each update met (the gate's answer at that moment is not recorded; "
    "read slo_error_budget_remaining at each update's start in the SLO store)",
    "not re-checked: whether the policy pack ran on each update (stack history does not record the packs "
    "that ran; the Pulumi Cloud policy group's audit log does)",
)


def checkout(environment: dict) -> tuple[list[str], list[str]]:
    """(problems, what could not be checked) of the checkout an update ran from."""
    problems, unchecked = [], []
    dirty = str(environment.get("git.dirty", "")).strip().lower()
    if dirty == "true":
        problems.append("ran from a checkout with uncommitted changes (git.dirty): the program that ran is not "
                        "the commit recorded")
    elif dirty != "false":
        unchecked.append("the update records no git.dirty")
    head = str(environment.get("git.headName", "")).strip()
    if head and head != MAIN:
        problems.append(f"ran from {head}, not main: only main is deployed")
    elif not head:
        unchecked.append("the update records no git.headName (its branch)")
    return problems, unchecked


def recorded_settings(values: dict, stack: str, snapshot: pathlib.Path) -> tuple[gconfig.GovernanceConfig, list[str]]:
    """The gate settings of the config the update recorded, judged with gates.yaml at its commit."""
    settings = gate_settings.apply(gconfig.from_mapping(values), stack, gate_settings.load(snapshot))
    return settings, [f"recorded config: {line}" for line in settings.gate_problems]


def rechecks(*, repo: pathlib.Path, snapshot: pathlib.Path, commit: str, stack: str, start: dt.datetime,
             verdict, resolved_config: Optional[dict], protected: bool,
             measured: Optional[Callable] = None) -> list[str]:
    """Binding and promotion at `commit`, as the gates would have judged the update at `start`."""
    problems: list[str] = []
    if not protected or verdict.change is None:
        return problems
    if verdict.approvals:
        digest = gconfig.config_digest(resolved_config) if resolved_config is not None else ""
        signed = binding.bound(verdict)  # the requester's verified signature too, as at the gate
        problems += binding.judge(verdict.change.file, stack, signed, commit, digest,
                                  binding.changes_between(repo, commit))
        # The keys as the repository held them before the request: a key added with it counts for nothing.
        keys = approvers.fingerprints(verdict.change, approvers.load(snapshot))
        problems += key_history.judge(repo, commit, verdict.change.file, signed, binding.signers_of(verdict, keys))
    if verdict.approved_emergency:
        return problems  # an approved emergency passes without a soak, as at the gate
    rules = promotion.load_rules(snapshot)
    if rules.enabled and stack != rules.from_stack:
        problems += promotion.judge(commit, promotion.load_attestations(snapshot), rules, start,
                                    program_changed=promotion.changes_between(repo, commit),
                                    verify=promotion.verifier(snapshot),
                                    measured=measured or promotion.measured_in(repo, commit),
                                    images=(dict(gconfig.images_of(resolved_config)) if resolved_config is not None
                                            else None), stack=stack)
    return problems
