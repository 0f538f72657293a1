"""The pack as a Pulumi Cloud policy group runs it: published, installed where the CLI puts a
published pack (no repository above it: no changes/, governance/, attestations/ or git), it gives
the same verdicts as in the repository, from the governance data published with it
(governance/published.json) and the change evidence the `up` workflow puts in its environment
(`platformctl change evidence`). Once it answered "file not found" and "not a git checkout".

Each case builds a small repository the documented way (change new, approve, attest, commits with
real times) and runs the repository's pack and the published copy, both started as the CLI starts
a pack, on the same update."""
import datetime as dt
import json
import shutil
import subprocess

import pytest
import yaml

from platformctl.attestation import attest
from platformctl.policy_client import PolicyClient
from platformctl.project import pack_config
from policy_baseline import PROJECT, baseline
from tests.prometheus_stub import answering
from test_change_command import REPO, fill, key, run

from governance import signing, source

UTC = dt.timezone.utc
CR = "CR-2026-401"
PIPELINE = "pipeline@example.com"
SMOKE = ["api-health"]
STAGING = "config:\n  aws:region: us-east-2\n  leadgen:workloads.api.tag: 2.14.0\n"
PRODUCTION = "config:\n  aws:region: us-east-1\n  leadgen:workloads.api.tag: 2.14.0\n"


@pytest.fixture(scope="module")
def prometheus():
    with answering("77", slo_name="api_availability") as url:
        yield url


@pytest.fixture(scope="module")
def pipeline_key(tmp_path_factory):
    path = tmp_path_factory.mktemp("pipeline") / "pipeline"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pipeline", "-f", str(path)], check=True)
    return path


def git(root, *argv, when=None):
    env = None
    if when is not None:
        import os
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S+00:00")
        env = {**os.environ, "GIT_COMMITTER_DATE": stamp, "GIT_AUTHOR_DATE": stamp}
    return subprocess.run(["git", "-C", str(root), "-c", "user.email=t@example.com", "-c", "user.name=t", *argv],
                          check=True, capture_output=True, text=True, env=env).stdout.strip()


def build(root, keyring, pipeline_key, prometheus, *, production=PRODUCTION, soaked_minutes=90,
          signers_before=None, attested_at=None, requester_signs=True, requested_by="requester@example.com"):
    """A legitimate production change, made with the documented commands: the program and its
    approvers on main, then the request, its requester's signature and a team lead's approval of that
    commit and production's config, and staging's signed attestation of it committed right after staging applied it."""
    now = dt.datetime.now(UTC).replace(microsecond=0)
    soaked = now - dt.timedelta(minutes=soaked_minutes)
    shutil.copytree(REPO / "policies", root / "policies", ignore=shutil.ignore_patterns("__pycache__", "venv"))
    governance = root / "governance"
    governance.mkdir()
    (governance / "approvers.yaml").write_text(yaml.safe_dump({
        "approvers": keyring.roles,
        "promotion": {"signer": PIPELINE, "from_stack": "staging", "soak_minutes": 60, "smoke_tests": SMOKE}}))
    pipeline_line = (f'{PIPELINE} namespaces="{signing.ATTESTATION_NAMESPACE}" '
                     f'{pipeline_key.with_suffix(".pub").read_text().strip()}\n')
    signers = governance / "allowed_signers"
    signers.write_text((signers_before or keyring.signers_text()) + pipeline_line)
    (governance / "gates.yaml").write_text(f"stacks:\n  production:\n    prometheus_url: '{prometheus}'\n")
    (root / "Pulumi.production.yaml").write_text(production)
    (root / "Pulumi.staging.yaml").write_text(STAGING)
    git(root, "init", "-q")
    (root / ".git" / "info" / "exclude").write_text("policies/\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the program and its approvers", when=soaked - dt.timedelta(minutes=40))
    assert run(root, "new", CR, "--title", "API scaling", "--requested-by", requested_by)[0] == 0
    fill(root / "changes" / f"{CR}.yaml", now - dt.timedelta(minutes=30))
    if signers_before is not None:
        signers.write_text(keyring.signers_text() + pipeline_line)  # the request's commit adds a key
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the request", when=soaked - dt.timedelta(minutes=30))
    head = git(root, "rev-parse", "HEAD")
    if requester_signs:
        signed = run(root, "approve", CR, "--role", "requester", "--by", requested_by,
                     "--key", key(keyring, requested_by))
        assert signed[0] == 0, signed
    approved = run(root, "approve", CR, "--role", "team-lead", "--by", "team-lead@example.com",
                   "--key", key(keyring, "team-lead@example.com"))
    assert approved[0] == 0, approved
    attest(root, stack="staging", commit=head, smoke_tests=SMOKE, key=pipeline_key,
           at=soaked if attested_at is None else attested_at(soaked))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the approval and staging's attestation", when=soaked + dt.timedelta(minutes=1))
    return root


