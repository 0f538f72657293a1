"""One declaration of the governance settings, read alike by the program and by the pack.

Each config is given as PULUMI_CONFIG carries it (strings; objects and lists as JSON text) and as
a parsed stack file (real lists and mappings), and in both spellings a stack file may use: flat
leaves, and the object `pulumi config set --path` writes. Under the real CLI the flat leaves are
always present too, holding Pulumi.yaml's defaults, so every object form here carries them.
"""
import dataclasses
import json
import pathlib

import pytest
import yaml

from governance import config as pack_config
from governance import gates
from leadgen.config import ConfigError, governance as program_governance, load, load_values
from platformctl.policy_client import PolicyClient
from policy_baseline import PROJECT, STACK, baseline, context
from tests.helpers import running_prometheus

ROOT = pathlib.Path(__file__).resolve().parents[2]
URL = "https://prometheus.monitoring.svc:9090"
# Pulumi.yaml's defaults for the governance leaves, as the CLI adds them to every stack's config.
DEFAULT_LEAVES = {k.full: k.default for k in program_governance.KEYS}
WANT = {"change_request": "CR-2026-014", "protected_stacks": ("production", "prod-eu"), "prometheus_url": URL,
        "monthly_budget_usd": 30000, "s3_storage_gb": 750, "changes_dir": "changes", "environment": "", "problems": ()}

OBJECT = {"prometheusUrl": URL, "protectedStacks": ["production", "prod-eu"], "monthlyBudgetUsd": 30000,
          "s3StorageGb": 750}
FORMS = {
    "flat leaves": {
        "leadgen:governance.prometheusUrl": URL, "leadgen:governance.protectedStacks": ["production", "prod-eu"],
        "leadgen:governance.monthlyBudgetUsd": 30000, "leadgen:governance.s3StorageGb": 750},
    "flat leaves, CLI strings": {
        "leadgen:governance.prometheusUrl": URL + "/", "leadgen:governance.protectedStacks": '["production", "prod-eu"]',
        "leadgen:governance.monthlyBudgetUsd": "30000", "leadgen:governance.s3StorageGb": "750"},
    "--path object": {**DEFAULT_LEAVES, "leadgen:governance": OBJECT},
    "--path object as PULUMI_CONFIG's JSON text": {**DEFAULT_LEAVES, "leadgen:governance": json.dumps(OBJECT)},
    # `pulumi config set --path governance.monthlyBudgetUsd 30000` stores text; lists nest a level down.
    "--path object of strings": {**DEFAULT_LEAVES, "leadgen:governance": json.dumps({
        "prometheusUrl": URL, "protectedStacks": ["production", "prod-eu"], "monthlyBudgetUsd": "30000",
        "s3StorageGb": "750"})},
    "--path object holding a JSON list": {**DEFAULT_LEAVES, "leadgen:governance": {
        **OBJECT, "protectedStacks": '["production", "prod-eu"]', "monthlyBudgetUsd": 30000.0}},
    "object and leaves mixed": {**DEFAULT_LEAVES, "leadgen:governance.s3StorageGb": "750",
                                "leadgen:governance.monthlyBudgetUsd": "30000",
                                "leadgen:governance": {"prometheusUrl": URL,
                                                       "protectedStacks": ["production", "prod-eu"]}},
}


