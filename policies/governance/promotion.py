"""Staging before production: a protected stack takes only a program version that staging applied
successfully, with its smoke tests passing, at least a soak time before.

The staging pipeline proves it with an attestation, `attestations/<commit>.yaml`: stack, commit,
time and the smoke tests that passed, SSH-signed (`ssh-keygen -Y sign`, namespace
`leadgen-promotion-attestation`) by the `pipeline` signer that `governance/approvers.yaml` names
and `governance/allowed_signers` holds the key of. Attestations live in the repository, like change
requests: reviewable, in the checkout the update runs from, readable without network or
credentials. Committing one makes a new commit, so an attestation of commit A also covers a later
commit C when A is C's ancestor and nothing between them is program: only attestations and change
requests. A stack file (`Pulumi.<stack>.yaml`) is program: it picks the image tags a release ships,
and exempting it once let an image staging never ran reach production unsoaked. A production-only
config change is soaked like any other (staging applies the same commit); an outage that cannot
wait ships as an approved emergency change.

The soak is measured, not claimed: an attestation's `at` must lie after the attested commit's
committer time (staging cannot have applied a commit before it existed) and no later than the
commit that added the attestation to the repository (a date after it was written down is not when
it happened), and the attestation must be committed: `change attest --at 2026-01-01T00:00:00Z` for
a commit made today was once accepted.

Which version is about to run is read from git in the checkout (`HEAD`, with no uncommitted
change to the program), never from the stack's config or an environment variable: the thing being
governed must not hold the switch. In CI, `GITHUB_SHA` must agree with it. The rules (who signs,
which stack promotes, the soak time, the smoke tests required) live in governance/approvers.yaml,
changed only through CODEOWNERS review, not in any stack's config; a repository whose approvers.yaml
has no `promotion:` section has not adopted promotion and gates nothing.

`judge` is the pure predicate; `promotion_gate` (mandatory, at update time) and
`promotion_forecast` (advisory, in a preview) are the thin wrappers the catalog lists.
"""
from __future__ import annotations

import datetime as dt
import os
import pathlib
import re
import subprocess
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping, Optional, Sequence

from . import approvers, changes, signing
from .model import Context, Resource

FOLDER = "attestations"
# A full object name: 40 hex digits (SHA-1) or 64 (repositories created with --object-format=sha256).
COMMIT = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
FIELDS = ("stack", "commit", "at", "smoke_tests", "by", "images")
# Paths whose changes do not change the program a stack runs (see the module docstring).
NOT_PROGRAM = (re.compile(r"^attestations/"), re.compile(r"^changes/"))
GIT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Rules:
    """The `promotion:` section of governance/approvers.yaml."""
    signer: str
    from_stack: str
    soak: dt.timedelta
    smoke_tests: tuple[str, ...]
    problems: tuple[str, ...] = ()
    enabled: bool = True  # False: the repository's approvers.yaml has no promotion section


@dataclass(frozen=True)
class Attestation:
    file: str
    fields: Mapping  # stack, commit, at, smoke_tests, by
    signature: str
    at: Optional[dt.datetime]
    problem: str = ""  # why the file is not an attestation at all


def is_program(path: str) -> bool:
    return not any(p.match(path) for p in NOT_PROGRAM)


# --- the pure predicate --------------------------------------------------------------------
def judge(commit: str, attestations: Sequence[Attestation], rules: Rules, now: dt.datetime, *,
          program_changed: Callable[[str], Optional[str]], verify: Callable[[Attestation], str],
          measured: Callable[[Attestation], str] = lambda att: "",
          images: Optional[Mapping[str, str]] = None, stack: str = "") -> list[str]:
    """Why `commit` may not be promoted (empty: it may). `program_changed(a)` says which program
    file differs between attested commit `a` and `commit` ("" if none, None if `a` is not an
    ancestor); `verify(att)` is "" for a valid signature, else the reason; `measured(att)` is ""
    when the attestation's time lies between its program's commit and its own, else the reason;
    `images` are the tags the promoted `stack` would run, which must be the ones staging ran."""
    if rules.problems:
        return [f"promotion rules unusable: {rules.problems[0]}"]
    short = commit[:12]
    reasons: list[str] = []
    for att in attestations:
        reason = _reason(commit, att, rules, now, program_changed, verify, measured) or \
            _images(att, images, stack, rules)
        if not reason:
            return []
        reasons.append(f"{att.file}: {reason}")
    hint = (f"platformctl change attest --stack {rules.from_stack} --commit {commit} --smoke-tests "
            f"{' '.join(rules.smoke_tests) or '<tests>'} --key <pipeline key>")
    if not reasons:
        return [f"commit {short} has no attestation that {rules.from_stack} applied it ({FOLDER}/{commit}.yaml; "
                f"the {rules.from_stack} pipeline writes it: {hint})"]
    return [f"commit {short} is not promotable: {'; '.join(reasons)}"]


