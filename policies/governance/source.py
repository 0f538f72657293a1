"""Where the pack's repository facts come from: the checkout beside it, or what a published pack is given.

In the repository (`pulumi up --policy-pack policies`) the pack reads `changes/`, `governance/`,
`attestations/` and git from the folder above itself. Installed where the CLI puts a published pack
(a Pulumi Cloud policy group: `~/.pulumi/policies/<org>/leadgen-governance/<version>/`) there is no
repository above it, and it once answered "file not found" and "not a git checkout". So a published
pack gets the same facts another way, and judges them with the same code:

- the approver directory, its keys, the promotion rules and the gate settings are published WITH the
  pack version: `governance/published.json` in the pack, generated from `governance/` by
  `make governance-publish` (a drift test fails when governance/ changes without it);
- the change request, its approvals and staging's attestations reach it in the environment the CLI
  gives it, `LEADGEN_CHANGE_EVIDENCE`, which the `up` workflow writes with
  `platformctl change evidence --stack <stack> <CR>` right before `pulumi up`. Their signatures are
  verified here against the published keys exactly as in the repository: evidence cannot carry an
  approval or an attestation its signer did not make.

Not the stack's config: setting it (`pulumi config set`) edits the governed stack file, which makes
the checkout differ from the commit that runs and changes the config digest approvals sign.

What a published pack cannot re-check without git, the evidence carries as the `up` workflow's git
saw it, bound to the commit that runs (`GITHUB_SHA`, set by GitHub in that workflow, must agree):
whether the checkout is that commit unchanged, which files differ between an approved or attested
commit and it (and whether it descends from them), the committer time of an attested commit and of
the commit that added its attestation, and allowed_signers at the parent of the request's first
commit (key age). Why that is still safe: the pack cannot see the program either way, only its
resources; that the program which runs is `GITHUB_SHA` holds only because the deployer role is
assumable by the `up` workflow on `main` alone (bootstrap/), and that workflow is CAB-owned code
that computes the evidence in a fresh checkout. Everything a person could forge there - approvals,
attestations, the config - is signed or is the config the CLI itself hands over.

Both sources answer the same questions (`Facts`); `promotion`, `binding` and `key_history` ask
them instead of calling git.
"""
from __future__ import annotations

import atexit
import dataclasses
import datetime as dt
import functools
import hashlib
import json
import os
import pathlib
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Mapping, Optional

EVIDENCE_ENV = "LEADGEN_CHANGE_EVIDENCE"
EVIDENCE_VERSION = 1
PUBLISHED = "published.json"  # beside this module, in the pack
# The governance/ files the pack reads, published with each pack version.
PUBLISHED_FILES = ("approvers.yaml", "allowed_signers", "gates.yaml")
MAX_EVIDENCE_BYTES = 96 * 1024  # under Linux's 128 KiB limit for one environment string


class Unusable(Exception):
    """Why the published data or the evidence cannot be used (one line)."""


# --- what the promotion, binding and key-age checks ask -----------------------------------------------
class Facts:
    """The git facts the gates need about the commit that runs."""

    def head(self, env: Mapping[str, str]) -> str:
        """The commit that runs (raises promotion.VersionUnknown with the reason)."""
        raise NotImplementedError

    def changed_since(self, earlier: str, running: str) -> Optional[str]:
        """The first file outside changes/ and attestations/ that differs between `earlier` and
        `running` ("" when none), None when `earlier` is not an ancestor of `running`."""
        raise NotImplementedError

    def commit_time(self, commit: str) -> Optional[dt.datetime]:
        raise NotImplementedError

    def added_time(self, path: str, running: str) -> Optional[dt.datetime]:
        """Committer time of the latest commit up to `running` that added `path`, None if none."""
        raise NotImplementedError

    def key_reference(self, running: str, request_path: str) -> tuple[Optional[str], str]:
        """(the commit whose allowed_signers judges an approver's key, how it was chosen)."""
        raise NotImplementedError

    def signers_at(self, commit: str) -> Optional[str]:
        """governance/allowed_signers as it was at `commit`, None if it was not there."""
        raise NotImplementedError


