"""Workloads as data: a workload declared only in a stack file gets every piece, wherever the
platform lists workloads (the program, the rules and alerts, the dashboards, the rendered
manifests, `platformctl dr check`, `platformctl cost`); removing any one derivation in
leadgen/workloads.py is caught; and each workload's pods reach what they use and nothing more."""
from __future__ import annotations

import json
import shutil

import pytest

from leadgen import workloads as derived
from leadgen.config import ConfigError, load
from platformctl import costs, dr as dr_check
from platformctl.cli import main as platformctl
from platformctl.program import engine
from platformctl import project
from platformctl.program.engine import run_program
from platformctl.project import ROOT, stack_config

NEW = "scoring"
# What an engineer adds to Pulumi.production.yaml, and nothing else.
STACK_LINES = f"  leadgen:workloads.{NEW}.tag: 1.0.0\n  leadgen:workloads.{NEW}.port: 8000\n"


@pytest.fixture
def declared_in_stack_file(tmp_path, monkeypatch):
    """Pulumi.production.yaml with the new workload's two lines, read as every command reads it."""
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    text = (ROOT / "Pulumi.production.yaml").read_text()
    (tmp_path / "Pulumi.production.yaml").write_text(text.replace("config:\n", "config:\n" + STACK_LINES, 1))
    real = project.stack_config

    def reading_the_edited_file(stack, root=ROOT, **kwargs):
        return real(stack, tmp_path if stack == "production" else root, **kwargs)

    monkeypatch.setattr(project, "stack_config", reading_the_edited_file)
    monkeypatch.setattr(engine, "stack_config", reading_the_edited_file)
    return reading_the_edited_file


def _by(run, kind, name, namespace=None):
    from platformctl.render import is_k8s_object, manifest

    return [m for m in (manifest(r) for r in run.resources if is_k8s_object(r))
            if m["kind"] == kind and m["metadata"]["name"] == name
            and (namespace is None or m["metadata"].get("namespace") == namespace)]


def _rules(run, name):
    rule = _by(run, "PrometheusRule", name, "monitoring")
    return [r for g in rule[0]["spec"]["groups"] for r in g["rules"]] if rule else []


def program_pieces(run, name: str) -> dict[str, bool]:
    """Which pieces the program declares for workload `name` (leadgen/workloads.py PIECES)."""
    deployment = _by(run, "Deployment", name, "production")
    service = _by(run, "Service", name, "production")
    account = _by(run, "ServiceAccount", name, "production")
    policy = _by(run, "NetworkPolicy", f"workload-{name}", "production")
    monitor = _by(run, "ServiceMonitor", f"workload-{name}", "monitoring")
    roles = [r for r in run.by_type("aws:iam/role:Role")
             if f"system:serviceaccount:production:{name}\"" in str(r["inputs"].get("assumeRolePolicy"))]
    repos = [r for r in run.by_type("aws:ecr/repository:Repository") if r["inputs"].get("name") == f"leadgen-production/{name}"]
    slo_groups = {g["name"] for g in (_by(run, "PrometheusRule", "leadgen-slos", "monitoring") or [{"spec": {"groups": []}}])[0]["spec"]["groups"]}
    absent = [r for r in _rules(run, "leadgen-platform-alerts")
              if r.get("alert") == "MetricsSourceDown" and r["labels"].get("scrape_job") == name]
    board = _by(run, "ConfigMap", "dashboard-workloads", "monitoring")
    titles = [p["title"] for p in json.loads(board[0]["data"]["workloads.json"])["panels"]] if board else []
    image = str(deployment[0]["spec"]["template"]["spec"]["containers"][0]["image"]) if deployment else ""
    return {
        "deployment": bool(deployment),
        "service": bool(service) and {p["name"] for p in service[0]["spec"]["ports"]} == {"http", "metrics"},
        "autoscaler": bool(_by(run, "HorizontalPodAutoscaler", name, "production")),
        "disruption_budget": bool(_by(run, "PodDisruptionBudget", name, "production")),
        "service_account": bool(account) and "eks.amazonaws.com/role-arn" in account[0]["metadata"].get("annotations", {})
        and bool(deployment) and deployment[0]["spec"]["template"]["spec"]["serviceAccountName"] == name,
        "iam_role": bool(roles),
        "network_policy": bool(policy) and policy[0]["spec"]["podSelector"] == {"matchLabels": {"app": name}},
        "service_monitor": bool(monitor) and monitor[0]["spec"]["selector"]["matchLabels"]["app"] == name,
        "image_repository": bool(repos) and image.rsplit(":", 1)[0].endswith(f"leadgen-production/{name}"),
        "slos": {f"slo-{name}-availability", f"slo-{name}-latency"} <= slo_groups,
        "absent_alert": bool(absent),
        "dashboard": any(t.startswith(f"{name}: ") for t in titles),
    }