def _reason(commit, att: Attestation, rules: Rules, now, program_changed, verify, measured) -> str:
    if att.problem:
        return att.problem
    f = att.fields
    if f.get("stack") != rules.from_stack:
        return f"attests stack {f.get('stack')!r}, promotion is from {rules.from_stack}"
    if f.get("by") != rules.signer:
        return f"is signed as {f.get('by')!r}, not the pipeline signer {rules.signer}"
    why = verify(att)
    if why:
        return why
    missing = [t for t in rules.smoke_tests if t not in (f.get("smoke_tests") or ())]
    if missing:
        return f"smoke tests {', '.join(missing)} did not pass in {rules.from_stack}"
    if att.at > now:
        return f"is dated {_fmt(att.at)}, in the future"
    why = measured(att)
    if why:
        return why
    if now - att.at < rules.soak:
        ready = att.at + rules.soak
        return (f"{rules.from_stack} applied it at {_fmt(att.at)}; the soak time of {_minutes(rules.soak)} "
                f"minutes ends at {_fmt(ready)}")
    attested = f.get("commit")
    if attested != commit:
        changed = program_changed(attested)
        if changed is None:
            return f"attests {str(attested)[:12]}, which is not an ancestor of {commit[:12]}"
        if changed:
            return f"is stale: it attests {str(attested)[:12]} and the program changed since ({changed})"
    return ""


def _images(att: Attestation, images: Optional[Mapping[str, str]], stack: str, rules: Rules) -> str:
    """"" when the promoted stack runs exactly the image tags staging ran, else the first difference."""
    if images is None:
        return ""
    ran = att.fields.get("images") or {}
    for key in sorted(set(images) | set(ran)):
        if images.get(key) != ran.get(key):
            return (f"{rules.from_stack} ran {key} {ran.get(key, '(none)')}; {stack or 'this stack'} would run "
                    f"{images.get(key, '(none)')}: only images {rules.from_stack} ran and soaked ship")
    return ""


def _fmt(at: dt.datetime) -> str:
    return at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _minutes(d: dt.timedelta) -> str:
    return f"{d.total_seconds() / 60:g}"


# --- reading the rules and the attestations ------------------------------------------------
def load_rules(project_root: pathlib.Path) -> Rules:
    shown = f"{approvers.FOLDER}/{approvers.APPROVERS}"
    try:
        doc = changes.read_document(changes.read_in_repo(project_root, approvers.FOLDER, approvers.APPROVERS), shown)
    except (changes.RequestUnreadable, changes._Refused) as err:
        return Rules("", "", dt.timedelta(0), (), (f"{shown}: {err}",))
    if not isinstance(doc, dict) or "promotion" not in doc:
        # A repository that has not adopted promotion (no section) gates nothing; removing the
        # section is a reviewed change to this file, like setting the soak time to zero.
        return Rules("", "", dt.timedelta(0), (), enabled=False)
    section = doc["promotion"]
    if not isinstance(section, dict):
        return Rules("", "", dt.timedelta(0), (), (f"{shown}: promotion must be a mapping",))
    signer, source = section.get("signer"), section.get("from_stack")
    soak, tests = section.get("soak_minutes"), section.get("smoke_tests", [])
    problems = []
    if not isinstance(signer, str) or not changes.EMAIL.match(signer):
        problems.append(f"{shown}: promotion.signer must be the pipeline's e-mail-style identity")
    if not isinstance(source, str) or not source:
        problems.append(f"{shown}: promotion.from_stack must name the stack that soaks a version")
    if isinstance(soak, bool) or not isinstance(soak, int) or not 0 <= soak <= 7 * 24 * 60:
        problems.append(f"{shown}: promotion.soak_minutes must be 0-10080")
        soak = 0
    if not isinstance(tests, list) or not all(isinstance(t, str) and t for t in tests):
        problems.append(f"{shown}: promotion.smoke_tests must list test names")
        tests = []
    return Rules(signer if isinstance(signer, str) else "", source if isinstance(source, str) else "",
                 dt.timedelta(minutes=soak), tuple(tests), tuple(problems))