class Checkout(Facts):
    """git in the repository beside the pack (or any checkout: the history audit's snapshots)."""

    def __init__(self, root: pathlib.Path):
        self.root = pathlib.Path(root)

    def _git(self, *argv: str):
        from . import promotion
        return promotion._git(self.root, *argv)

    def head(self, env: Mapping[str, str]) -> str:
        from . import promotion
        return promotion.current_commit(self.root, env)

    def changed_since(self, earlier: str, running: str) -> Optional[str]:
        from . import promotion
        if not promotion.COMMIT.match(str(earlier)):
            return None
        if self._git("merge-base", "--is-ancestor", earlier, running).returncode != 0:
            return None
        diff = self._git("diff", "--name-only", earlier, running)
        if diff.returncode != 0:
            return None
        return next((p for p in diff.stdout.splitlines() if promotion.is_program(p)), "")

    def _time(self, *argv: str) -> Optional[dt.datetime]:
        out = self._git("log", "-1", "--format=%cI", *argv)
        text = out.stdout.strip() if out.returncode == 0 else ""
        try:
            return dt.datetime.fromisoformat(text) if text else None
        except ValueError:
            return None

    def commit_time(self, commit: str) -> Optional[dt.datetime]:
        from . import promotion
        return self._time(commit, "--") if promotion.COMMIT.match(str(commit)) else None

    def added_time(self, path: str, running: str) -> Optional[dt.datetime]:
        return self._time("--diff-filter=A", running, "--", path)

    def key_reference(self, running: str, request_path: str) -> tuple[Optional[str], str]:
        added = self._git("log", "--diff-filter=A", "--format=%H", running, "--", request_path)
        commits = added.stdout.split() if added.returncode == 0 else []
        if not commits:
            return running, f"the commit that runs ({running[:12]}), the request not being committed yet"
        first = commits[-1]
        parent = self._git("rev-parse", "--verify", "-q", f"{first}^")
        if parent.returncode != 0:
            return None, f"the request was added in the repository's first commit ({first[:12]})"
        return parent.stdout.strip(), f"the parent of the request's first commit ({first[:12]})"

    def signers_at(self, commit: str) -> Optional[str]:
        from .approvers import FOLDER, SIGNERS
        shown = self._git("show", f"{commit}:{FOLDER}/{SIGNERS}")
        return shown.stdout if shown.returncode == 0 else None


@dataclass(frozen=True)
class Evidence:
    """`LEADGEN_CHANGE_EVIDENCE`, as `platformctl change evidence` writes it."""
    stack: str
    commit: str  # the commit that runs, as the workflow's checkout had it ("" when unknown)
    checkout_problem: str  # why the checkout could not be promoted ("" when it could)
    request_file: str  # changes/<ID>.yaml
    request_text: str
    attestations: tuple[tuple[str, str], ...] = ()  # (attestations/<name>.yaml, its text)
    changed: Mapping[str, Optional[str]] = field(default_factory=dict)  # commit -> Facts.changed_since
    times: Mapping[str, str] = field(default_factory=dict)  # commit -> committer time
    added: Mapping[str, Optional[str]] = field(default_factory=dict)  # path -> Facts.added_time
    reference: tuple[Optional[str], str] = (None, "")
    signers: Optional[str] = None  # allowed_signers at `reference`


def _time(text: Optional[str]) -> Optional[dt.datetime]:
    try:
        return dt.datetime.fromisoformat(text) if isinstance(text, str) and text else None
    except ValueError:
        return None


class Carried(Facts):
    """The facts as the `up` workflow's git saw them (see the module docstring)."""

    def __init__(self, evidence: Evidence):
        self.evidence = evidence

    def head(self, env: Mapping[str, str]) -> str:
        from . import promotion
        e = self.evidence
        if e.checkout_problem or not e.commit:
            raise promotion.VersionUnknown(e.checkout_problem or "the change evidence names no commit")
        ci = env.get("GITHUB_SHA", "").strip().lower()
        if ci and ci != e.commit:
            raise promotion.VersionUnknown(f"GITHUB_SHA {ci[:12]} is not the checked-out commit {e.commit[:12]}")
        return e.commit

    def changed_since(self, earlier: str, running: str) -> Optional[str]:
        if running != self.evidence.commit:
            return None
        return self.evidence.changed.get(earlier)

    def commit_time(self, commit: str) -> Optional[dt.datetime]:
        return _time(self.evidence.times.get(commit))

    def added_time(self, path: str, running: str) -> Optional[dt.datetime]:
        return _time(self.evidence.added.get(path)) if running == self.evidence.commit else None

    def key_reference(self, running: str, request_path: str) -> tuple[Optional[str], str]:
        return self.evidence.reference

    def signers_at(self, commit: str) -> Optional[str]:
        return self.evidence.signers if commit == self.evidence.reference[0] else None