def dr_piece(run_dr, primary_cfg, name: str) -> bool:
    """The DR capacity check accounts for the workload (here: the recovery site lacks it, so it fails naming it)."""
    cfg = load("leadgen", run_dr.stack, run_dr.config)
    check = dr_check.capacity(run_dr, cfg, primary_cfg)
    return f"workload {name} " in check.detail


def cost_piece(run, workloads, name: str) -> bool:
    view = costs.allocate_to_workloads(costs.cost_view(run.resources, dict(run.config)), run.resources, workloads)
    return any(i.component == name and i.monthly_usd > 0 for i in view.items)


@pytest.fixture(scope="module")
def recovery_run():
    return run_program("production-dr", preview=False)


# --- (a) declared only in the stack file, it gets every piece ----------------------------------

def test_a_workload_declared_only_in_the_stack_file_gets_every_piece(declared_in_stack_file, recovery_run):
    cfg = load("leadgen", "production", declared_in_stack_file("production"))
    w = cfg.workloads[NEW]
    # Only tag and port were given: the rest is the defaults.
    assert (w.tag, w.port, w.metrics_port, w.min_replicas, w.max_replicas) == ("1.0.0", 8000, 9464, 3, 10)
    run = run_program("production", preview=False)
    pieces = {**program_pieces(run, NEW), "dr_capacity": dr_piece(recovery_run, cfg, NEW),
              "cost": cost_piece(run, cfg.workloads, NEW)}
    assert set(pieces) == set(derived.PIECES)
    assert [p for p, ok in pieces.items() if not ok] == []
    # The absent-data alerts of its SLOs read its own series.
    missing = [r for r in _rules(run, "leadgen-slos") if r.get("alert") == "SLOSignalMissing"
               and r["labels"]["service"] == NEW]
    assert {r["labels"]["slo_name"] for r in missing} == {f"{NEW}-availability", f"{NEW}-latency"}


def test_the_commands_list_the_new_workload(declared_in_stack_file, tmp_path, capsys):
    out = tmp_path / "rendered"
    assert platformctl(["render", "--stack", "production", "--out", str(out)]) == 0
    rendered = {p.name for p in (out / "manifests").iterdir()}
    for kind in ("deployment", "service", "horizontalpodautoscaler", "poddisruptionbudget", "serviceaccount"):
        assert any(n.lower().startswith(f"{kind}-production-{NEW}.") for n in rendered), (kind, sorted(rendered)[:5])
    capsys.readouterr()
    assert platformctl(["cost", "--stack", "production"]) == 0
    assert f"\n{NEW} " in capsys.readouterr().out
    # The recovery site does not run it yet: the drill says so, naming it.
    assert platformctl(["dr", "check", "--stack", "production-dr"]) == 2
    assert f"workload {NEW} max 0 < production's 10" in capsys.readouterr().out


# --- (b) removing any derivation is caught -----------------------------------------------------

@pytest.mark.parametrize("piece", derived.PIECES)
def test_removing_any_derivation_is_caught(piece, declared_in_stack_file, recovery_run, monkeypatch):
    """Each derivation dropped for the new workload alone: the completeness check above misses it."""
    derive = derived.DERIVATIONS[piece]
    monkeypatch.setitem(derived.DERIVATIONS, piece,
                        lambda w, *args, **kwargs: None if w.name == NEW else derive(w, *args, **kwargs))
    cfg = load("leadgen", "production", declared_in_stack_file("production"))
    if piece == "dr_capacity":
        assert not dr_piece(recovery_run, cfg, NEW)
        return
    if piece == "image_repository":
        # Without its repository there is no image to run: the program says so instead of guessing.
        with pytest.raises(ValueError, match=f"workload {NEW} has no image repository"):
            run_program("production", preview=False)
        return
    run = run_program("production", preview=False)
    if piece == "cost":
        assert not cost_piece(run, cfg.workloads, NEW)
        return
    assert not program_pieces(run, NEW)[piece]