def published_copy(root, tmp_path):
    """The pack where `pulumi policy enable` installs it, its governance data published from `root`."""
    pack = tmp_path / "store" / "acme" / "leadgen-governance" / "0.2.0"
    shutil.copytree(root / "policies", pack, ignore=shutil.ignore_patterns("__pycache__", "venv"))
    (pack / "governance" / source.PUBLISHED).write_text(source.publish(root))
    assert source.in_repository(pack) is None and not (pack.parent / "governance").exists()
    return pack


def evidence(root, stack="production", change=CR):
    code, out, err = run(root, "evidence", change, "--stack", stack)
    assert code == 0, err
    return out.strip()


def verdicts(pack, config, env, *, dry_run=False, levels=None):
    with PolicyClient(pack, project=PROJECT, stack="production", config=config, dry_run=dry_run,
                      env={"LEADGEN_GOVERNANCE_NOW": "", **env}, levels=levels) as client:
        return sorted((v.policy, v.level, v.message) for v in client.analyze(baseline()))


def both(root, tmp_path, monkeypatch, *, config=None, dry_run=False, levels=None):
    """(the repository's verdict, the published pack's) on the update of production under CR."""
    head = git(root, "rev-parse", "HEAD")
    monkeypatch.setenv("GITHUB_SHA", head)
    config = {**pack_config("production", root), "leadgen:changeRequest": CR, **(config or {})}
    in_repo = verdicts(root / "policies", config, {"GITHUB_SHA": head}, dry_run=dry_run, levels=levels)
    published = verdicts(published_copy(root, tmp_path), config,
                         {"GITHUB_SHA": head, source.EVIDENCE_ENV: evidence(root)}, dry_run=dry_run, levels=levels)
    return in_repo, published


def mandatory(found):
    return [(policy, message) for policy, level, message in found if level == "mandatory"]


def test_a_legitimate_change_passes_in_the_repository_and_published(tmp_path, keyring, pipeline_key, prometheus,
                                                                    monkeypatch):
    root = build(tmp_path / "repo", keyring, pipeline_key, prometheus)
    for dry_run in (False, True):
        in_repo, published = both(root, tmp_path / f"p{dry_run}", monkeypatch, dry_run=dry_run)
        assert mandatory(in_repo) == [], in_repo
        assert published == in_repo


def test_a_program_commit_after_the_approval_is_refused_alike(tmp_path, keyring, pipeline_key, prometheus,
                                                              monkeypatch):
    root = build(tmp_path / "repo", keyring, pipeline_key, prometheus)
    (root / "__main__.py").write_text("print('not what was approved')\n")
    git(root, "add", "__main__.py")
    git(root, "commit", "-q", "-m", "slipped in after the signature")
    in_repo, published = both(root, tmp_path, monkeypatch)
    assert {p for p, _ in mandatory(in_repo)} == {"approval-binding", "promotion-gate"}, in_repo
    assert published == in_repo


def test_an_unsoaked_release_is_refused_alike(tmp_path, keyring, pipeline_key, prometheus, monkeypatch):
    root = build(tmp_path / "repo", keyring, pipeline_key, prometheus, soaked_minutes=20)
    in_repo, published = both(root, tmp_path, monkeypatch)
    assert [p for p, _ in mandatory(in_repo)] == ["promotion-gate"], in_repo
    assert "the soak time of 60 minutes ends at" in mandatory(in_repo)[0][1]
    assert published == in_repo


def test_an_image_staging_never_ran_is_refused_alike(tmp_path, keyring, pipeline_key, prometheus, monkeypatch):
    root = build(tmp_path / "repo", keyring, pipeline_key, prometheus,
                 production=PRODUCTION.replace("2.14.0", "9.9.9-unsoaked"))
    in_repo, published = both(root, tmp_path, monkeypatch)
    assert [p for p, _ in mandatory(in_repo)] == ["promotion-gate"], in_repo
    assert ("staging ran leadgen:workloads.api.tag 2.14.0; production would run 9.9.9-unsoaked"
            in mandatory(in_repo)[0][1])
    assert published == in_repo


