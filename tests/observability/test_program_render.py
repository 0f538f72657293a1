"""The whole program under mocks: what `platformctl render` writes passes promtool, amtool and the
PrometheusRule CRD schema; buckets are encrypted and roles scoped; bad SLO config registers nothing."""
from __future__ import annotations

import json

import pytest

from leadgen.config import ConfigError
from platformctl.render import render_all
import copy

import jsonschema

from tests.helpers import _crd_schemas, has_crd, manifests, run_program
from tests.observability.tools import run


@pytest.fixture(scope="module")
def program():
    return run_program("production")


@pytest.fixture(scope="module")
def rendered(program, tmp_path_factory):
    out = tmp_path_factory.mktemp("render")
    render_all(program, out)
    return out / "observability"


def test_prometheus_rules_fit_the_crd_schema(program):
    rules = [m for m in manifests(program) if m["kind"] == "PrometheusRule"]
    assert {m["metadata"]["name"] for m in rules} == {"leadgen-slos", "leadgen-platform-alerts"}
    for m in rules:
        assert has_crd(m["apiVersion"], m["kind"])
        # The CRD's `^(?i)(abort|warn)?$` puts a global flag mid-pattern, which Python's re
        # rejects (Go's accepts it), so tests.helpers.validate_custom_resource raises SchemaError;
        # the same pattern in Python's spelling keeps the rest of the schema intact.
        schema = json.loads(json.dumps(_crd_schemas()[(m["apiVersion"], m["kind"])])
                            .replace("^(?i)(abort|warn)?$", "^(?i:abort|warn)?$"))
        errors = list(jsonschema.Draft7Validator(schema).iter_errors(m))
        assert not errors, [e.message for e in errors]
        broken = copy.deepcopy(m)
        broken["spec"]["groups"][0]["rules"][0].pop("expr")
        assert list(jsonschema.Draft7Validator(schema).iter_errors(broken)), "schema must catch a rule without expr"


def test_rendered_rule_files_pass_promtool(rendered, program):
    files = sorted((rendered / "rules").glob("*.yaml"))
    # The cluster's two PrometheusRules and the long-term store's rule group namespace.
    assert [f.name for f in files] == ["leadgen-platform-alerts.yaml", "leadgen-slos.yaml", "slo-window.yaml"]
    result = run("promtool", "check", "rules", "--lint=all", "--lint-fatal", *map(str, files))
    assert result.returncode == 0, result.stdout + result.stderr
    text = (rendered / "rules" / "leadgen-slos.yaml").read_text()
    for series in ("slo:sli_error_events:rate5m", "slo:sli_events:rate5m", "slo_error_budget_burn_rate",
                   "SLOViolationCritical", "SLOViolationWarning", "SLOSignalMissing"):
        assert series in text
    # The window's series come from the long-term store, never from the cluster's 15 days.
    assert "slo_error_budget_remaining" not in text
    # The store's file is the rule group namespace's `data` as Amazon Managed Prometheus receives it.
    (namespace,) = program.by_type("aws:amp/ruleGroupNamespace:RuleGroupNamespace")
    assert (rendered / "rules" / "slo-window.yaml").read_text() == namespace["inputs"]["data"]
    assert "slo_error_budget_remaining" in namespace["inputs"]["data"]


def test_rendered_alertmanager_config_passes_amtool(rendered, tmp_path):
    """The configuration Alertmanager runs is what External Secrets renders from the
    ExternalSecret's template; rendered with a sample SMTP user, amtool accepts and routes it."""
    from leadgen.observability.alertmanager import CONFIG_KEY, SMTP_USER_VAR, render_template
    import yaml
    (es,) = [yaml.safe_load(p.read_text()) for p in (rendered.parent / "manifests").glob("externalsecret-*.yaml")
             if "alertmanager-config" in p.name]
    template = es["spec"]["target"]["template"]
    assert template["engineVersion"] == "v2"
    (user_ref,) = es["spec"]["data"]
    assert user_ref == {"secretKey": SMTP_USER_VAR, "remoteRef": {
        "key": "insurance-lead-gen/production/alertmanager-receivers", "property": "smtp-username"}}
    path = tmp_path / "alertmanager.yaml"
    path.write_text(render_template(template["data"][CONFIG_KEY], {SMTP_USER_VAR: "AKIAEXAMPLEUSER"}))
    assert yaml.safe_load(path.read_text())["global"]["smtp_auth_username"] == "AKIAEXAMPLEUSER"
    assert run("amtool", "check-config", str(path)).returncode == 0
    for severity, receiver in (("page", "pagerduty"), ("ticket", "ticket"), ("critical", "pagerduty")):
        result = run("amtool", "config", "routes", "test", f"--config.file={path}",
                     f"--verify.receivers={receiver}", f"severity={severity}")
        assert result.returncode == 0, result.stdout + result.stderr