def parse(data: bytes, shown: str) -> Attestation:
    """One attestation file, strictly parsed like a change request."""
    try:
        doc = changes.read_document(data, shown)
    except changes._Refused as err:
        return Attestation(shown, {}, "", None, str(err))
    extra = sorted(set(doc) - set(FIELDS) - {"signature"})
    if extra:
        return Attestation(shown, {}, "", None, f"has unknown field {extra[0]}")
    missing = [k for k in (*FIELDS, "signature") if k not in doc]
    if missing:
        return Attestation(shown, {}, "", None, f"has no {missing[0]}")
    try:
        at = changes.parse_time(doc["at"])
    except ValueError as err:
        return Attestation(shown, {}, "", None, f"at {err}")
    if not isinstance(doc["smoke_tests"], list) or not COMMIT.match(str(doc["commit"])):
        return Attestation(shown, {}, "", None, "needs a full commit id (40 or 64 hex digits) and a list of smoke tests")
    if not isinstance(doc["images"], dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                      for k, v in doc["images"].items()):
        return Attestation(shown, {}, "", None, "images must map each image tag key to the tag the stack ran")
    fields = {k: doc[k] for k in FIELDS}
    fields["at"] = at
    return Attestation(shown, fields, str(doc["signature"]), at)


def load_attestations(project_root: pathlib.Path) -> list[Attestation]:
    folder = pathlib.Path(project_root) / FOLDER
    out = []
    names = sorted(p.name for p in folder.glob("*.yaml")) if folder.is_dir() else []
    for name in names:
        shown = f"{FOLDER}/{name}"
        try:
            out.append(parse(changes.read_in_repo(project_root, FOLDER, name), shown))
        except changes.RequestUnreadable as err:
            out.append(Attestation(shown, {}, "", None, str(err)))
    return out


def message(fields: Mapping) -> bytes:
    """The bytes the pipeline signs: the attestation's fields, times in UTC."""
    return signing.attestation_message({k: fields[k] for k in FIELDS})


def verifier(project_root: pathlib.Path) -> Callable[[Attestation], str]:
    directory = approvers.load(project_root)

    def verify(att: Attestation) -> str:
        if directory.signers is None:
            return f"cannot be verified ({directory.problems[0] if directory.problems else 'no allowed_signers'})"
        verdict = signing.verify(message(att.fields), att.signature, identity=str(att.fields["by"]),
                                 allowed_signers=directory.signers, namespace=signing.ATTESTATION_NAMESPACE)
        return "" if verdict.ok else verdict.reason
    return verify


# --- the version about to run, from git ----------------------------------------------------
class VersionUnknown(Exception):
    """Why the program version could not be established (one line)."""


def _git(root: pathlib.Path, *argv: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", "-C", str(root), *argv], capture_output=True, text=True,
                              timeout=GIT_TIMEOUT_S)
    except FileNotFoundError:
        raise VersionUnknown("git is not installed") from None
    except subprocess.TimeoutExpired:
        raise VersionUnknown(f"git did not answer within {GIT_TIMEOUT_S:g} s") from None


def current_commit(root: pathlib.Path, env: Mapping[str, str]) -> str:
    head = _git(root, "rev-parse", "--verify", "HEAD")
    if head.returncode != 0:
        raise VersionUnknown(f"{root.name} is not a git checkout with a commit")
    commit = head.stdout.strip()
    ci = env.get("GITHUB_SHA", "").strip().lower()
    if ci and ci != commit:
        raise VersionUnknown(f"GITHUB_SHA {ci[:12]} is not the checked-out commit {commit[:12]}")
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    dirty = [line[3:].split(" -> ")[-1] for line in status.stdout.splitlines() if line.strip()]
    program = [p for p in dirty if is_program(p) and not _names_request_only(root, p)]
    if program:
        raise VersionUnknown(f"the checkout differs from commit {commit[:12]} ({program[0]}): only a committed "
                             "program can be promoted")
    return commit


STACK_FILE = re.compile(r"^Pulumi\.[A-Za-z0-9_.-]+\.yaml$")
CHANGE_REQUEST_KEY = "leadgen:changeRequest"