# --- the evidence as JSON ---------------------------------------------------------------------------
def dump(evidence: Evidence) -> str:
    body = dataclasses.asdict(evidence)
    body["attestations"] = [{"file": f, "text": t} for f, t in evidence.attestations]
    body["reference"] = {"commit": evidence.reference[0], "where": evidence.reference[1]}
    return json.dumps({"version": EVIDENCE_VERSION, **body}, sort_keys=True, separators=(",", ":"))


def load_evidence(text: str) -> Evidence:
    """Parse `LEADGEN_CHANGE_EVIDENCE`; raises Unusable with the field at fault."""
    if len(text.encode("utf-8")) > MAX_EVIDENCE_BYTES:
        raise Unusable(f"{EVIDENCE_ENV} is larger than {MAX_EVIDENCE_BYTES // 1024} KiB")
    try:
        doc = json.loads(text)
    except ValueError as err:
        raise Unusable(f"{EVIDENCE_ENV} is not JSON ({err.msg} at character {err.pos})") from None
    if not isinstance(doc, dict) or doc.get("version") != EVIDENCE_VERSION:
        raise Unusable(f"{EVIDENCE_ENV} is not change evidence of version {EVIDENCE_VERSION} "
                       "(write it with platformctl change evidence)")

    def text_of(key: str, value=None) -> str:
        value = doc.get(key) if value is None else value
        if not isinstance(value, str):
            raise Unusable(f"{EVIDENCE_ENV}: {key} must be a string")
        return value
    attestations = []
    for i, item in enumerate(doc.get("attestations") or []):
        if not isinstance(item, dict) or not isinstance(item.get("file"), str) or not isinstance(item.get("text"), str):
            raise Unusable(f"{EVIDENCE_ENV}: attestations[{i}] must be a file and its text")
        attestations.append((item["file"], item["text"]))
    maps = {}
    for key, nullable in (("changed", True), ("times", False), ("added", True)):
        value = doc.get(key) or {}
        if not isinstance(value, dict) or not all(
                isinstance(k, str) and (isinstance(v, str) or (nullable and v is None)) for k, v in value.items()):
            raise Unusable(f"{EVIDENCE_ENV}: {key} must map names to strings")
        maps[key] = value
    reference = doc.get("reference") or {}
    if not isinstance(reference, dict) or not isinstance(reference.get("where", ""), str) or \
            not (reference.get("commit") is None or isinstance(reference.get("commit"), str)):
        raise Unusable(f"{EVIDENCE_ENV}: reference must name a commit and how it was chosen")
    signers = doc.get("signers")
    if signers is not None and not isinstance(signers, str):
        raise Unusable(f"{EVIDENCE_ENV}: signers must be the text of allowed_signers")
    return Evidence(stack=text_of("stack"), commit=text_of("commit"), checkout_problem=text_of("checkout_problem"),
                    request_file=text_of("request_file"), request_text=text_of("request_text"),
                    attestations=tuple(attestations), changed=maps["changed"], times=maps["times"],
                    added=maps["added"], reference=(reference.get("commit"), reference.get("where", "")),
                    signers=signers)


# --- the published governance data ------------------------------------------------------------------
def published_path(pack_dir: pathlib.Path) -> pathlib.Path:
    return pathlib.Path(pack_dir) / "governance" / PUBLISHED


