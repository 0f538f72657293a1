"""Staging before production: a protected stack's update is refused without an attestation, with a
stale, a forged or a too-fresh one, and allowed with a valid one; a preview says what is missing.

Each test builds a throwaway git repository holding a program file, governance/ (with the pipeline's
promotion rules and allowed_signers) and attestations written by `platformctl change attest`'s own
function, signed with keys made here by the real ssh-keygen.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
import pathlib
import subprocess
import sys

import pytest
import yaml

from governance import clock, config, gates, promotion, signing
from governance.model import Context
from platformctl.attestation import attest
from platformctl.errors import InputError
from platformctl.project import ROOT

PIPELINE = "pipeline@insurance-lead-gen.com"
TESTS = ["api-health", "lead-submit"]
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)
SOAK = 60


def git(root: pathlib.Path, *argv: str) -> str:
    return subprocess.run(["git", "-C", str(root), *argv], check=True, capture_output=True, text=True).stdout.strip()


PROGRAM_AT = NOW - dt.timedelta(hours=3)  # when the tests' program commits are made


def commit_all(root: pathlib.Path, message: str, when: dt.datetime = PROGRAM_AT) -> str:
    """Commit everything, dated `when` (the soak is measured against commit times)."""
    git(root, "add", "-A")
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    subprocess.run(["git", "-C", str(root), "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q",
                    "-m", message], check=True, capture_output=True,
                   env={**os.environ, "GIT_COMMITTER_DATE": stamp, "GIT_AUTHOR_DATE": stamp})
    return git(root, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    made = {}
    for who in ("pipeline", "impostor"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", who, "-f", str(folder / who)],
                       check=True)
        made[who] = folder / who
    return made


@pytest.fixture
def repo(tmp_path, keys):
    root = tmp_path / "repo"
    (root / "governance").mkdir(parents=True)
    (root / "governance" / "approvers.yaml").write_text(yaml.safe_dump({
        "approvers": {"cto@example.com": ["cto"]},
        "promotion": {"signer": PIPELINE, "from_stack": "staging", "soak_minutes": SOAK, "smoke_tests": TESTS}}))
    pub = pathlib.Path(f"{keys['pipeline']}.pub").read_text().strip()
    (root / "governance" / "allowed_signers").write_text(
        f'{PIPELINE} namespaces="{signing.ATTESTATION_NAMESPACE}" {pub}\n')
    (root / "changes").mkdir()
    (root / "__main__.py").write_text("print('program v1')\n")
    git(root, "init", "-q")
    commit_all(root, "v1")
    return root


def ctx_for(root, stack="production", dry_run=False, now=NOW) -> Context:
    return Context(stack=stack, project="leadgen", config=config.from_mapping({}), project_root=root,
                   clock=clock.Clock(now), dry_run=dry_run)


def sign(root, commit, *, at, key, tests=TESTS, stack="staging", committed=True):
    """Write the attestation as the staging job does, and commit it a minute after `at` (as the job
    commits it right after signing), unless `committed` is False."""
    path = attest(root, stack=stack, commit=commit, smoke_tests=tests, key=key, at=at)
    if committed:
        commit_all(root, "attestation", when=at + dt.timedelta(minutes=1))
    return path


def gate(root, env=None, **kw) -> list[str]:
    return promotion.findings(ctx_for(root, **kw), env={} if env is None else env)


def test_without_an_attestation_the_update_is_refused_naming_the_command(repo):
    head = git(repo, "rev-parse", "HEAD")
    assert gate(repo) == [
        f"commit {head[:12]} has no attestation that staging applied it (attestations/{head}.yaml; the staging "
        f"pipeline writes it: platformctl change attest --stack staging --commit {head} --smoke-tests "
        "api-health lead-submit --key <pipeline key>)"]


def test_a_valid_attestation_older_than_the_soak_time_allows_the_update(repo, keys):
    head = git(repo, "rev-parse", "HEAD")
    sign(repo, head, at=NOW - dt.timedelta(minutes=SOAK + 1), key=keys["pipeline"])
    assert gate(repo) == []


def test_the_pipelines_own_commit_of_the_attestation_is_still_the_attested_program(repo, keys):
    head = git(repo, "rev-parse", "HEAD")
    sign(repo, head, at=NOW - dt.timedelta(hours=2), key=keys["pipeline"])
    (repo / "changes" / "CR-2026-014.yaml").write_text("id: CR-2026-014\n")  # a request: not program
    commit_all(repo, "a change request", when=NOW - dt.timedelta(minutes=90))
    assert gate(repo) == []


def test_a_stack_file_change_is_program_and_needs_its_own_soak(repo, keys):
    # An image tag staging never ran shipped unsoaked when stack files were exempt from promotion.
    head = git(repo, "rev-parse", "HEAD")
    sign(repo, head, at=NOW - dt.timedelta(hours=2), key=keys["pipeline"])
    (repo / "Pulumi.production.yaml").write_text("config:\n  leadgen:workloads.api.tag: 9.9.9\n")
    new = commit_all(repo, "ship an image staging never ran", when=NOW - dt.timedelta(minutes=90))
    assert gate(repo) == [f"commit {new[:12]} is not promotable: attestations/{head}.yaml: is stale: it attests "
                          f"{head[:12]} and the program changed since (Pulumi.production.yaml)"]


def test_the_soak_is_measured_by_git_not_claimed_by_the_signer(repo, keys):
    head = git(repo, "rev-parse", "HEAD")
    # Dated before the program it attests existed: `--at 2026-01-01` for a commit made today.
    sign(repo, head, at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), key=keys["pipeline"])
    assert gate(repo) == [f"commit {git(repo, 'rev-parse', 'HEAD')[:12]} is not promotable: attestations/{head}.yaml: "
                          f"is dated 2026-01-01T00:00:00Z, before {head[:12]} was committed (2026-12-01T09:00:00Z): "
                          "staging cannot have applied it then"]


def test_an_attestation_dated_after_its_own_commit_or_never_committed_is_refused(repo, keys):
    head = git(repo, "rev-parse", "HEAD")
    sign(repo, head, at=NOW - dt.timedelta(hours=2), key=keys["pipeline"], committed=False)
    assert gate(repo) == [f"commit {head[:12]} is not promotable: attestations/{head}.yaml: is not committed at "
                          f"{head[:12]}; the soak is measured against the commit that records it"]
    top = commit_all(repo, "attestation written down before the time it claims", when=NOW - dt.timedelta(hours=2, minutes=30))
    assert gate(repo) == [f"commit {top[:12]} is not promotable: attestations/{head}.yaml: is dated "
                          "2026-12-01T10:00:00Z, after the commit that records it (2026-12-01T09:30:00Z): the time is "
                          "claimed, not measured"]


def test_a_stale_attestation_of_an_older_program_is_refused(repo, keys):
    old = git(repo, "rev-parse", "HEAD")
    sign(repo, old, at=NOW - dt.timedelta(hours=2), key=keys["pipeline"])
    (repo / "__main__.py").write_text("print('program v2')\n")
    new = commit_all(repo, "v2, never applied in staging", when=NOW - dt.timedelta(minutes=90))
    assert gate(repo) == [f"commit {new[:12]} is not promotable: attestations/{old}.yaml: is stale: it attests "
                          f"{old[:12]} and the program changed since (__main__.py)"]


def test_a_too_fresh_attestation_is_refused_until_the_soak_ends(repo, keys):
    head = git(repo, "rev-parse", "HEAD")
    sign(repo, head, at=NOW - dt.timedelta(minutes=10), key=keys["pipeline"])
    top = git(repo, "rev-parse", "HEAD")  # the attestation's own commit, carrying the attested program
    assert gate(repo) == [f"commit {top[:12]} is not promotable: attestations/{head}.yaml: staging applied it at "
                          "2026-12-01T11:50:00Z; the soak time of 60 minutes ends at 2026-12-01T12:50:00Z"]


def test_a_forged_attestation_signed_by_another_key_is_refused(repo, keys):
    head = git(repo, "rev-parse", "HEAD")
    sign(repo, head, at=NOW - dt.timedelta(hours=2), key=keys["impostor"])
    top = git(repo, "rev-parse", "HEAD")
    [line] = gate(repo)
    assert line.startswith(f"commit {top[:12]} is not promotable: attestations/{head}.yaml: signature does not "
                           f"verify for {PIPELINE}"), line


def test_an_attestation_edited_after_signing_is_refused(repo, keys):
    head = git(repo, "rev-parse", "HEAD")
    path = sign(repo, head, at=NOW - dt.timedelta(minutes=10), key=keys["pipeline"], committed=False)
    # Backdating past the soak time breaks the signature over `at`.
    path.write_text(path.read_text().replace('at: "2026-12-01T11:50:00Z"', 'at: "2026-12-01T09:00:00Z"'))
    [line] = gate(repo)
    assert "signature does not verify" in line, line


def test_a_preview_forecasts_what_the_update_will_refuse_and_blocks_nothing(repo):
    ctx = ctx_for(repo, dry_run=True)
    assert list(promotion.promotion_gate([], ctx)) == []
    [line] = promotion.promotion_forecast([], ctx)
    assert line.startswith("the update will be refused: commit ") and "has no attestation" in line
    update = ctx_for(repo, dry_run=False)
    assert list(promotion.promotion_forecast([], update)) == []


def test_the_version_comes_from_git_and_ci_cannot_name_another(repo, keys):
    head = git(repo, "rev-parse", "HEAD")
    sign(repo, head, at=NOW - dt.timedelta(hours=2), key=keys["pipeline"])
    head = git(repo, "rev-parse", "HEAD")
    assert gate(repo, env={"GITHUB_SHA": "0" * 40}) == [
        f"the program version cannot be established: GITHUB_SHA 000000000000 is not the checked-out commit {head[:12]}"]
    (repo / "__main__.py").write_text("print('edited, not committed')\n")
    assert gate(repo) == [f"the program version cannot be established: the checkout differs from commit "
                          f"{head[:12]} (__main__.py): only a committed program can be promoted"]


def test_staging_itself_and_unprotected_stacks_are_not_gated(repo):
    assert gate(repo, stack="staging") == []
    assert gate(repo, stack="dev") == []


def test_an_approved_emergency_passes_without_a_soak(repo, monkeypatch):
    class Verdict:
        approved_emergency = True
    monkeypatch.setattr(gates, "assess", lambda ctx: Verdict())
    assert gate(repo) == []


def test_attest_refuses_another_stack_and_missing_smoke_tests(repo, keys):
    head = git(repo, "rev-parse", "HEAD")
    with pytest.raises(InputError, match="^--stack production: attestations are made by staging"):
        sign(repo, head, at=NOW, key=keys["pipeline"], stack="production", committed=False)
    with pytest.raises(InputError, match="^--smoke-tests lacks lead-submit: "):
        sign(repo, head, at=NOW, key=keys["pipeline"], tests=["api-health"], committed=False)
    assert not (repo / "attestations" / f"{head}.yaml").exists()


def test_the_repository_rules_are_usable_and_the_command_is_registered():
    rules = promotion.load_rules(ROOT)
    assert rules.problems == () and rules.from_stack == "staging" and rules.soak >= dt.timedelta(minutes=30)
    proc = subprocess.run([sys.executable, "-m", "platformctl", "change", "attest", "--stack", "production",
                           "--commit", "abc", "--smoke-tests", "x", "--key", "/nonexistent"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == ("platformctl change attest: --stack production: attestations are made by staging, "
                           "the stack governance/approvers.yaml promotes from\n")


def test_a_repository_without_promotion_rules_gates_nothing_and_a_broken_section_fails_closed(repo):
    approvers_file = repo / "governance" / "approvers.yaml"
    doc = yaml.safe_load(approvers_file.read_text())
    approvers_file.write_text(yaml.safe_dump({"approvers": doc["approvers"]}))
    assert gate(repo) == []
    approvers_file.write_text(yaml.safe_dump({**doc, "promotion": {**doc["promotion"], "soak_minutes": "1h"}}))
    commit_all(repo, "a soak time that is not a number of minutes")
    assert gate(repo) == ["promotion rules unusable: governance/approvers.yaml: promotion.soak_minutes must be 0-10080"]


def test_a_sha256_repository_commit_is_attested_and_passes_the_gate(tmp_path, keys):
    """Repositories made with --object-format=sha256 name commits with 64 hex digits."""
    root = tmp_path / "repo256"
    (root / "governance").mkdir(parents=True)
    (root / "governance" / "approvers.yaml").write_text(yaml.safe_dump({
        "approvers": {"cto@example.com": ["cto"]},
        "promotion": {"signer": PIPELINE, "from_stack": "staging", "soak_minutes": SOAK, "smoke_tests": TESTS}}))
    pub = pathlib.Path(f"{keys['pipeline']}.pub").read_text().strip()
    (root / "governance" / "allowed_signers").write_text(
        f'{PIPELINE} namespaces="{signing.ATTESTATION_NAMESPACE}" {pub}\n')
    (root / "__main__.py").write_text("print('program v1')\n")
    git(root, "init", "-q", "--object-format=sha256")
    head = commit_all(root, "v1")
    assert len(head) == 64
    path = sign(root, head, at=NOW - dt.timedelta(minutes=SOAK + 1), key=keys["pipeline"])
    assert path.name == f"{head}.yaml"
    assert gate(root) == []
    with pytest.raises(InputError, match="must be a full git commit id: 40 hex digits"):
        sign(root, head[:50], at=NOW, key=keys["pipeline"])


def test_production_runs_only_the_image_tags_staging_ran(repo, keys):
    # An image tag staging never ran once shipped unsoaked: the attestation records the tags staging's
    # config resolved to, and the promoted stack must run exactly those.
    (repo / "Pulumi.staging.yaml").write_text("config:\n  leadgen:workloads.api.tag: 2.15.0\n")
    head = commit_all(repo, "staging runs 2.15.0")
    sign(repo, head, at=NOW - dt.timedelta(hours=2), key=keys["pipeline"])
    text = (repo / "attestations" / f"{head}.yaml").read_text()
    assert 'images:\n  "leadgen:workloads.api.tag": "2.15.0"\n' in text
    top = git(repo, "rev-parse", "HEAD")

    def promoted(tag):
        ctx = dataclasses.replace(ctx_for(repo), config=config.from_mapping({"leadgen:workloads.api.tag": tag}))
        return promotion.findings(ctx, env={})
    assert promoted("2.15.0") == []
    assert promoted("9.9.9") == [f"commit {top[:12]} is not promotable: attestations/{head}.yaml: staging ran "
                                 "leadgen:workloads.api.tag 2.15.0; production would run 9.9.9: only images staging "
                                 "ran and soaked ship"]


def test_the_same_tag_built_again_is_not_what_staging_soaked(repo, keys):
    # A tag is a name anyone with push rights can move; the digest is what staging ran. The
    # attestation records the tag with its digest, and production must run that digest.
    soaked = "2.15.0@sha256:" + "a" * 64
    rebuilt = "2.15.0@sha256:" + "b" * 64
    (repo / "Pulumi.staging.yaml").write_text(f"config:\n  leadgen:workloads.api.tag: {soaked}\n")
    head = commit_all(repo, "staging runs 2.15.0 by digest")
    sign(repo, head, at=NOW - dt.timedelta(hours=2), key=keys["pipeline"])
    assert f'"leadgen:workloads.api.tag": "{soaked}"' in (repo / "attestations" / f"{head}.yaml").read_text()
    top = git(repo, "rev-parse", "HEAD")

    def promoted(tag):
        ctx = dataclasses.replace(ctx_for(repo), config=config.from_mapping({"leadgen:workloads.api.tag": tag}))
        return promotion.findings(ctx, env={})
    assert promoted(soaked) == []
    assert promoted(rebuilt) == [f"commit {top[:12]} is not promotable: attestations/{head}.yaml: staging ran "
                                 f"leadgen:workloads.api.tag {soaked}; production would run {rebuilt}: only images "
                                 "staging ran and soaked ship"]