def _names_request_only(root: pathlib.Path, path: str) -> bool:
    """A stack file whose only change from HEAD is `leadgen:changeRequest`: what the `up` workflow's
    `pulumi config set leadgen:changeRequest <CR>` leaves. It names the request, changes no program,
    and the config digest approvals sign leaves it out (config.config_digest)."""
    import yaml

    if not STACK_FILE.match(path):
        return False
    committed = _git(root, "show", f"HEAD:{path}")
    try:
        before = yaml.safe_load(committed.stdout) if committed.returncode == 0 else None
        after = yaml.safe_load((pathlib.Path(root) / path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    if not isinstance(before, dict) or not isinstance(after, dict):
        return False

    def without(doc: dict) -> dict:
        config = doc.get("config")
        if not isinstance(config, dict):
            return doc
        return {**doc, "config": {k: v for k, v in config.items() if k != CHANGE_REQUEST_KEY}}
    return without(before) == without(after)


def measured_in(root: pathlib.Path, commit: str) -> Callable[[Attestation], str]:
    """The soak as git measures it (see the module docstring), for attestations read at `commit`."""
    from . import source
    return measured_by(source.Checkout(root), commit)


def measured_by(facts, commit: str) -> Callable[[Attestation], str]:
    """The soak measured with `facts` (source.Facts: git, or what a published pack was given)."""
    def measured(att: Attestation) -> str:
        attested = str(att.fields.get("commit"))
        program_time = facts.commit_time(attested) if COMMIT.match(attested) else None
        if program_time is None:
            return f"attests {attested[:12]}, which is not a commit of this repository"
        if att.at < program_time:
            return (f"is dated {_fmt(att.at)}, before {attested[:12]} was committed ({_fmt(program_time)}): "
                    "staging cannot have applied it then")
        own = facts.added_time(att.file, commit)
        if own is None:
            return f"is not committed at {commit[:12]}; the soak is measured against the commit that records it"
        if att.at > own:
            return (f"is dated {_fmt(att.at)}, after the commit that records it ({_fmt(own)}): the time is "
                    "claimed, not measured")
        return ""
    return measured


def changes_between(root: pathlib.Path, commit: str) -> Callable[[str], Optional[str]]:
    from . import source
    checkout = source.Checkout(root)
    return lambda attested: checkout.changed_since(attested, commit)


# --- the wrappers ----------------------------------------------------------------------------
def findings(ctx: Context, env: Optional[Mapping[str, str]] = None) -> list[str]:
    """What stands between this protected stack and the version about to run."""
    rules = load_rules(ctx.project_root)
    if not rules.enabled or not ctx.protected or (not rules.problems and ctx.stack == rules.from_stack):
        return []
    if _emergency(ctx):
        return []  # flagged by governance-emergency-change; the outage does not wait for a soak
    from . import source
    facts = source.facts_of(ctx)
    try:
        commit = facts.head(os.environ if env is None else env)
    except VersionUnknown as err:
        return [f"the program version cannot be established: {err}"]
    return _judged(str(ctx.project_root), commit, rules, ctx.clock.now, dict(ctx.config.images), ctx.stack, facts)


def _judged(root: str, commit: str, rules: Rules, now: dt.datetime, images: Optional[Mapping[str, str]] = None,
            stack: str = "", facts=None) -> list[str]:
    from . import source
    path = pathlib.Path(root)
    facts = facts if facts is not None else source.Checkout(path)
    return judge(commit, load_attestations(path), rules, now,
                 program_changed=lambda attested: facts.changed_since(attested, commit),
                 verify=verifier(path), measured=measured_by(facts, commit), images=images, stack=stack)


def _emergency(ctx: Context) -> bool:
    from . import gates  # the change request as the gates judge it, approvals verified
    try:
        return gates.assess(ctx).approved_emergency
    except Exception:  # noqa: BLE001 no usable change request: no emergency
        return False


def promotion_gate(resources: list[Resource], ctx: Context) -> Iterator[str]:
    """At update time: the version must be one the promotion stack soaked (mandatory)."""
    if ctx.dry_run:
        return
    yield from findings(ctx)


def promotion_forecast(resources: list[Resource], ctx: Context) -> Iterator[str]:
    """In a preview: what the update will find missing, so a pull request shows it (advisory)."""
    if not ctx.dry_run:
        return
    for line in findings(ctx):
        yield f"the update will be refused: {line}"
