"""Governance through the command line a pipeline runs: `platformctl preview --stack production`
exits 2 naming change-request-required without a change request; a legitimate change (a signed
approval in its window, a healthy error budget from a real Prometheus, a committed program that
staging attested) passes the preview and the update; the same change edited after its approval
is blocked."""
import datetime as dt
import json
import os
import re
import subprocess

import pytest
import yaml

from platformctl.attestation import attest
from platformctl.pack import signing
from tests.helpers import running_prometheus
from tests.foundation.test_render_and_cli import PY, platformctl, repo_copy  # noqa: F401 (fixture)
from tests.policies.signed import Keyring

# What a legitimate production change may still show: the budget warning, and the Redis token the app
# contract passes as an environment variable (kubernetes-container-secrets-as-files, advisory).
ADVISORIES = {"cost-budget-warning", "kubernetes-container-secrets-as-files"}

@pytest.fixture(scope="module")
def healthy_prometheus(tmp_path_factory):
    """Debian's Prometheus, backfilled by promtool; every SLO's budget is above 50 % (lowest 81.5)."""
    with running_prometheus(tmp_path_factory.mktemp("prom"), 81.5) as url:
        yield url


def test_production_without_a_change_request_exits_2_naming_the_policy():
    proc = platformctl("preview", "--stack", "production")
    assert proc.returncode == 2, proc.stderr
    assert "change-request-required" in proc.stdout
    assert "FAIL: " in proc.stdout and "mandatory violation" in proc.stdout


def test_make_preview_is_a_look_and_exits_0():
    proc = platformctl("preview", "--stack", "production", "--look")
    assert proc.returncode == 0 and "change-request-required" in proc.stdout


UPDATE = """
import json, sys
from platformctl.commands.preview import evaluate_policies
from platformctl.program.engine import run_stack
report = evaluate_policies(run_stack("production", preview=False))
print(json.dumps([{"policy": v.policy, "level": v.level, "message": v.message} for v in report.violations]))
sys.exit(report.exit_code())
"""


def git(root, *argv, when=None):
    """git in `root`; `when` dates a commit (the promotion gate measures the soak by commit times)."""
    env = dict(os.environ)
    if when is not None:
        env["GIT_COMMITTER_DATE"] = env["GIT_AUTHOR_DATE"] = when.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    return subprocess.run(["git", "-C", str(root), "-c", "user.email=ci@example.com", "-c", "user.name=ci", *argv],
                          check=True, capture_output=True, text=True, env=env).stdout.strip()


def slo_store(root, url):
    """The SLO store production's gate reads: the CAB's setting in governance/gates.yaml (a stack file
    that names one is refused)."""
    gates = yaml.safe_load((root / "governance" / "gates.yaml").read_text())
    gates["stacks"]["production"]["prometheus_url"] = url
    (root / "governance" / "gates.yaml").write_text(yaml.safe_dump(gates))


