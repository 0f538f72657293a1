"""Protection the stack cannot remove: which stacks are gated, where change requests come from,
and which clock an update is judged by. Each test is an attack that used to pass."""
import dataclasses
import datetime as dt
import os
import pathlib

import pytest
import yaml

from crs import F, good
from policy_baseline import context

from governance import clock, config, gates, pack_settings

UTC = dt.timezone.utc
GOOD = good(stacks=["production", "prod-eu"])


def ctx_for(root, stack="production", pack_stacks=None, **cfg):
    ctx = context(stack, changeRequest="CR-2026-014", **cfg)
    return dataclasses.replace(ctx, project_root=root, pack_stacks=pack_stacks)


def gated(ctx) -> bool:
    """Whether the gates judge this stack: with no change request they report it."""
    return list(gates.change_window([], ctx)) != []


@pytest.mark.parametrize("stacks", [[], ["dev"], '[]'])
def test_a_stack_config_cannot_unprotect_production(tmp_path, stacks):
    ctx = ctx_for(tmp_path, **{"governance.protectedStacks": stacks})
    assert ctx.protected and gated(ctx)


def test_a_stack_config_may_add_protection(tmp_path):
    assert not ctx_for(tmp_path, stack="qa").protected
    assert ctx_for(tmp_path, stack="qa", **{"governance.protectedStacks": ["qa"]}).protected


def test_a_production_environment_is_protected_under_any_name(tmp_path):
    ctx = dataclasses.replace(ctx_for(tmp_path, stack="prod-eu", **{"governance.protectedStacks": []}))
    assert not ctx.protected
    settings = config.from_mapping({"leadgen:changeRequest": "CR-2026-014", "leadgen:environment": "production",
                                    "leadgen:governance.protectedStacks": "[]"})
    ctx = dataclasses.replace(ctx, config=settings)
    assert ctx.protected and gated(ctx)


def test_the_pack_config_decides_and_the_default_protects_production(tmp_path):
    assert ctx_for(tmp_path, stack="prod-eu", pack_stacks=("production", "prod-eu")).protected
    # An organisation may replace the default list in its policy group, and a stack may empty its
    # own: production and production-dr stay protected by name (governance/gates.yaml's defaults).
    empty = {"governance.protectedStacks": []}
    assert ctx_for(tmp_path, stack="production", pack_stacks=("prod-eu",), **empty).protected
    assert ctx_for(tmp_path, stack="production-dr", pack_stacks=("prod-eu",), **empty).protected
    assert not ctx_for(tmp_path, stack="staging", pack_stacks=("prod-eu",), **empty).protected
    settings = config.from_mapping({"leadgen:environment": "production", "leadgen:governance.protectedStacks": []})
    assert dataclasses.replace(ctx_for(tmp_path, pack_stacks=("prod-eu",)), config=settings).protected


def test_pack_settings_unite_every_policy_config_and_refuse_junk():
    try:
        pack_settings.record({"change-request-required": {"protectedStacks": ["prod-eu"]},
                              "change-window": {"protectedStacks": ["production"]}, "other": {}})
        assert pack_settings.stacks() == ("prod-eu", "production") and pack_settings.problem() is None
        pack_settings.record({"change-request-required": {"protectedStacks": "prod-eu"}})
        assert pack_settings.stacks() == ("production",)
        assert pack_settings.problem() == ("policy config change-request-required.protectedStacks ('prod-eu') must be "
                                           "a list of stack names; using ['production']")
        assert list(gates.config_valid([], context()))[-1] == pack_settings.problem()
        pack_settings.record({})
        assert pack_settings.stacks() is None
    finally:
        pack_settings.record({})