def as_cli(config: dict) -> dict:
    """PULUMI_CONFIG's shape: every value a string, objects and lists as JSON text."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}


def program_reads(config: dict):
    """The program's reader: the governance section over the stack's validated values."""
    return program_governance.build(load_values(STACK, config))


# Decided by governance/gates.yaml (gate_settings.apply), or facts of the whole config the pack reads
# (its digest, its image tags), not settings the program's reader declares.
FROM_GATES_FILE = ("governed_stacks", "protected_environments", "gate_problems", "config_digest", "images",
                   "cost_warning_percent", "gate_settings_from")


def fields(settings) -> dict:
    return {k: v for k, v in dataclasses.asdict(settings).items() if k not in FROM_GATES_FILE} | {
        "protected_stacks": tuple(settings.protected_stacks)}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("shape", ["parsed stack file", "PULUMI_CONFIG"])
def test_every_form_gives_the_same_settings_to_program_and_pack(form, shape):
    config = {**FORMS[form], "leadgen:changeRequest": "CR-2026-014"}
    if shape == "PULUMI_CONFIG":
        config = as_cli(config)
    assert fields(program_reads(config)) == WANT
    assert fields(pack_config.from_mapping(config)) == WANT


def test_an_object_beats_the_flat_default_but_not_a_key_it_does_not_hold():
    config = as_cli({**DEFAULT_LEAVES, "leadgen:governance.monthlyBudgetUsd": 1000,
                     "leadgen:governance": {"prometheusUrl": URL}})
    for settings in (program_reads(config), pack_config.from_mapping(config)):
        assert (settings.prometheus_url, settings.monthly_budget_usd) == (URL, 1000)


def test_the_program_reads_the_object_form_through_its_one_loader():
    """The whole program config: the production stack file, the governance leaves at their
    Pulumi.yaml defaults, and the object."""
    raw = {**DEFAULT_LEAVES, **yaml.safe_load((ROOT / f"Pulumi.{STACK}.yaml").read_text())["config"]}
    raw["leadgen:governance"] = json.dumps({"prometheusUrl": URL})
    assert load(PROJECT, STACK, as_cli(raw)).governance.prometheus_url == URL


BAD = [
    {"leadgen:governance.monthlyBudgetUsd": "lots"},
    {"leadgen:governance": {"monthlyBudgetUsd": "lots"}},
    {"leadgen:governance": {"monthlyBudgetUsd": 0}},
    {"leadgen:governance": {"s3StorageGb": -1}},
    {"leadgen:governance": {"monthlyBudgetUsd": True}},
    {"leadgen:governance": {"protectedStacks": "production"}},
    {"leadgen:governance": {"protectedStacks": ["production", ""]}},
    {"leadgen:governance": {"prometheusUrl": "prometheus:9090"}},
    {"leadgen:governance": {"prometheusUrl": {"url": URL}}},
    # URLs every reader of the store refuses at query time are refused in config, in their words
    # and without the credentials.
    {"leadgen:governance": {"prometheusUrl": "https://reader:s3cret-pw@prometheus.example/api"}},
    {"leadgen:governance.prometheusUrl": "https://AKIDEXAMPLE:s3cret-pw@aps-workspaces.us-east-1.amazonaws.com/w"},
    {"leadgen:governance": {"prometheusUrl": "http://prometheus.monitoring.svc:9090"}},
    {"leadgen:governance": {"prometheusUrl": "https://prometheus.example/api?token=s3cret-pw"}},
    {"leadgen:governance": {"changesDir": "/tmp/planted"}},
    {"leadgen:governance": {"changesDir": "../elsewhere"}},
    {"leadgen:changeRequest": "change-14"},
    # An unknown key one level further down is named with its whole path, by both readers.
    {"leadgen:governance": {"prometheus": {"url": URL}}},
    {"leadgen:governance.prometheusURL": URL},
]


@pytest.mark.parametrize("bad", BAD, ids=[json.dumps(b) for b in BAD])
def test_a_bad_value_is_the_same_line_in_program_and_pack(bad):
    config = as_cli({**DEFAULT_LEAVES, **bad})
    with pytest.raises(ConfigError) as raised:
        program_reads(config)
    problems = pack_config.from_mapping(config).problems
    assert len(problems) == 1
    assert str(raised.value) == f"{problems[0]} in Pulumi.{STACK}.yaml"
    assert "s3cret-pw" not in str(raised.value)


def test_the_pack_keeps_going_on_bad_values_with_safe_settings():
    settings = pack_config.from_mapping(as_cli({**DEFAULT_LEAVES, "leadgen:governance": {
        "protectedStacks": [""], "monthlyBudgetUsd": -5, "prometheusUrl": "ftp://x"}}))
    # Protection and the budget fall back to their defaults; the URL is kept, so the error-budget
    # gate names it when it refuses it (and fails closed).
    assert settings.protected_stacks == ("production",) and settings.monthly_budget_usd == 25000
    assert settings.prometheus_url == "ftp://x" and len(settings.problems) == 3


# --- the error-budget gate configured by the object form, against a real Prometheus -------------
@pytest.fixture(scope="module")
def prometheus_12(tmp_path_factory):
    """A Prometheus whose lowest SLO has 12 % left: the mitigate band, engineering-manager approval."""
    with running_prometheus(tmp_path_factory.mktemp("prom12"), 12.0) as url:
        yield url


# changes/CR-2026-014.yaml carries a team-lead approval only (and unsigned here): not enough at 12 %.
MITIGATE = ('slo_error_budget_remaining{slo_name="api_availability"} of api-service is 12 % (mitigate): '
            "changes/CR-2026-014.yaml needs a engineering-manager approval")


def test_error_budget_gate_queries_the_url_given_as_an_object(prometheus_12):
    config = as_cli({**DEFAULT_LEAVES, "leadgen:changeRequest": "CR-2026-014",
                     "leadgen:governance": {"prometheusUrl": prometheus_12}})
    ctx = dataclasses.replace(context(), config=pack_config.from_mapping(config))
    assert list(gates.error_budget_gate([], ctx)) == [MITIGATE]


def test_the_pack_as_the_cli_starts_it_reads_the_object_form_and_refuses_it_on_a_protected_stack(prometheus_12):
    # The object form reaches the pack; on production it is a gate setting in the stack's own file,
    # which once pointed the gate at a Prometheus of the changer's choosing: refused, one line.
    config = {"aws:region": "us-east-1", **DEFAULT_LEAVES, "leadgen:changeRequest": "CR-2026-014",
              "leadgen:governance": {"prometheusUrl": prometheus_12}}
    with PolicyClient(ROOT / "policies", project=PROJECT, stack=STACK, config=config, dry_run=False) as client:
        got = [(v.policy, v.level, v.message) for v in client.analyze(baseline())]
    assert ("governance-gate-settings", "mandatory",
            "leadgen:governance.prometheusUrl is set in Pulumi.production.yaml; production is protected, so its gate "
            "settings live in governance/gates.yaml (stacks.production.prometheus_url), never in the stack's "
            "config: remove the key") in got
    assert ("error-budget-gate", "mandatory", MITIGATE) not in got
    assert [p for p, _, _ in got if p == "governance-config-valid"] == []


def test_a_refused_value_is_shown_as_typed_unless_it_is_a_url():
    # Only URLs lose their credentials and query in a problem line; other text keeps every character.
    problems = pack_config.from_mapping(as_cli({**DEFAULT_LEAVES, "leadgen:changeRequest": "CR?2026-014",
                                                "leadgen:governance.prometheusUrl": "https://p.example/?t=tok-1"})).problems
    assert problems == (
        "leadgen:changeRequest ('CR?2026-014') must look like CR-2026-014",
        "leadgen:governance.prometheusUrl ('https://p.example/?***') has a query or fragment (?... or #...): a store "
        "is named by its scheme, host and path, and nothing after them is sent")