def publish(repository: pathlib.Path) -> str:
    """published.json's text for the governance/ folder of `repository` (strictly read)."""
    from . import changes
    files = {}
    for name in PUBLISHED_FILES:
        try:
            files[name] = changes.read_in_repo(repository, "governance", name, max_bytes=1024 * 1024).decode("utf-8")
        except changes.RequestUnreadable as err:
            raise Unusable(f"governance/{name}: {err}") from None
        except UnicodeDecodeError:
            raise Unusable(f"governance/{name}: is not UTF-8") from None
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode("utf-8")).hexdigest()
    return json.dumps({"generated_by": "make governance-publish (from governance/; do not edit)",
                       "sha256": digest, "files": files}, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def load_published(pack_dir: pathlib.Path) -> Mapping[str, str]:
    path = published_path(pack_dir)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise Unusable(f"governance/{PUBLISHED} in the pack cannot be read ({err.__class__.__name__}); "
                       "publish the pack after make governance-publish") from None
    files = doc.get("files") if isinstance(doc, dict) else None
    if not isinstance(files, dict) or set(files) != set(PUBLISHED_FILES) or \
            not all(isinstance(v, str) for v in files.values()):
        raise Unusable(f"governance/{PUBLISHED} in the pack must carry {', '.join(PUBLISHED_FILES)}")
    return files


# --- which mode, and the root the file readers read ------------------------------------------------
def in_repository(pack_dir: pathlib.Path) -> Optional[pathlib.Path]:
    """The repository root when the pack is its `policies/` folder beside `governance/`, else None
    (a published pack: its parent is the CLI's folder of pack versions)."""
    pack = pathlib.Path(pack_dir).resolve()
    root = pack.parent
    if pack.name == "policies" and (root / "governance").is_dir() and not (root / "governance").is_symlink():
        return root
    return None


@dataclass(frozen=True)
class Published:
    root: pathlib.Path  # a private folder laid out like the repository, for the strict readers
    facts: Facts
    problem: str = ""  # why the evidence cannot be used ("" when it can): the change request's problem


_made: list[str] = []


@atexit.register
def _clean() -> None:
    for folder in _made:
        shutil.rmtree(folder, ignore_errors=True)


@functools.lru_cache(maxsize=8)
def published(pack_dir: str, evidence_text: str, change_id: str, stack: str) -> Published:
    """Lay the published governance data and the evidence out in a private folder, as the
    repository has them, so the same readers read them; the evidence must be for this stack and
    this change request."""
    from . import changes
    folder = pathlib.Path(tempfile.mkdtemp(prefix="leadgen-governance-"))
    _made.append(str(folder))
    try:
        files = load_published(pathlib.Path(pack_dir))
    except Unusable as err:
        files, problem = {}, str(err)
    else:
        problem = ""
    _write(folder, "governance", files)
    expected = f"{changes.CHANGES_DIR}/{change_id}.yaml"

    def refused(why: str) -> Published:
        return Published(folder, Carried(Evidence(stack, "", why, expected, "")), why)
    if problem:
        return refused(problem)
    if not evidence_text.strip():
        return refused(f"{EVIDENCE_ENV} is not set: a published pack reads the change request, its approvals and "
                       f"staging's attestation from it (the up workflow runs platformctl change evidence --stack "
                       f"{stack} {change_id or '<CR>'})")
    try:
        evidence = load_evidence(evidence_text)
    except Unusable as err:
        return refused(str(err))
    if evidence.stack != stack or evidence.request_file != expected:
        return refused(f"{EVIDENCE_ENV} carries {evidence.request_file} for stack {evidence.stack}; this update of "
                       f"{stack} names {expected}")
    _write(folder, changes.CHANGES_DIR, {pathlib.PurePosixPath(expected).name: evidence.request_text})
    named = {}
    for file, text in evidence.attestations:
        path = pathlib.PurePosixPath(file)
        if path.parent.as_posix() != "attestations" or not path.name.endswith(".yaml") or path.name.startswith("."):
            return refused(f"{EVIDENCE_ENV}: attestation {file!r} is not attestations/<name>.yaml")
        named[path.name] = text
    _write(folder, "attestations", named)
    return Published(folder, Carried(evidence))


def _write(root: pathlib.Path, folder: str, files: Mapping[str, str]) -> None:
    target = root / folder
    target.mkdir(mode=0o700, exist_ok=True)
    for name, text in files.items():
        fd = os.open(target / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)


def facts_of(ctx) -> Facts:
    """The context's facts: what a published pack was given, else git in its project root."""
    return ctx.facts if getattr(ctx, "facts", None) is not None else Checkout(ctx.project_root)


def main(argv: Optional[list] = None) -> int:
    """`python -m governance.source --write|--check <repository>`: (re)generate or check the pack's
    governance/published.json from the repository's governance/ (make governance-publish)."""
    import argparse
    import sys
    parser = argparse.ArgumentParser(prog="governance.source")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    parser.add_argument("repository", type=pathlib.Path)
    args = parser.parse_args(argv)
    target = published_path(pathlib.Path(__file__).resolve().parents[1])
    try:
        text = publish(args.repository)
    except Unusable as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.check:
        current = target.read_text(encoding="utf-8") if target.is_file() else ""
        if current != text:
            print(f"error: policies/governance/{PUBLISHED} differs from governance/: run make governance-publish",
                  file=sys.stderr)
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