# --- change requests come from the repository's changes/ only ---------------------------------
def planted(tmp_path: pathlib.Path) -> pathlib.Path:
    """An "approved" request outside the repository, with a secret-looking line in it."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "CR-2026-014.yaml").write_text(yaml.safe_dump(GOOD) + "# token: hunter2\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    return repo


@pytest.mark.parametrize("folder", ["/tmp", "../outside", "outside", "changes/../../outside"])
def test_a_stack_cannot_choose_another_changes_folder(tmp_path, folder):
    repo = planted(tmp_path)
    ctx = ctx_for(repo, **{"governance.changesDir": folder})
    assert list(gates.config_valid([], ctx)) == [
        f"leadgen:governance.changesDir ({folder!r}) must be changes: change requests are read only from the "
        "repository's changes/ folder"]
    assert list(gates.change_request_required([], ctx)) == [f"{F}: file not found"]


def test_a_symlinked_changes_folder_is_refused(tmp_path):
    repo = planted(tmp_path)
    os.symlink(tmp_path / "outside", repo / "changes")
    got = list(gates.change_request_required([], ctx_for(repo)))
    assert got == [f"{F}: changes/ is a symbolic link; changes/ must live in the repository"]


def test_a_symlinked_change_request_is_refused_and_never_read(tmp_path):
    repo = planted(tmp_path)
    (repo / "changes").mkdir()
    os.symlink(tmp_path / "outside" / "CR-2026-014.yaml", repo / "changes" / "CR-2026-014.yaml")
    got = list(gates.change_request_required([], ctx_for(repo)))
    assert got == [f"{F}: is a symbolic link; it must be a file in changes/"]
    assert "hunter2" not in repr(got)


def test_a_hard_linked_change_request_is_refused(tmp_path):
    repo = planted(tmp_path)
    (repo / "changes").mkdir()
    os.link(tmp_path / "outside" / "CR-2026-014.yaml", repo / "changes" / "CR-2026-014.yaml")
    assert list(gates.change_request_required([], ctx_for(repo))) == [
        f"{F}: has other hard links; it must be a file of its own"]


def test_a_folder_or_fifo_named_like_a_request_is_refused(tmp_path):
    repo = planted(tmp_path)
    (repo / "changes" / "CR-2026-014.yaml").mkdir(parents=True)
    assert list(gates.change_request_required([], ctx_for(repo))) == [f"{F}: is not a regular file"]


def test_an_oversized_change_request_is_refused_unread(tmp_path):
    (tmp_path / "changes").mkdir()
    (tmp_path / "changes" / "CR-2026-014.yaml").write_bytes(b"# pad\n" * 20_000)
    assert list(gates.change_request_required([], ctx_for(tmp_path))) == [
        f"{F}: is larger than 64 KiB; it is meant to be a short document"]


# --- the clock of an update ---------------------------------------------------------------------
def test_an_update_ignores_the_clock_variable():
    env = {"LEADGEN_GOVERNANCE_NOW": "2026-12-15T02:30:00Z"}
    before = dt.datetime.now(UTC)
    update = clock.read(env, honour_override=False)
    assert update.ignored and before <= update.now <= dt.datetime.now(UTC)
    ctx = dataclasses.replace(context(), clock=update)
    assert list(gates.clock_override([], ctx)) == [
        "LEADGEN_GOVERNANCE_NOW=2026-12-15T02:30:00Z is ignored: an update reads the real clock"]
    preview = clock.read(env, honour_override=True)
    assert preview.now == dt.datetime(2026, 12, 15, 2, 30, tzinfo=UTC) and not preview.ignored


def test_in_process_tests_move_time_through_the_module_clock(monkeypatch):
    fixed = dt.datetime(2030, 1, 1, tzinfo=UTC)
    monkeypatch.setattr(clock, "now", lambda: fixed)
    assert clock.read({}, honour_override=False).now == fixed


# --- the same, with the pack started as the CLI starts it ---------------------------------------
def test_the_pack_declares_its_setting_and_honours_the_policy_group_config():
    from google.protobuf import empty_pb2, json_format
    from pulumi.runtime.proto import analyzer_pb2

    from platformctl.policy_client import PolicyClient
    from policy_baseline import PROJECT, baseline

    pack = pathlib.Path(__file__).resolve().parents[2] / "policies"
    cfg = {"aws:region": "us-east-1", "leadgen:governance.protectedStacks": "[]"}
    with PolicyClient(pack, project=PROJECT, stack="prod-eu", config=cfg) as client:
        info = client._stub.GetAnalyzerInfo(empty_pb2.Empty())
        schema = {p.name: json_format.MessageToDict(p.configSchema.properties) for p in info.policies
                  if p.configSchema.properties}
        assert schema == {"change-request-required": pack_settings.SCHEMA}
        assert not [v for v in client.analyze(baseline()) if v.policy.startswith("change-")]
        # What the CLI sends once a policy group sets the pack's config (defaults merged in).
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for p in client.policies:
            request.policyConfig[p.name].enforcementLevel = analyzer_pb2.MANDATORY if p.level == "mandatory" \
                else analyzer_pb2.ADVISORY
        request.policyConfig["change-request-required"].properties.update({"protectedStacks": ["production", "prod-eu"]})
        client._stub.Configure(request)
        got = {(v.policy, v.level, v.message) for v in client.analyze(baseline())}
    assert ("change-request-required", "mandatory", "leadgen:changeRequest is not set: name the change request "
            "(changes/<ID>.yaml) this update carries") in got


def test_an_update_over_grpc_reads_the_real_clock():
    from platformctl.policy_client import PolicyClient
    from policy_baseline import PROJECT, baseline

    pack = pathlib.Path(__file__).resolve().parents[2] / "policies"
    cfg = {"aws:region": "us-east-1", "leadgen:changeRequest": "CR-2026-014"}
    env = {"LEADGEN_GOVERNANCE_NOW": "2026-12-15T02:30:00Z"}
    with PolicyClient(pack, project=PROJECT, stack="production", config=cfg, env=env, dry_run=False) as client:
        got = {(v.policy, v.message.split(" is outside")[0]) for v in client.analyze(baseline())}
    assert ("governance-clock-override",
            "LEADGEN_GOVERNANCE_NOW=2026-12-15T02:30:00Z is ignored: an update reads the real clock") in got
    window = [m for p, m in got if p == "change-window"]
    assert window and "2026-12-15T02:30:00Z" not in window[0]


def test_an_update_of_production_that_unprotects_itself_is_still_gated_over_grpc():
    from platformctl.policy_client import PolicyClient
    from policy_baseline import PROJECT, baseline

    pack = pathlib.Path(__file__).resolve().parents[2] / "policies"
    cfg = {"aws:region": "us-east-1", "leadgen:governance.protectedStacks": "[]",
           "leadgen:governance.changesDir": "/tmp", "leadgen:environment": "production"}
    for stack in ("production", "prod-shadow"):  # the same environment under another name too
        with PolicyClient(pack, project=PROJECT, stack=stack, config=cfg, dry_run=False) as client:
            got = {(v.policy, v.level) for v in client.analyze(baseline())}
        assert {("change-request-required", "mandatory"), ("change-window", "mandatory"),
                ("error-budget-gate", "mandatory"), ("governance-config-valid", "mandatory")} <= got


def test_a_policy_config_cannot_lower_the_gates_of_a_protected_stack():
    # `--policy-pack-config` setting the gates to disabled updated production with no change request,
    # window, attestation or budget check (0 mandatory findings). The pack's Configure hook restores
    # mandatory for every gate; the guardrails stay the policy group's to tune.
    import governance.catalog as catalog
    from platformctl.policy_client import PolicyClient
    from policy_baseline import PROJECT, baseline

    assert {"change-request-required", "change-window", "error-budget-gate", "promotion-gate",
            "governance-gate-settings", "cost-budget-gate"} <= catalog.LOCKED
    lowered = {name: "disabled" for name in catalog.LOCKED}
    lowered["aws-rds-not-publicly-accessible"] = "disabled"
    pack_dir = pathlib.Path(__file__).resolve().parents[2] / "policies"
    with PolicyClient(pack_dir, project=PROJECT, stack="production", dry_run=False, levels=lowered,
                      config={"aws:region": "us-east-1"}) as client:
        got = {(v.policy, v.level) for v in client.analyze(baseline())}
    assert {("change-request-required", "mandatory"), ("change-window", "mandatory")} <= got
    assert not any(policy == "aws-rds-not-publicly-accessible" for policy, _ in got)