# --- (c) what each workload's pods may reach -----------------------------------------------------

def _env(run, name):
    container = _by(run, "Deployment", name, "production")[0]["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def _policy(run, name):
    return json.loads(next(r["inputs"]["policy"] for r in run.by_type("aws:iam/rolePolicy:RolePolicy")
                           if r["name"] == f"leadgen-production-{name}-irsa-policy"))


@pytest.fixture(scope="module")
def wired():
    """api uses postgres and redis (Pulumi.production.yaml); `models` only one bucket."""
    config = stack_config("production")
    config.update({"leadgen:workloads.models.tag": "1.0.0", "leadgen:workloads.models.port": "8000",
                   "leadgen:workloads.models.uses": '["s3:leadgen-models"]'})
    return run_program("production", preview=False, config=config)


def test_each_workload_gets_the_endpoints_and_credentials_it_uses_and_no_others(wired):
    api, models = _env(wired, "api"), _env(wired, "models")
    for env in (api, models):
        # The SDK's protocol matches the collector port it is pointed at.
        port = int(env["OTEL_EXPORTER_OTLP_ENDPOINT"].rsplit(":", 1)[1])
        assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == derived.OTLP_PROTOCOLS[port] == "grpc"
    assert {"PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "REDIS_HOST", "REDIS_PORT"} <= set(api)
    assert api["PGUSER"] == "api" and api["DB_IAM_AUTH"] == "true"
    assert api["REDIS_AUTH_TOKEN"] == {"secretKeyRef": {"name": "api-redis", "key": "token"}}
    assert not any(k.startswith("S3_BUCKET_") for k in api)
    assert models["S3_BUCKET_LEADGEN_MODELS"] == "leadgen-models"
    assert not any(k.startswith(("PG", "REDIS")) for k in models)
    # The Redis token comes from the cache's own Secrets Manager entry, through api's own store.
    es = _by(wired, "ExternalSecret", "api-redis", "production")[0]["spec"]
    assert es["secretStoreRef"] == {"name": "api-aws", "kind": "SecretStore"}
    assert es["data"][0]["remoteRef"]["key"] == "leadgen-production-redis/auth-token"
    store = _by(wired, "SecretStore", "api-aws", "production")[0]["spec"]
    assert store["provider"]["aws"]["auth"]["jwt"]["serviceAccountRef"]["name"] == "api"
    assert not _by(wired, "SecretStore", "models-aws", "production")


def test_each_role_grants_only_what_its_workload_uses(wired):
    api = {s["Sid"]: s for s in _policy(wired, "api")["Statement"]}
    assert set(api) == {"ConnectAsItsDatabaseUser", "ReadRedisAuthToken", "DecryptRedisAuthToken"}
    assert api["ConnectAsItsDatabaseUser"]["Action"] == "rds-db:connect"
    assert api["ConnectAsItsDatabaseUser"]["Resource"].startswith("arn:aws:rds-db:us-east-1:")
    assert api["ConnectAsItsDatabaseUser"]["Resource"].endswith("/api") and ":dbuser:" in api["ConnectAsItsDatabaseUser"]["Resource"]
    redis_secret = next(r["outputs"]["arn"] for r in wired.by_type("aws:secretsmanager/secret:Secret")
                        if r["inputs"].get("name") == "leadgen-production-redis/auth-token")
    assert api["ReadRedisAuthToken"]["Resource"] == redis_secret
    models = {s["Sid"]: s for s in _policy(wired, "models")["Statement"]}
    assert set(models) == {"ItsBucketsObjects", "ListItsBuckets", "ItsBucketsKeysThroughS3"}
    assert models["ItsBucketsObjects"]["Resource"] == ["arn:aws:s3:::leadgen-models/*"]
    assert models["ItsBucketsKeysThroughS3"]["Condition"]["StringEquals"]["kms:ViaService"] == "s3.us-east-1.amazonaws.com"


def test_each_workload_may_open_connections_only_to_what_it_uses(wired):
    def egress(name):
        spec = _by(wired, "NetworkPolicy", f"workload-{name}", "production")[0]["spec"]
        return {(int(p["port"]), json.dumps(rule["to"], sort_keys=True)) for rule in spec["egress"] for p in rule["ports"]}

    api, models = egress("api"), egress("models")
    assert {port for port, _ in api} == {4317, 5432, 6379, 443}
    assert {port for port, _ in models} == {4317, 443}
    # The database and Redis ports go to the data subnets only, never anywhere.
    for port, to in api:
        if port in (5432, 6379):
            assert "0.0.0.0/0" not in to and "10.0.0.0/19" in to
    # Nothing namespace-wide opens the data stores, the collector or the AWS APIs to every pod.
    for m in (m for m in _all(wired, "NetworkPolicy") if m["metadata"]["namespace"] == "production"):
        spec = m["spec"]
        if spec.get("egress") and m["metadata"]["name"] not in ("allow-dns", "allow-same-namespace"):
            assert spec["podSelector"].get("matchLabels"), m["metadata"]["name"]
    # Prometheus reaches the metrics port only, never the app's own port.
    ingress = _by(wired, "NetworkPolicy", "workload-api", "production")[0]["spec"]["ingress"]
    assert [int(p["port"]) for rule in ingress for p in rule["ports"]] == [9464]


def _all(run, kind):
    from platformctl.render import is_k8s_object, manifest

    return [m for m in (manifest(r) for r in run.resources if is_k8s_object(r)) if m["kind"] == kind]


# --- config: both spellings, one clear line per bad key -----------------------------------------

def test_flat_keys_and_path_objects_declare_the_same_workload():
    base = stack_config("production")
    flat = {**base, "leadgen:workloads.scoring.tag": "1.0.0", "leadgen:workloads.scoring.port": "8000",
            "leadgen:workloads.scoring.slo.availability": "99.5"}
    nested = {**base, "leadgen:workloads": json.dumps({"scoring": {"tag": "1.0.0", "port": 8000,
                                                                     "slo": {"availability": 99.5}}})}
    a = load("leadgen", "production", flat).workloads["scoring"]
    b = load("leadgen", "production", nested).workloads["scoring"]
    assert a == b and str(a.availability_objective) == "99.5"


@pytest.mark.parametrize("extra, line", [
    ({"leadgen:workloads.scoring.tag": "1.0.0"},
     "leadgen:workloads.scoring.port is required but not set in Pulumi.production.yaml"),
    ({"leadgen:workloads.scoring.tag": "1.0.0", "leadgen:workloads.scoring.port": "8000",
      "leadgen:workloads.scoring.uses": '["mysql"]'},
     "leadgen:workloads.scoring.uses[0] ('mysql') must be one of: postgres, redis, s3:<bucket> in Pulumi.production.yaml"),
    ({"leadgen:workloads.scoring.tag": "1.0.0", "leadgen:workloads.scoring.port": "9464"},
     "leadgen:workloads.scoring.metricsPort (9464) must differ from workloads.scoring.port: the public route "
     "serves the Service port, and /metrics must not be public in Pulumi.production.yaml"),
    ({"leadgen:workloads.scoring.tag": "1.0.0", "leadgen:workloads.scoring.port": "8000",
      "leadgen:workloads.scoring.replicas": "3"},
     "leadgen:workloads.scoring.replicas is not a workload field (known: "),
    ({"leadgen:workloads.Scoring.tag": "1.0.0", "leadgen:workloads.Scoring.port": "8000"},
     "leadgen:workloads.Scoring is not a valid workload name"),
    ({"leadgen:workloads.api.tag": None, "leadgen:workloads.api.port": None, "leadgen:workloads.api.uses": None},
     "leadgen:workloads.api.tag is required: the public route and its canary serve workload 'api'"),
    ({"leadgen:observability.slos": json.dumps([{"name": "api-latency", "service": "api", "objective": 99,
                                                 "sli": "latency", "threshold": 1}])},
     "leadgen:observability.slos[0].name ('api-latency') is a workload's own SLO"),
])
def test_a_bad_workload_key_is_one_line_naming_it(extra, line):
    config = stack_config("production")
    for key, value in extra.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    with pytest.raises(ConfigError) as err:
        load("leadgen", "production", config)
    assert str(err.value).startswith(line) and "\n" not in str(err.value)