def legitimate_production_change(root, keys):
    """The copy made into what a legitimate production change looks like: a change request in its
    window, approved by a team lead whose signature verifies against the approver directory, the
    program committed, and a signed staging attestation of that commit older than the soak time."""
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    stamp = lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    keyring = Keyring(keys)
    pipeline = keys / "pipeline"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pipeline", "-f", str(pipeline)], check=True)
    directory = yaml.safe_load((root / "governance" / "approvers.yaml").read_text())
    rules = directory["promotion"]  # the repository's own promotion rules, unchanged
    (root / "governance" / "approvers.yaml").write_text(yaml.safe_dump({"approvers": keyring.roles,
                                                                        "promotion": rules}))
    (root / "governance" / "allowed_signers").write_text(
        keyring.signers_text() + f'{rules["signer"]} namespaces="{signing.ATTESTATION_NAMESPACE}" '
        f'{pipeline.with_suffix(".pub").read_text().strip()}\n')
    cr = yaml.safe_load((root / "changes" / "CR-2026-014.yaml").read_text())
    cr["window"] = {"start": stamp(now - dt.timedelta(minutes=30)), "duration": "2h"}
    cr["approvals"] = []
    keyring.write(root, cr, requester=False)  # the requester signs below, with the documented command
    soaked = now - dt.timedelta(minutes=rules["soak_minutes"] + 30)
    # The release staging soaked: production ships exactly the image tags (and digests) staging ran
    # (promotion.py), so staging runs production's.
    staging = root / "Pulumi.staging.yaml"
    production = yaml.safe_load((root / "Pulumi.production.yaml").read_text())["config"]
    kept = [line for line in staging.read_text().splitlines() if not re.match(r"\s+leadgen:[\w.-]+\.tag:", line)]
    staging.write_text("\n".join(kept + [f"  {k}: {v}" for k, v in production.items() if k.endswith(".tag")]) + "\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "reset", "-q", "changes")
    # The approver directory is on main before the request is written (key_history.py).
    git(root, "commit", "-q", "-m", "the program and its approvers", when=soaked - dt.timedelta(minutes=40))
    git(root, "add", "changes")
    git(root, "commit", "-q", "-m", "the request", when=soaked - dt.timedelta(minutes=30))
    head = git(root, "rev-parse", "HEAD")
    # The requester signs first: who asked is the key that signed, not the text of requested_by.
    signed = platformctl("change", "approve", "CR-2026-014", "--role", "requester", "--by", cr["requested_by"],
                         "--key", str(keyring.keys[cr["requested_by"]]), "--at", stamp(now - dt.timedelta(hours=2)),
                         cwd=root)
    assert signed.returncode == 0, signed.stderr
    # The team lead approves through the documented command: it signs the request, this commit and
    # production's resolved config.
    approved = platformctl("change", "approve", "CR-2026-014", "--role", "team-lead", "--by", "team-lead@example.com",
                           "--key", str(keyring.keys["team-lead@example.com"]), "--at",
                           stamp(now - dt.timedelta(hours=1)), cwd=root)
    assert approved.returncode == 0, approved.stderr
    attest(root, stack=rules["from_stack"], commit=head, smoke_tests=rules["smoke_tests"], key=pipeline, at=soaked)
    git(root, "add", "attestations", "changes")
    # Not program: the attestation and the approval still cover it; committed right after staging signed.
    git(root, "commit", "-q", "-m", "staging's attestation", when=soaked + dt.timedelta(minutes=1))
    return git(root, "rev-parse", "HEAD")


def test_approved_in_window_change_with_healthy_budget_exits_0(repo_copy, healthy_prometheus, tmp_path):
    f = repo_copy / "Pulumi.production.yaml"
    f.write_text(f.read_text() + "  leadgen:changeRequest: CR-2026-014\n")
    slo_store(repo_copy, healthy_prometheus)
    keys = tmp_path / "keys"
    keys.mkdir()
    head = legitimate_production_change(repo_copy, keys)
    # The real clock, no override: what CI's checkout of that commit would run.
    env = {"GITHUB_SHA": head, "LEADGEN_GOVERNANCE_NOW": ""}
    proc = platformctl("preview", "--stack", "production", "--json", cwd=repo_copy, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    policy = json.loads(proc.stdout)["policy"]
    assert [v for v in policy["violations"] if v["level"] == "mandatory"] == []
    assert {v["policy"] for v in policy["violations"]} <= ADVISORIES, policy["violations"]
    assert 0 < policy["estimatedMonthlyCostUsd"] < 25000
    # The update (PULUMI_DRY_RUN=false): every gate mandatory, the promotion gate included.
    update = subprocess.run([PY, "-c", UPDATE], cwd=repo_copy, capture_output=True, text=True, timeout=300,
                            env={**os.environ, **env})
    assert update.returncode == 0, update.stdout[-3000:] + update.stderr
    assert {v["policy"] for v in json.loads(update.stdout)} <= ADVISORIES, update.stdout


def test_the_same_change_without_its_signature_is_blocked_at_update(repo_copy, healthy_prometheus, tmp_path):
    f = repo_copy / "Pulumi.production.yaml"
    f.write_text(f.read_text() + "  leadgen:changeRequest: CR-2026-014\n")
    slo_store(repo_copy, healthy_prometheus)
    keys = tmp_path / "keys"
    keys.mkdir()
    legitimate_production_change(repo_copy, keys)
    cr = repo_copy / "changes" / "CR-2026-014.yaml"
    cr.write_text(cr.read_text().replace("Increase API replicas from 3 to 5", "Increase API replicas from 3 to 50"))
    update = subprocess.run([PY, "-c", UPDATE], cwd=repo_copy, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "GITHUB_SHA": "", "LEADGEN_GOVERNANCE_NOW": ""})
    assert update.returncode == 2, update.stdout[-3000:] + update.stderr
    found = json.loads(update.stdout)
    assert any(v["policy"] == "change-request-required" and v["level"] == "mandatory"
               and "does not count" in v["message"] for v in found), found