def test_render_writes_the_alertmanager_config_external_secrets_makes(rendered):
    """`observability/alertmanager.yaml` is the ExternalSecret's template as External Secrets
    renders it, a placeholder for the SMTP user: the file amtool checks is the one Alertmanager runs."""
    from leadgen.observability.alertmanager import CONFIG_KEY, SMTP_USER_VAR, render_template
    import yaml
    path = rendered / "alertmanager.yaml"
    assert path.is_file(), sorted(p.name for p in rendered.iterdir())
    (es,) = [yaml.safe_load(p.read_text()) for p in (rendered.parent / "manifests").glob("externalsecret-*.yaml")
             if p.name == "externalsecret-monitoring-leadgen-alertmanager-config.yaml"]
    template = es["spec"]["target"]["template"]["data"][CONFIG_KEY]
    assert path.read_text() == render_template(template, {SMTP_USER_VAR: "<smtp-user>"})
    assert yaml.safe_load(path.read_text())["global"]["smtp_auth_username"] == "<smtp-user>"
    result = run("amtool", "check-config", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    result = run("amtool", "config", "routes", "test", f"--config.file={path}", "--verify.receivers=pagerduty",
                 "severity=page")
    assert result.returncode == 0, result.stdout + result.stderr


def test_rendered_dashboards_are_the_runbooks_four(rendered):
    boards = {p.stem: json.loads(p.read_text()) for p in (rendered / "dashboards").glob("*.json")}
    assert set(boards) == {"platform-overview", "api-performance", "database-metrics", "slo-tracking", "workloads"}
    rows = sorted({p["title"].split(":")[0] for p in boards["workloads"]["panels"]})
    assert rows == ["api", "backend"]


def test_releases_are_pinned_with_the_retentions(program):
    releases = {r["inputs"]["name"]: r["inputs"] for r in program.by_type("kubernetes:helm.sh/v3:Release")
                if r["inputs"].get("namespace") == "monitoring"}
    assert {"kube-prometheus-stack", "loki", "tempo", "otel-collector", "pushgateway",
            "postgres-exporter", "external-secrets"} <= set(releases)
    # Loki and Tempo from the repository the charts moved to.
    assert releases["loki"]["repositoryOpts"]["repo"] == releases["tempo"]["repositoryOpts"]["repo"] \
        == "https://grafana-community.github.io/helm-charts"
    for r in releases.values():
        assert r["version"] and r["repositoryOpts"]["repo"].startswith("https://")
    kps = releases["kube-prometheus-stack"]["values"]
    assert kps["prometheus"]["prometheusSpec"]["retention"] == "15d"
    assert kps["grafana"]["admin"]["existingSecret"] == "leadgen-grafana-admin"
    assert "adminPassword" not in kps["grafana"]
    assert releases["loki"]["values"]["loki"]["limits_config"]["retention_period"] == "720h"
    assert releases["pushgateway"]["values"]["serviceMonitor"]["honorLabels"] is True


def test_buckets_use_kms_and_roles_reach_only_their_bucket(program):
    sse = program.by_type("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    obs = [r for r in sse if "-obs-" in r["name"]]
    assert len(obs) == 2
    for r in obs:
        assert r["inputs"]["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    buckets = [r for r in program.by_type("aws:s3/bucket:Bucket") if "-obs-" in r["name"]]
    for b in buckets:
        assert {"environment", "owner", "cost-center"} <= set(b["inputs"]["tags"])


def test_bad_slo_config_registers_nothing():
    with pytest.raises(ConfigError) as err:
        run_program("production", overrides={"leadgen:observability.slos": [
            {"name": "api", "service": "api", "objective": 100, "sli": "availability"}]})
    assert str(err.value).startswith("leadgen:observability.slos[0].objective (100)")


# --- what the stack declares around the charts --------------------------------------------------
import pathlib

import yaml

from components.cluster_addons import STORAGE_CLASS
from leadgen import workloads as derived
from leadgen.config import load
from leadgen.observability.catalog import APPLICATION, SCRAPES, SOURCE_SERIES

MONITORING_RELEASES = "kubernetes:helm.sh/v3:Release"


def _releases(run) -> dict[str, dict]:
    return {r["inputs"]["name"]: r for r in run.by_type(MONITORING_RELEASES)
            if r["inputs"].get("namespace") == "monitoring"}


def _by_urn(run) -> dict[str, dict]:
    return {r["urn"]: r for r in run.resources}


def _depends_on(run, resource: dict, predicate) -> bool:
    """True when `resource` waits for something matching `predicate`, directly or through the
    children of a component it depends on (how the engine orders them)."""
    by_urn = _by_urn(run)
    children: dict[str, list[str]] = {}
    for r in run.resources:
        children.setdefault(r["parent"], []).append(r["urn"])
    todo, seen = list(resource["dependencies"]), set()
    while todo:
        urn = todo.pop()
        if urn in seen or urn not in by_urn:
            continue
        seen.add(urn)
        if predicate(by_urn[urn]):
            return True
        todo += children.get(urn, [])
    return False


def _is_manifest(kind: str, name: str):
    return lambda r: r["type"].endswith(f":{kind}") and (r["inputs"].get("metadata") or {}).get("name") == name


def _rendered_manifests(rendered_root: pathlib.Path) -> list[dict]:
    return [yaml.safe_load(p.read_text()) for p in sorted((rendered_root / "manifests").glob("*.yaml"))]


def test_workload_service_monitors_match_the_rendered_services(rendered):
    """From `platformctl render`'s files: each workload's ServiceMonitor selects exactly its
    Service, on a port that Service has, and labels every track with the service's `app`."""
    objects = _rendered_manifests(rendered.parent)
    services = [m for m in objects if m["kind"] == "Service" and m["metadata"]["namespace"] == "production"]
    deployments = {m["metadata"]["name"]: m for m in objects if m["kind"] == "Deployment"}
    monitors = {m["metadata"]["name"]: m for m in objects if m["kind"] == "ServiceMonitor"}
    for workload in ("api", "backend", "api-canary"):
        monitor = monitors[f"workload-{workload}"]["spec"]
        assert monitor["namespaceSelector"]["matchNames"] == ["production"]
        selected = [s for s in services
                    if monitor["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()]
        assert [s["metadata"]["name"] for s in selected] == [workload], workload
        (endpoint,) = monitor["endpoints"]
        assert endpoint["port"] in {p["name"] for p in selected[0]["spec"]["ports"]}
        # The Service's port leads to a container port of the same Deployment's pods.
        target = next(p["targetPort"] for p in selected[0]["spec"]["ports"] if p["name"] == endpoint["port"])
        containers = deployments[workload]["spec"]["template"]["spec"]["containers"]
        assert target in {p["name"] for c in containers for p in c["ports"]}
        relabel = {r["targetLabel"]: r["sourceLabels"] for r in endpoint["relabelings"]}
        assert relabel["service"] == ["__meta_kubernetes_service_label_app"]
        assert selected[0]["metadata"]["labels"]["app"] == "api" if workload != "backend" else "backend"


def test_service_monitors_fit_the_crd_schema(program):
    for m in manifests(program):
        if m["kind"] in ("ServiceMonitor", "PodMonitor"):
            schema = _crd_schemas()[(m["apiVersion"], m["kind"])]
            errors = list(jsonschema.Draft7Validator(schema).iter_errors(m))
            assert not errors, (m["metadata"]["name"], [e.message for e in errors])


def test_every_source_the_rules_read_is_scraped_by_something_declared(program):
    """The catalogue's sources each name the object that has them scraped; it must exist."""
    objects = {(m["kind"], m["metadata"]["name"]) for m in manifests(program)
               if m["metadata"].get("namespace") == "monitoring"}
    releases = _releases(program)
    workload_scrapes = [s for s in derived.all_scrapes(load("leadgen", "production", program.config).workloads).values()]
    assert [s.jobs for s in workload_scrapes] == [("api",), ("backend",)]
    for source in sorted(set(SOURCE_SERIES.values())):
        for scrape in workload_scrapes if source == APPLICATION else [SCRAPES[source]]:
            _assert_declared(scrape, source, objects, releases)
    assert ("ServiceMonitor", "cert-manager") in objects and ("ServiceMonitor", "envoy-gateway") in objects


def _assert_declared(scrape, source, objects, releases):
    """The object that has `scrape` collected is declared."""
    if scrape.kind == "Release":
        assert scrape.name in releases, source
        values = releases[scrape.name]["inputs"]["values"]
        if scrape.name != "kube-prometheus-stack":  # its own ServiceMonitors are on by default
            assert values["serviceMonitor"]["enabled"] is True, source
    else:
        assert (scrape.kind, scrape.name) in objects, source


def test_secrets_are_declared_encrypted_and_synced_on_the_v1_api(program):
    secrets = {r["inputs"]["name"]: r for r in program.by_type("aws:secretsmanager/secret:Secret")
               if "-obs-" in r["name"]}
    assert set(secrets) == {"insurance-lead-gen/production/grafana-admin",
                            "insurance-lead-gen/production/grafana-database",
                            "insurance-lead-gen/production/alertmanager-receivers",
                            "insurance-lead-gen/production/postgres-monitoring"}
    assert all(r["inputs"]["kmsKeyId"] for r in secrets.values())
    # Values are prerequisites set out of band: no version in the program, so none in state.
    versions = [r for r in program.by_type("aws:secretsmanager/secretVersion:SecretVersion")
                if r["inputs"].get("secretId") in {s["id"] for s in secrets.values()}]
    assert versions == []
    eso = [m for m in manifests(program) if m["apiVersion"].startswith("external-secrets.io")]
    assert eso and {m["apiVersion"] for m in eso} == {"external-secrets.io/v1"}
    remote = {d["remoteRef"]["key"] for m in eso if m["kind"] == "ExternalSecret"
              and m["metadata"]["namespace"] == "monitoring" for d in m["spec"]["data"]}
    assert remote == set(secrets)


def test_releases_wait_for_their_secrets_crds_nodes_and_storage(program):
    releases = _releases(program)
    kps = releases["kube-prometheus-stack"]
    for release, secret in (("kube-prometheus-stack", "leadgen-grafana-admin"),
                            ("kube-prometheus-stack", "leadgen-grafana-database"),
                            ("kube-prometheus-stack", "leadgen-alertmanager-receivers"),
                            ("kube-prometheus-stack", "leadgen-alertmanager-config"),
                            ("postgres-exporter", "leadgen-postgres-monitoring")):
        assert _depends_on(program, releases[release], _is_manifest("ExternalSecret", secret)), (release, secret)
    # ServiceMonitors need the monitoring.coreos.com CRDs that kube-prometheus-stack installs.
    for release in ("pushgateway", "postgres-exporter"):
        assert _depends_on(program, releases[release], lambda r: r["urn"] == kps["urn"]), release
    for m in program.resources:
        if m["type"].split(":")[-1] in ("ServiceMonitor", "PodMonitor", "PrometheusRule"):
            assert _depends_on(program, m, lambda r: r["urn"] == kps["urn"]), m["urn"]
    for name, release in releases.items():
        assert _depends_on(program, release, lambda r: r["type"] == "aws:eks/nodeGroup:NodeGroup"), name
        assert _depends_on(program, release, _is_manifest("StorageClass", STORAGE_CLASS)), name


def _claims(values, path="") -> list[tuple[str, dict]]:
    """Every volume-claim-like block in chart values: a PVC spec or a chart persistence block."""
    out = []
    if isinstance(values, dict):
        if "volumeClaimTemplate" in values:
            out.append((path, values["volumeClaimTemplate"]["spec"]))
        for key in ("persistence", "persistentVolume"):
            if isinstance(values.get(key), dict) and values[key].get("enabled"):
                out.append((f"{path}.{key}", values[key]))
        for k, v in values.items():
            out += _claims(v, f"{path}.{k}")
    return out


def test_every_volume_claim_names_the_storage_class(program):
    claims = [(name, where, spec) for name, r in _releases(program).items()
              for where, spec in _claims(r["inputs"]["values"])]
    assert {n for n, _, _ in claims} >= {"kube-prometheus-stack", "loki", "tempo", "pushgateway"}
    for name, where, spec in claims:
        assert spec.get("storageClassName", spec.get("storageClass")) == STORAGE_CLASS, (name, where)


def _resource_blocks(values, path=""):
    if isinstance(values, dict):
        if "replicas" in values or "replicaCount" in values or "allocatedMemory" in values:
            yield path, values
        for k, v in values.items():
            yield from _resource_blocks(v, f"{path}.{k}")


def test_every_component_has_requests_and_limits(program):
    for name, r in _releases(program).items():
        values = r["inputs"]["values"]
        blocks = [("", values)] if name in ("pushgateway", "postgres-exporter", "external-secrets", "otel-collector",
                                             "log-shipper") else []
        blocks += [(w, b) for w, b in _resource_blocks(values) if (b.get("replicas") or b.get("replicaCount") or b.get("allocatedMemory"))]
        assert blocks, name
        for where, block in blocks:
            res = block.get("resources") or block.get("prometheusSpec", {}).get("resources") \
                or block.get("alertmanagerSpec", {}).get("resources")
            assert res and res["requests"] and res["limits"], (name, where)


def test_production_is_highly_available(program):
    v = {n: r["inputs"]["values"] for n, r in _releases(program).items()}
    kps = v["kube-prometheus-stack"]
    assert kps["prometheus"]["prometheusSpec"]["replicas"] == 2
    assert kps["alertmanager"]["alertmanagerSpec"]["replicas"] == 2
    assert kps["alertmanager"]["alertmanagerSpec"]["storage"]["volumeClaimTemplate"]
    assert kps["grafana"]["replicas"] == 2 and v["otel-collector"]["replicaCount"] == 2
    # Two Grafanas share one database, or every other request lands on a replica without the session.
    assert kps["grafana"]["grafana.ini"]["database"]["type"] == "postgres"
    assert kps["grafana"]["envFromSecret"] == "leadgen-grafana-database"
    assert v["loki"]["singleBinary"]["replicas"] == 3 and v["loki"]["loki"]["commonConfig"]["replication_factor"] == 3
    assert v["tempo"]["ingester"]["replicas"] == 3 and v["tempo"]["ingester"]["persistence"]["enabled"] is True


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_loki_caches_fit_the_smaller_stacks_nodes(stack):
    run = run_program(stack)
    loki = _releases(run)["loki"]["inputs"]["values"]
    for cache in ("chunksCache", "resultsCache"):
        mb = loki[cache]["allocatedMemory"]
        # The chart's default 8192 MiB chunks cache fits no m6i.large (8 GiB) node; keep a quarter.
        assert mb <= 2048, (stack, cache, mb)
        assert loki[cache]["resources"]["limits"]["memory"] == f"{-(-int(mb) * 6 // 5)}Mi"


def test_long_term_store_keeps_a_year_and_prometheus_writes_with_sigv4(program):
    (workspace,) = program.by_type("aws:amp/workspace:Workspace")
    (retention,) = program.by_type("aws:amp/workspaceConfiguration:WorkspaceConfiguration")
    assert retention["inputs"]["retentionPeriodInDays"] >= 365
    (rules,) = program.by_type("aws:amp/ruleGroupNamespace:RuleGroupNamespace")
    assert "slo_error_budget_remaining" in rules["inputs"]["data"]
    # The store's budget tickets: its Alertmanager publishes to an encrypted topic that e-mails
    # the ticket addresses, and only this workspace may publish.
    (definition,) = program.by_type("aws:amp/alertManagerDefinition:AlertManagerDefinition")
    (topic,) = [t for t in program.by_type("aws:sns/topic:Topic") if "amp" in t["name"]]
    assert definition["inputs"]["workspaceId"] == workspace["id"]
    assert f"topic_arn: {topic['outputs']['arn']}" in definition["inputs"]["definition"]
    (key,) = [k for k in program.by_type("aws:kms/key:Key") if k["outputs"].get("arn") == topic["inputs"]["kmsMasterKeyId"]]
    assert "aps.amazonaws.com" in key["inputs"]["policy"]
    (topic_policy,) = [p for p in program.by_type("aws:sns/topicPolicy:TopicPolicy") if p["inputs"]["arn"] == topic["outputs"]["arn"]]
    (publish,) = json.loads(topic_policy["inputs"]["policy"])["Statement"]
    assert publish["Principal"] == {"Service": "aps.amazonaws.com"}
    assert publish["Condition"]["ArnEquals"]["aws:SourceArn"] == workspace["outputs"]["arn"]
    emails = [s["inputs"]["endpoint"] for s in program.by_type("aws:sns/topicSubscription:TopicSubscription")
              if s["inputs"]["topic"] == topic["outputs"]["arn"]]
    assert emails == ["sre-team@insurance-lead-gen.com"]
    spec = _releases(program)["kube-prometheus-stack"]["inputs"]["values"]["prometheus"]
    (remote,) = spec["prometheusSpec"]["remoteWrite"]
    assert remote["url"].startswith("https://aps-workspaces.us-east-1.amazonaws.com/workspaces/")
    assert remote["url"].endswith("/api/v1/remote_write") and remote["sigv4"] == {"region": "us-east-1"}
    role_arn = spec["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"]
    (role,) = [r for r in program.by_type("aws:iam/role:Role") if r["outputs"].get("arn") == role_arn]
    assert "system:serviceaccount:monitoring:prometheus" in role["inputs"]["assumeRolePolicy"]
    policy = next(p for p in program.by_type("aws:iam/rolePolicy:RolePolicy") if p["parent"] == role["parent"])
    statement = json.loads(policy["inputs"]["policy"])["Statement"]
    assert statement == [{"Sid": "Workspace", "Effect": "Allow", "Action": ["aps:RemoteWrite"],
                          "Resource": workspace["outputs"]["arn"]}]


def test_production_gate_queries_the_long_term_store(program):
    """The gate reads the workspace this stack declares (`amp:stack`: its id exists only after the
    first update), never the in-cluster Prometheus a CI runner cannot reach; CI attaches the
    exported policy to query it."""
    import yaml

    # The SLO store is the CAB's setting for a protected stack (governance/gates.yaml), not the stack file's.
    gates = yaml.safe_load((pathlib.Path(__file__).resolve().parents[2] / "governance" / "gates.yaml").read_text())
    assert gates["stacks"]["production"]["prometheus_url"] == "amp:stack"
    store = program.outputs["sloStore"]
    (workspace,) = program.by_type("aws:amp/workspace:Workspace")
    assert store["queryUrl"] == f"https://aps-workspaces.us-east-1.amazonaws.com/workspaces/{workspace['id']}"
    (policy,) = [p for p in program.by_type("aws:iam/policy:Policy") if p["outputs"]["arn"] == store["queryPolicyArn"]]
    actions = json.loads(policy["inputs"]["policy"])["Statement"][0]["Action"]
    assert "aps:QueryMetrics" in actions and "aps:RemoteWrite" not in actions


def test_workloads_export_traces_to_the_collector(program):
    by_name = {m["metadata"]["name"]: m for m in manifests(program) if m["kind"] == "Deployment"
               and m["metadata"].get("namespace") == "production"}
    for workload, service in (("api", "api"), ("backend", "backend"), ("api-canary", "api")):
        (container,) = by_name[workload]["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector-opentelemetry-collector.monitoring.svc:4317"
        # gRPC, said out loud: an SDK defaulting to http/protobuf would send HTTP to the gRPC port.
        assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "grpc"
        assert env["OTEL_SERVICE_NAME"] == service


def test_email_and_the_database_can_leave_the_monitoring_namespace(program):
    policies = {m["metadata"]["name"]: m["spec"] for m in manifests(program)
                if m["kind"] == "NetworkPolicy" and m["metadata"]["namespace"] == "monitoring"}
    smtp = policies["allow-alertmanager-smtp-egress"]
    assert smtp["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "alertmanager"}
    assert smtp["egress"][0]["ports"] == [{"protocol": "TCP", "port": 587}]
    for policy in ("allow-postgres-exporter-egress", "allow-grafana-database-egress"):
        assert policies[policy]["egress"][0]["ports"][0]["port"] == 5432
        assert policies[policy]["egress"][0]["to"] == [{"ipBlock": {"cidr": "10.0.0.0/16"}}]


def test_every_series_the_program_reads_is_scraped_or_recorded_where_it_is_read(program):
    """The stack's own rules and panels, as declared: the cluster's rules and local panels read
    scraped or locally recorded series; the store's rules and panels read what is remote-written
    to it or recorded there."""
    import re
    from leadgen.observability.catalog import grafana_to_promql, recorded_series, series_in
    from tests.observability.tools import relabel_keeps
    from leadgen.observability.dashboards import LONG_TERM_UID
    local_files = [m["spec"] for m in manifests(program) if m["kind"] == "PrometheusRule"]
    (namespace,) = program.by_type("aws:amp/ruleGroupNamespace:RuleGroupNamespace")
    store_file = yaml.safe_load(namespace["inputs"]["data"])
    local = set(SOURCE_SERIES) | recorded_series(local_files)
    # What the rendered remote write keeps, for any service and bucket bound the SLOs name.
    relabel = _releases(program)["kube-prometheus-stack"]["inputs"]["values"]["prometheus"][
        "prometheusSpec"]["remoteWrite"][0]["writeRelabelConfigs"]
    slos = [r["labels"] for g in store_file["groups"] for r in g["rules"] if "record" in r]
    # Envoy's counters carry the route's cluster, not a service: the edge twins' window reads them.
    routes = [f"httproute/{m['metadata']['namespace']}/{m['metadata']['name']}/rule/0" for m in manifests(program)
              if m["kind"] == "HTTPRoute"]
    store = {s for s in local for slo in slos for le in ("", "0.5") for route in ("", *routes)
             if relabel_keeps(relabel, {"__name__": s, "service": slo["service"], "le": le,
                                        "envoy_cluster_name": route})}
    store |= recorded_series([store_file])
    reads = [("cluster", r.get("alert") or r["record"], r["expr"], local)
             for f in local_files for g in f["groups"] for r in g["rules"]]
    reads += [("store", r.get("alert") or r["record"], r["expr"], store) for g in store_file["groups"] for r in g["rules"]]
    for m in manifests(program):
        if m["kind"] == "ConfigMap" and (m["metadata"].get("labels") or {}).get("grafana_dashboard") == "1":
            for body in m["data"].values():
                for panel in json.loads(body)["panels"]:
                    for target in panel["targets"]:
                        if target["datasource"]["type"] != "prometheus":
                            continue  # LogQL: tests/observability/test_log_shipping.py
                        where = store if target["datasource"]["uid"] == LONG_TERM_UID else local
                        reads.append(("panel", panel["title"], grafana_to_promql(target["expr"]), where))
    assert len(reads) > 60
    for kind, name, expr, known in reads:
        unknown = series_in(expr) - known
        assert not unknown, f"{kind} {name}: nothing declared produces {sorted(unknown)} there"


def test_the_heartbeat_is_declared_and_pages_through_pagerduty(program):
    """Watchdog to a declared topic, Alertmanager's own role the only publisher; five silent
    minutes (missing data counts as silent) publish to the page topic PagerDuty subscribes to."""
    topics = {t["inputs"].get("name"): t for t in program.by_type("aws:sns/topic:Topic")}
    watchdog, page = topics["leadgen-production-obs-heartbeat-watchdog"], topics["leadgen-production-obs-heartbeat-page"]
    (alarm,) = [a for a in program.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")
                if a["inputs"]["name"] == "leadgen-production-obs-heartbeat-silent"]
    a = alarm["inputs"]
    assert (a["namespace"], a["metricName"], a["dimensions"]) == (
        "AWS/SNS", "NumberOfMessagesPublished", {"TopicName": watchdog["outputs"]["name"]})
    assert (a["period"], a["evaluationPeriods"], a["datapointsToAlarm"]) == (60, 5, 5)
    assert (a["comparisonOperator"], a["threshold"], a["treatMissingData"]) == ("LessThanThreshold", 1, "breaching")
    assert a["alarmActions"] == [page["outputs"]["arn"]]
    values = _releases(program)["kube-prometheus-stack"]["inputs"]["values"]["alertmanager"]
    role_arn = values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"]
    (role,) = [r for r in program.by_type("aws:iam/role:Role") if r["outputs"].get("arn") == role_arn]
    assert "system:serviceaccount:monitoring:alertmanager" in role["inputs"]["assumeRolePolicy"]
    policy = next(p for p in program.by_type("aws:iam/rolePolicy:RolePolicy") if p["parent"] == role["parent"])
    (publish, _) = json.loads(policy["inputs"]["policy"])["Statement"]
    assert publish["Action"] == "sns:Publish" and publish["Resource"] == watchdog["outputs"]["arn"]
    (sender,) = program.by_type("aws:sesv2/emailIdentity:EmailIdentity")
    assert sender["inputs"]["emailIdentity"] == "alertmanager@insurance-lead-gen.com"
