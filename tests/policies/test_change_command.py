"""The approval flow end to end: `platformctl change new|digest|approve|verify` write and sign a
request, and the pack - in-process and started as the CLI starts it - lets the update through
only when every rule holds."""
import datetime as dt
import io
import pathlib
import shutil
import subprocess
import contextlib

import pytest
import yaml

from platformctl import cli
from platformctl.commands import change as command
from platformctl.policy_client import PolicyClient
from policy_baseline import PROJECT, baseline
from tests.prometheus_stub import answering

from governance import approvers, changes, config, signing

UTC = dt.timezone.utc
REPO = pathlib.Path(__file__).resolve().parents[2]


def run(root, *argv):
    """One `platformctl change ...` against the project at `root`: (exit code, stdout, stderr)."""
    args = cli.build_parser("change").parse_args(["change", *argv])
    out, err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8"), io.StringIO()  # digest writes bytes
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = args.action_func(args, root=root)
        except command.InputError as exc:
            print(f"platformctl change {args.action}: {exc}", file=err)
            code = 1
    out.flush()
    return code, out.buffer.getvalue().decode("utf-8"), err.getvalue()


def fill(path: pathlib.Path, start: dt.datetime, duration="2h", risk="low") -> None:
    text = path.read_text()
    text = text.replace("What changes, in one or two sentences", "Raise the API's minimum replicas to 5")
    text = text.replace("Who or what notices, and for how long", "Nobody, as pods are added one at a time")
    text = text.replace("Replace this line with the first command or action that undoes the change",
                        "pulumi config set --path workloads.api.minReplicas 3 && pulumi up")
    text = text.replace("risk_level: low", f"risk_level: {risk}")
    text = text.replace("duration: 1h", f"duration: {duration}")
    start_line = next(line for line in text.splitlines() if line.startswith("window:"))
    text = text.replace(start_line, f'window: {{start: "{start:%Y-%m-%dT%H:%M:%SZ}", duration: {duration}}}')
    path.write_text(text)


def init_repo(root: pathlib.Path) -> str:
    """A git checkout holding production's stack file: what an approval binds is a commit and the
    stack's resolved config (binding.py), so the tests approve inside one."""
    import subprocess

    (root / "Pulumi.production.yaml").write_text("config:\n  aws:region: us-east-1\n")
    git = ["git", "-C", str(root), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "the program"], check=True)
    return subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture()
def project(tmp_path, keyring):
    keyring.install(tmp_path)
    init_repo(tmp_path)
    return tmp_path


def key(keyring, who):
    return str(keyring.keys[who])