@pytest.mark.parametrize("line, key, setting", [
    # A higher budget switched the cost gate off; a Prometheus of one's own turned a freeze into a pass.
    ("leadgen:governance.monthlyBudgetUsd: 999999", "monthlyBudgetUsd", "monthly_budget_usd"),
    ("leadgen:governance.prometheusUrl: https://fake-prometheus.example:9090", "prometheusUrl", "prometheus_url"),
])
def test_a_gate_setting_in_the_stack_file_is_refused_alike(tmp_path, keyring, pipeline_key, prometheus, monkeypatch,
                                                           line, key, setting):
    # Committed before the approval, so the approval covers it: the setting itself is what is refused.
    root = build(tmp_path / "repo", keyring, pipeline_key, prometheus, production=PRODUCTION + f"  {line}\n")
    in_repo, published = both(root, tmp_path, monkeypatch)
    assert mandatory(in_repo) == [
        ("governance-gate-settings", f"leadgen:governance.{key} is set in Pulumi.production.yaml; production is "
         f"protected, so its gate settings live in governance/gates.yaml (stacks.production.{setting}), never in "
         "the stack's config: remove the key")], in_repo
    assert published == in_repo


def test_the_recovery_stack_calling_itself_staging_is_still_gated_alike(tmp_path, keyring, pipeline_key, prometheus):
    """`leadgen:environment: staging` in Pulumi.production-dr.yaml once unprotected the recovery stack."""
    root = build(tmp_path / "repo", keyring, pipeline_key, prometheus)
    (root / "Pulumi.production-dr.yaml").write_text("config:\n  aws:region: us-west-2\n  leadgen:environment: staging\n")
    config = pack_config("production-dr", root)
    found = []
    for pack, env in ((root / "policies", {}), (published_copy(root, tmp_path), {})):
        with PolicyClient(pack, project=PROJECT, stack="production-dr", config=config, dry_run=False,
                          env={"LEADGEN_GOVERNANCE_NOW": "", **env}) as client:
            found.append(sorted((v.policy, v.level, v.message) for v in client.analyze(baseline())))
    for verdict in found:  # the published pack, given no request, has no evidence either: it says so too
        assert ("change-request-required", "leadgen:changeRequest is not set: name the change request "
                "(changes/<ID>.yaml) this update carries") in mandatory(verdict), verdict


def test_a_config_switched_after_the_approval_is_refused_alike(tmp_path, keyring, pipeline_key, prometheus,
                                                               monkeypatch):
    root = build(tmp_path / "repo", keyring, pipeline_key, prometheus)
    in_repo, published = both(root, tmp_path, monkeypatch, config={"leadgen:workloads.api.tag": "9.9.9"})
    assert {p for p, _ in mandatory(in_repo)} == {"approval-binding", "promotion-gate"}, in_repo
    assert published == in_repo


def test_a_request_edited_after_its_approval_is_refused_alike(tmp_path, keyring, pipeline_key, prometheus,
                                                              monkeypatch):
    root = build(tmp_path / "repo", keyring, pipeline_key, prometheus)
    path = root / "changes" / f"{CR}.yaml"
    path.write_text(path.read_text().replace("Raise the API's minimum replicas to 5",
                                             "Raise the API's minimum replicas to 50"))
    in_repo, published = both(root, tmp_path, monkeypatch)
    assert any(p == "change-request-required" and "does not count" in m for p, m in mandatory(in_repo)), in_repo
    assert published == in_repo


def test_a_key_added_with_the_request_is_refused_alike(tmp_path, keyring, pipeline_key, prometheus, monkeypatch):
    others = [a for a in keyring.people if a != "team-lead@example.com"]
    root = build(tmp_path / "repo", keyring, pipeline_key, prometheus, signers_before=keyring.signers_text(others))
    in_repo, published = both(root, tmp_path, monkeypatch)
    assert [p for p, _ in mandatory(in_repo)] == ["approval-binding"], in_repo
    assert mandatory(in_repo)[0][1].endswith("a key must be on main before the request it approves")
    assert published == in_repo