def test_the_approval_flow_in_five_commands(project, keyring):
    start = (dt.datetime.now(UTC) - dt.timedelta(minutes=30)).replace(microsecond=0)
    assert run(project, "new", "CR-2026-101", "--title", "API scaling", "--requested-by",
               "requester@example.com", "--risk-level", "high")[0] == 0
    path = project / "changes" / "CR-2026-101.yaml"
    fill(path, start, risk="high")
    code, digest, _ = run(project, "digest", "CR-2026-101", "--by", "engineering-manager@example.com",
                          "--role", "engineering-manager", "--at", "2026-11-20T10:00:00Z")
    head = subprocess.run(["git", "-C", str(project), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert code == 0 and digest.startswith("leadgen change approval v1\n{") and \
        digest.endswith("by=engineering-manager@example.com\nrole=engineering-manager\nat=2026-11-20T10:00:00Z\n"
                        f"commit={head}\nconfig.production={config.config_digest({'aws:region': 'us-east-1'})}\n")
    code, out, _ = run(project, "approve", "CR-2026-101", "--role", "engineering-manager", "--by",
                       "engineering-manager@example.com", "--key", key(keyring, "engineering-manager@example.com"))
    assert code == 0 and "verified against governance/allowed_signers" in out
    code, out, _ = run(project, "verify", "CR-2026-101")
    assert code == 2 and "risk_level high needs a cab approval" in out
    assert run(project, "approve", "CR-2026-101", "--role", "cab", "--by", "cab-chair@example.com",
               "--key", key(keyring, "cab-chair@example.com"))[0] == 0
    code, out, _ = run(project, "verify", "CR-2026-101")
    assert (code, out.splitlines()[-1]) == (0, "CR-2026-101: ready")
    # The file kept its comments and reads back with both signatures.
    assert path.read_text().startswith("# CR-2026-101: fill in every field")
    loaded = changes.load(project, "changes", "CR-2026-101")
    assert [a.role for a in loaded.change.approvals] == ["engineering-manager", "cab"]
    assert approvers.check(loaded.change, approvers.load(project)) == ("", "")


def test_approve_refuses_the_requester_a_future_date_and_a_missing_key(project, keyring):
    run(project, "new", "CR-2026-102", "--title", "t", "--requested-by", "requester@example.com")
    fill(project / "changes" / "CR-2026-102.yaml", dt.datetime(2026, 12, 15, 2, tzinfo=UTC))
    assert run(project, "approve", "CR-2026-102", "--role", "team-lead", "--by", "requester@example.com",
               "--key", key(keyring, "requester@example.com"))[2] == (
        "platformctl change approve: requester@example.com requested CR-2026-102; the requester approves nothing\n")
    assert "is in the future" in run(project, "approve", "CR-2026-102", "--role", "team-lead", "--by",
                                     "team-lead@example.com", "--key", key(keyring, "team-lead@example.com"),
                                     "--at", "2030-01-01T00:00:00Z")[2]
    assert run(project, "approve", "CR-2026-102", "--role", "team-lead", "--by", "team-lead@example.com",
               "--key", "/nonexistent/key")[2] == "platformctl change approve: --key /nonexistent/key: no such key file\n"
    assert run(project, "new", "CR-2026-102", "--title", "t", "--requested-by", "requester@example.com")[2] == (
        "platformctl change new: changes/CR-2026-102.yaml already exists; a change request is never overwritten\n")


def test_verify_names_an_edit_made_after_approval(project, keyring):
    run(project, "new", "CR-2026-103", "--title", "t", "--requested-by", "requester@example.com")
    path = project / "changes" / "CR-2026-103.yaml"
    fill(path, dt.datetime.now(UTC).replace(microsecond=0))
    run(project, "approve", "CR-2026-103", "--role", "team-lead", "--by", "team-lead@example.com",
        "--key", key(keyring, "team-lead@example.com"))
    path.write_text(path.read_text().replace("risk_level: low", "risk_level: medium"))
    code, out, _ = run(project, "verify", "CR-2026-103")
    assert code == 2 and "NO approvals[0] team-lead by team-lead@example.com" in out
    assert "signature does not verify for team-lead@example.com" in out


# --- the pack as the CLI starts it, over a copy of the project -----------------------------------
@pytest.fixture()
def project_with_pack(project):
    shutil.copytree(REPO / "policies", project / "policies",
                    ignore=shutil.ignore_patterns("__pycache__", "venv", ".venv"))
    return project


@pytest.fixture()
def healthy_prometheus():
    with answering("77", slo_name="api_availability", service="api-service") as url:
        yield url


def update(root, *, dry_run, change_id="CR-2026-104", env=None, prometheus="", extra=None):
    cfg = {"aws:region": "us-east-1", "leadgen:changeRequest": change_id, **(extra or {})}
    # production's SLO store is the CAB's setting (governance/gates.yaml), not its stack config's.
    (root / "governance" / "gates.yaml").write_text(f"stacks:\n  production:\n    prometheus_url: '{prometheus}'\n")
    with PolicyClient(root / "policies", project=PROJECT, stack="production", config=cfg, dry_run=dry_run,
                      env=env or {}) as client:
        return [(v.policy, v.level, v.message) for v in client.analyze(baseline())]


def test_a_signed_in_window_change_passes_preview_and_update_as_the_cli_runs_the_pack(project_with_pack, keyring):
    root = project_with_pack
    start = (dt.datetime.now(UTC) - dt.timedelta(minutes=20)).replace(microsecond=0)
    run(root, "new", "CR-2026-104", "--title", "Roll back the scoring release", "--requested-by",
        "requester@example.com", "--change-type", "emergency")
    fill(root / "changes" / "CR-2026-104.yaml", start)
    assert run(root, "approve", "CR-2026-104", "--role", "cto", "--by", "cto@example.com",
               "--key", key(keyring, "cto@example.com"))[0] == 0
    for dry_run in (True, False):
        got = update(root, dry_run=dry_run)
        assert [g for g in got if g[1] == "mandatory"] == []
        assert [p for p, _, _ in got] == ["governance-emergency-change"]


def test_a_signed_normal_change_with_a_healthy_budget_passes_preview_and_update(project_with_pack, keyring,
                                                                               healthy_prometheus):
    root = project_with_pack
    start = (dt.datetime.now(UTC) - dt.timedelta(minutes=5)).replace(microsecond=0)
    run(root, "new", "CR-2026-104", "--title", "API scaling", "--requested-by", "requester@example.com")
    fill(root / "changes" / "CR-2026-104.yaml", start)
    run(root, "approve", "CR-2026-104", "--role", "team-lead", "--by", "team-lead@example.com",
        "--key", key(keyring, "team-lead@example.com"))
    for dry_run in (True, False):
        assert update(root, dry_run=dry_run, prometheus=healthy_prometheus) == []


def test_a_bad_invocation_is_one_line_and_exit_1(project):
    code = cli.main(["change", "verify", "../../etc/passwd"])
    assert code == 1


def test_an_unsigned_change_previews_with_advisories_and_blocks_the_update(project_with_pack, keyring):
    root = project_with_pack
    start = (dt.datetime.now(UTC) + dt.timedelta(days=3)).replace(microsecond=0)
    run(root, "new", "CR-2026-104", "--title", "t", "--requested-by", "requester@example.com")
    fill(root / "changes" / "CR-2026-104.yaml", start)
    preview = update(root, dry_run=True)
    assert [g for g in preview if g[1] == "mandatory"] == []
    forecast = [m for p, _, m in preview if p == "update-forecast"]
    assert forecast[0] == (f"changes/CR-2026-104.yaml: approvals has no approval from anyone other than the requester "
                           "requester@example.com; the update will be blocked until it is given (platformctl change "
                           "approve)")
    assert f"the update is blocked until {start:%Y-%m-%dT%H:%M:%SZ}, when its window opens" in forecast[1]
    blocked = {p for p, level, _ in update(root, dry_run=False) if level == "mandatory"}
    assert blocked == {"change-request-required", "change-window", "error-budget-gate"}


def test_a_stale_emergency_is_blocked_by_the_update(project_with_pack, keyring):
    root = project_with_pack
    run(root, "new", "CR-2026-104", "--title", "t", "--requested-by", "requester@example.com",
        "--change-type", "emergency")
    fill(root / "changes" / "CR-2026-104.yaml", dt.datetime(2025, 11, 1, 2, tzinfo=UTC))
    run(root, "approve", "CR-2026-104", "--role", "cto", "--by", "cto@example.com", "--key",
        key(keyring, "cto@example.com"), "--at", "2025-11-01T01:00:00Z")
    got = update(root, dry_run=False)
    window = [m for p, level, m in got if p == "change-window" and level == "mandatory"]
    assert len(window) == 1 and "the emergency change expired" in window[0]
    # Without a fresh emergency, a broken Prometheus blocks too.
    assert any(p == "error-budget-gate" and level == "mandatory" for p, level, _ in got)


def test_show_answers_whether_a_request_declares_a_database_migration(project):
    """What the `up` workflow asks before `pulumi up`: `true` means a pgbackup backup runs first."""
    run(project, "new", "CR-2026-105", "--title", "Add the quotes index", "--requested-by", "requester@example.com")
    path = project / "changes" / "CR-2026-105.yaml"
    fill(path, dt.datetime(2026, 12, 15, 2, tzinfo=UTC))
    assert run(project, "show", "CR-2026-105", "--field", "database_migration") == (0, "false\n", "")
    path.write_text(path.read_text().replace("database_migration: false", "database_migration: true"))
    assert run(project, "show", "CR-2026-105", "--field", "database_migration") == (0, "true\n", "")
    code, out, _ = run(project, "show", "CR-2026-105")
    assert code == 0 and out.splitlines()[0] == "id: CR-2026-105"
    assert "window: 2026-12-15T02:00:00Z to 2026-12-15T04:00:00Z" in out.splitlines()
    # A request the pack would refuse answers nothing: the workflow step fails instead of guessing.
    path.write_text(path.read_text().replace("database_migration: true", "database_migration: yes"))
    assert run(project, "show", "CR-2026-105", "--field", "database_migration") == (
        1, "", "platformctl change show: changes/CR-2026-105.yaml: database_migration must be true or false, "
               "unquoted, got yes\n")


def test_show_escapes_control_characters_from_the_request(project):
    """A title with ESC and CR must not repaint the terminal nor forge a `risk_level: low` line."""
    run(project, "new", "CR-2026-106", "--title", "Rotate keys", "--requested-by", "requester@example.com")
    path = project / "changes" / "CR-2026-106.yaml"
    fill(path, dt.datetime(2026, 12, 15, 2, tzinfo=UTC))
    text = path.read_text()
    line = next(l for l in text.splitlines() if l.startswith("title:"))
    path.write_text(text.replace(line, 'title: "Rotate keys\\e[2J\\rrisk_level: low"'))
    code, out, _ = run(project, "show", "CR-2026-106")
    assert code == 0, out
    assert "\x1b" not in out and "\r" not in out
    assert "title: Rotate keys\\x1b[2J\\rrisk_level: low" in out.splitlines()
    assert [l for l in out.splitlines() if l.startswith("risk_level:")] == [
        next(l for l in out.splitlines() if l.startswith("risk_level:"))]