def test_a_published_pack_without_evidence_refuses_with_one_line(tmp_path, keyring, pipeline_key, prometheus,
                                                                 monkeypatch):
    root = build(tmp_path / "repo", keyring, pipeline_key, prometheus)
    pack = published_copy(root, tmp_path)
    config = {**pack_config("production", root), "leadgen:changeRequest": CR}
    head = git(root, "rev-parse", "HEAD")
    without = mandatory(verdicts(pack, config, {"GITHUB_SHA": head}))
    assert ("change-request-required", f"{source.EVIDENCE_ENV} is not set: a published pack reads the change "
            "request, its approvals and staging's attestation from it (the up workflow runs platformctl change "
            f"evidence --stack production {CR})") in without, without
    # Evidence for another request (or stack) is not this update's.
    monkeypatch.setenv("GITHUB_SHA", head)
    other = json.loads(evidence(root))
    other["request_file"] = "changes/CR-2026-999.yaml"
    found = mandatory(verdicts(pack, config, {"GITHUB_SHA": head, source.EVIDENCE_ENV: json.dumps(other)}))
    assert ("change-request-required", f"{source.EVIDENCE_ENV} carries changes/CR-2026-999.yaml for stack "
            f"production; this update of production names changes/{CR}.yaml") in found, found
    # Evidence whose approvals were rewritten does not verify: the keys are the published ones.
    forged = json.loads(evidence(root))
    forged["request_text"] = forged["request_text"].replace("minimum replicas to 5", "minimum replicas to 50")
    found = mandatory(verdicts(pack, config, {"GITHUB_SHA": head, source.EVIDENCE_ENV: json.dumps(forged)}))
    assert any(p == "change-request-required" and "does not count" in m for p, m in found), found


def test_the_up_workflows_config_set_of_the_request_leaves_the_checkout_promotable(tmp_path, keyring, pipeline_key,
                                                                                   prometheus, monkeypatch):
    """`pulumi config set leadgen:changeRequest` in the up workflow edits the stack file after the
    checkout: naming the request is not a program change (the approvals' digest leaves it out)."""
    root = build(tmp_path / "repo", keyring, pipeline_key, prometheus)
    stack_file = root / "Pulumi.production.yaml"
    stack_file.write_text(stack_file.read_text() + f"  leadgen:changeRequest: {CR}\n")
    in_repo, published = both(root, tmp_path, monkeypatch)
    assert mandatory(in_repo) == [], in_repo
    assert published == in_repo
    # Anything else in the stack file is still a change to what runs.
    stack_file.write_text(stack_file.read_text().replace("2.14.0", "2.14.1"))
    in_repo, _ = both(root, tmp_path / "again", monkeypatch)
    assert any("the checkout differs from commit" in m and "Pulumi.production.yaml" in m for _, m in mandatory(in_repo))


def unsigned_by(requester):
    return (f"changes/{CR}.yaml: requested_by {requester} has not signed the request, so who asked is not "
            f"established; the requester signs it first (platformctl change approve {CR} --role requester --by "
            f"{requester} --key <your ssh key>)")


def test_a_request_its_requester_never_signed_is_refused_alike_and_forecast(tmp_path, keyring, pipeline_key,
                                                                            prometheus, monkeypatch):
    root = build(tmp_path / "repo", keyring, pipeline_key, prometheus, requester_signs=False)
    in_repo, published = both(root, tmp_path, monkeypatch)
    assert mandatory(in_repo) == [("change-request-required", unsigned_by("requester@example.com"))], in_repo
    assert published == in_repo
    in_repo, published = both(root, tmp_path / "preview", monkeypatch, dry_run=True)
    assert mandatory(in_repo) == [], in_repo
    assert ("update-forecast", "advisory", f"{unsigned_by('requester@example.com')}; the update will be blocked until "
            "the requester signs") in in_repo
    assert published == in_repo


def test_a_team_lead_naming_someone_else_as_requester_is_refused_alike(tmp_path, keyring, pipeline_key, prometheus,
                                                                       monkeypatch):
    """The team lead writes dev's address in requested_by and approves their own change: without dev's
    key nobody has signed as requester, so the approval gets the change nowhere."""
    root = build(tmp_path / "repo", keyring, pipeline_key, prometheus, requester_signs=False,
                 requested_by="dev@example.com")
    in_repo, published = both(root, tmp_path, monkeypatch)
    assert mandatory(in_repo) == [("change-request-required", unsigned_by("dev@example.com"))], in_repo
    assert published == in_repo


def test_published_json_is_generated_from_governance():
    """make governance-publish: the published pack carries exactly the repository's governance/."""
    assert source.published_path(REPO / "policies").read_text() == source.publish(REPO), \
        "policies/governance/published.json differs from governance/: run make governance-publish"


def test_change_evidence_refuses_bad_input_with_one_line(tmp_path, keyring):
    keyring.install(tmp_path)
    code, out, err = run(tmp_path, "evidence", "CR-2026-999", "--stack", "production")
    assert (code, out, err) == (1, "", "platformctl change evidence: changes/CR-2026-999.yaml: file not found\n")
    code, out, err = run(tmp_path, "evidence", "../../etc/passwd", "--stack", "production")
    assert (code, out) == (1, "") and err == ("platformctl change evidence: '../../etc/passwd' is not a change "
                                              "request ID like CR-2026-014\n")
