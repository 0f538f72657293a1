"""Logs reach Loki: what `platformctl render` writes for the log shipper and for Loki, read as the
two charts read their values, meets; the shipper reads every namespace's pod logs, tags them with
the labels Grafana's queries select on, runs on every node group and may do nothing else.

The charts cannot be rendered here (no helm), so the chart facts the checks rest on are written
below from the pinned charts' templates and values.yaml: loki 18.11.0 (templates/_helpers.tpl
`loki.fullname`, `loki.nginxFile`; templates/gateway/service.yaml) and opentelemetry-collector
0.170.0 (templates/_helpers.tpl `fullname`, templates/_pod.tpl). Each check is run against a
broken copy as well, so it is known to bite.
"""
from __future__ import annotations

import copy
import ipaddress
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from components.log_shipper import APP_LABEL, CONTAINER, LOG_DIR, POD_LABELS, RELEASE
from components.namespaces import monitoring_allowances
from leadgen import versions
from platformctl.render import render_all
from tests.helpers import manifests, run_program

NAMESPACE = "monitoring"
ROOT = Path(__file__).resolve().parents[2]
TENANT_HEADER = "X-Scope-OrgID"

# loki 18.11.0 values.yaml, the keys the push path depends on.
LOKI_CHART = "loki"
LOKI_DEFAULTS = {
    "fullnameOverride": "", "nameOverride": "", "deploymentMode": "Monolithic",
    "gateway": {"enabled": True, "containerPort": 8080, "service": {"port": 80}, "basicAuth": {"enabled": False}},
    "loki": {"auth_enabled": True, "server": {"http_listen_port": 3100}, "limits_config": {}},
}
MONOLITHIC = ("SingleBinary", "Monolithic", "SingleBinary<->SimpleScalable", "Monolithic<->SimpleScalable")
# `loki.nginxFile`: the gateway proxies these exact paths to the distributor.
GATEWAY_PUSH_PATHS = {"/otlp/v1/logs", "/loki/api/v1/push", "/api/prom/push"}
OTLP_LOGS_PATH = "/otlp/v1/logs"
# Loki 3.7's `distributor.otlp.default_resource_attributes_as_index_labels`.
LOKI_DEFAULT_INDEX_ATTRIBUTES = {
    "service.name", "service.namespace", "service.instance.id", "deployment.environment",
    "deployment.environment.name", "cloud.region", "cloud.availability_zone", "k8s.cluster.name",
    "k8s.namespace.name", "k8s.pod.name", "k8s.container.name", "container.name", "k8s.replicaset.name",
    "k8s.deployment.name", "k8s.statefulset.name", "k8s.daemonset.name", "k8s.cronjob.name", "k8s.job.name"}
# The file_log receiver's container parser, with add_metadata_from_filepath (its default), reads
# these from `/var/log/pods/<namespace>_<pod>_<uid>/<container>/<restarts>.log`.
PATH_ATTRIBUTES = {"k8s.namespace.name", "k8s.pod.name", "k8s.pod.uid", "k8s.container.name",
                   "k8s.container.restart_count"}
OTLP_HTTP = ("otlp_http", "otlphttp")
# Namespaces EKS itself makes; every other one is in the program.
EKS_NAMESPACES = {"default", "kube-system", "kube-public", "kube-node-lease"}


@pytest.fixture(scope="module")
def program():
    return run_program("production")


@pytest.fixture(scope="module")
def rendered(program, tmp_path_factory):
    out = tmp_path_factory.mktemp("render")
    render_all(program, out)
    return out


def _helm(rendered, release: str) -> dict:
    return yaml.safe_load((rendered / "helm" / f"{NAMESPACE}-{release}.yaml").read_text())


def _merge(base: dict, over: dict) -> dict:
    """Helm's coalescing of user values over chart defaults, for maps."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, dict) else value
    return out


# --- the Loki side: what the chart serves for a values set --------------------------------------
def loki_fullname(release: str, values: dict) -> str:
    if values["fullnameOverride"]:
        return values["fullnameOverride"][:63].rstrip("-")
    name = values["nameOverride"] or LOKI_CHART
    return (release if name in release else f"{release}-{name}")[:63].rstrip("-")


def loki_push_services(release: str, namespace: str, values: dict) -> dict[tuple[str, str, int], set[str]]:
    """(Service, namespace, port) -> the push paths it serves."""
    v = _merge(LOKI_DEFAULTS, values)
    fullname = loki_fullname(release, v)
    mode = v["deploymentMode"]
    distributor = fullname if mode in MONOLITHIC else (
        f"{fullname}-write" if "SimpleScalable" in mode and "Distributed" not in mode else f"{fullname}-distributor")
    served = {(distributor, namespace, int(v["loki"]["server"]["http_listen_port"])): GATEWAY_PUSH_PATHS}
    if v["gateway"]["enabled"]:
        served[(f"{fullname}-gateway", namespace, int(v["gateway"]["service"]["port"]))] = GATEWAY_PUSH_PATHS
    return served


def _service_address(url: str, namespace: str) -> tuple[str, str, int, str]:
    """(Service, namespace, port, path) a cluster-internal URL reaches."""
    parts = urlsplit(url)
    labels = parts.hostname.split(".")
    if len(labels) == 1:
        service, ns = labels[0], namespace
    else:
        assert labels[2:] in (["svc"], ["svc", "cluster", "local"]), f"{url}: not a Service address"
        service, ns = labels[0], labels[1]
    return service, ns, parts.port or {"http": 80, "https": 443}[parts.scheme], parts.path


def _log_exporters(shipper: dict) -> dict[str, dict]:
    config = shipper.get("alternateConfig") or shipper["config"]
    names = config["service"]["pipelines"]["logs"]["exporters"]
    return {n: config["exporters"][n] for n in names}


def meeting_problems(shipper: dict, loki: dict) -> list[str]:
    """Why logs the shipper sends would not be stored by Loki ([] when they would)."""
    problems = []
    served = loki_push_services("loki", NAMESPACE, loki)
    merged = _merge(LOKI_DEFAULTS, loki)
    exporters = _log_exporters(shipper)
    if not exporters:
        return ["the logs pipeline exports nowhere"]
    for name, exporter in exporters.items():
        if name.split("/")[0] not in OTLP_HTTP:
            problems.append(f"{name}: not an OTLP/HTTP exporter; Loki's native OTLP endpoint takes HTTP only")
            continue
        url = exporter.get("logs_endpoint") or exporter["endpoint"].rstrip("/") + "/v1/logs"
        service, ns, port, path = _service_address(url, NAMESPACE)
        paths = served.get((service, ns, port))
        if paths is None:
            problems.append(f"{name}: {url} is no Service the loki chart creates ({sorted(served)})")
        elif path != OTLP_LOGS_PATH or path not in paths:
            problems.append(f"{name}: {url} posts to {path}, Loki takes OTLP logs on {OTLP_LOGS_PATH}")
        headers = {k.lower() for k in exporter.get("headers") or {}}
        if merged["loki"]["auth_enabled"] and TENANT_HEADER.lower() not in headers:
            problems.append(f"{name}: Loki runs multi-tenant (auth_enabled) and {TENANT_HEADER} is not sent")
        if merged["gateway"]["enabled"] and merged["gateway"]["basicAuth"]["enabled"] and "auth" not in exporter:
            problems.append(f"{name}: the gateway wants basic auth and the exporter has no authenticator")
    # OTLP attributes Loki does not index are structured metadata: schema v13 and the limit on.
    if merged["loki"]["limits_config"].get("allow_structured_metadata") is False:
        problems.append("loki.limits_config.allow_structured_metadata is false: Loki refuses OTLP logs")
    schemas = sorted(loki["loki"]["schemaConfig"]["configs"], key=lambda c: str(c["from"]))
    if int(str(schemas[-1]["schema"]).lstrip("v")) < 13:
        problems.append(f"schema {schemas[-1]['schema']}: structured metadata (OTLP) needs v13")
    return problems


def test_the_shippers_output_is_lokis_otlp_endpoint(rendered):
    shipper, loki = _helm(rendered, RELEASE), _helm(rendered, "loki")
    assert shipper["chart"] == versions.OPENTELEMETRY_COLLECTOR.name and loki["chart"] == versions.LOKI.name
    assert meeting_problems(shipper["values"], loki["values"]) == []
    (exporter,) = _log_exporters(shipper["values"]).values()
    assert _service_address(exporter["endpoint"] + "/v1/logs", NAMESPACE) == ("loki-gateway", NAMESPACE, 80, OTLP_LOGS_PATH)


@pytest.mark.parametrize("change,expected", [
    (lambda s, l: l["gateway"].setdefault("service", {}).update(port=8080), "is no Service the loki chart creates"),
    (lambda s, l: l.update(fullnameOverride="logs"), "is no Service the loki chart creates"),
    (lambda s, l: l["loki"].update(auth_enabled=True), f"{TENANT_HEADER} is not sent"),
    (lambda s, l: l["gateway"].update(basicAuth={"enabled": True}), "no authenticator"),
    (lambda s, l: l["loki"]["limits_config"].update(allow_structured_metadata=False), "refuses OTLP logs"),
    (lambda s, l: l["loki"]["schemaConfig"]["configs"][-1].update(schema="v12"), "needs v13"),
    (lambda s, l: s["alternateConfig"]["exporters"]["otlp_http/loki"].update(
        endpoint="http://loki-gateway.monitoring.svc:80/loki/api/v1/push"), "Loki takes OTLP logs on"),
    (lambda s, l: s["alternateConfig"]["exporters"]["otlp_http/loki"].update(
        endpoint="http://loki.monitoring.svc:80/otlp"), "is no Service the loki chart creates"),
])
def test_each_way_of_missing_loki_is_caught(rendered, change, expected):
    shipper, loki = _helm(rendered, RELEASE)["values"], _helm(rendered, "loki")["values"]
    change(shipper, loki)
    assert any(expected in p for p in meeting_problems(shipper, loki)), meeting_problems(shipper, loki)


def test_grafana_queries_loki_where_the_chart_serves_it(rendered):
    loki = _helm(rendered, "loki")["values"]
    grafana = _helm(rendered, "kube-prometheus-stack")["values"]["grafana"]
    (source,) = [d for d in grafana["additionalDataSources"] if d["type"] == "loki"]
    service, ns, port, _ = _service_address(source["url"], NAMESPACE)
    assert (service, ns, port) in loki_push_services("loki", NAMESPACE, loki)
    assert (service, port) == ("loki-gateway", 80)


def test_loki_push_services_follow_the_chart():
    assert loki_push_services("loki", "m", {}) == {("loki", "m", 3100): GATEWAY_PUSH_PATHS,
                                                   ("loki-gateway", "m", 80): GATEWAY_PUSH_PATHS}
    assert set(loki_push_services("logs", "m", {"gateway": {"enabled": False}, "deploymentMode": "Distributed"})) \
        == {("logs-loki-distributor", "m", 3100)}


# --- every namespace, the labels queries use -------------------------------------------------------
def _glob(pattern: str) -> re.Pattern:
    """doublestar's glob (what file_log matches with): `*` stays within one path segment."""
    out = ""
    for token in re.split(r"(\*\*|\*|\?)", pattern):
        out += {"**": ".*", "*": "[^/]*", "?": "[^/]"}.get(token, re.escape(token))
    return re.compile(out + r"\Z")


def reads(receiver: dict, path: str) -> bool:
    included = any(_glob(p).match(path) for p in receiver["include"])
    return included and not any(_glob(p).match(path) for p in receiver.get("exclude") or [])


def _log_path(namespace: str, pod: str, container: str) -> str:
    return f"{LOG_DIR}/{namespace}_{pod}_0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/{container}/0.log"


def _cluster_namespaces(program) -> set[str]:
    declared = {m["metadata"].get("namespace") for m in manifests(program)} | {
        m["metadata"]["name"] for m in manifests(program) if m["kind"] == "Namespace"}
    releases = {r["inputs"].get("namespace") for r in program.by_type("kubernetes:helm.sh/v3:Release")}
    return (declared | releases | EKS_NAMESPACES) - {None}


def _logs_config(shipper: dict) -> dict:
    return shipper.get("alternateConfig") or shipper["config"]


def test_the_shipper_reads_every_namespace_but_its_own_output(program, rendered):
    config = _logs_config(_helm(rendered, RELEASE)["values"])
    pipeline = config["service"]["pipelines"]["logs"]
    (receiver_name,) = pipeline["receivers"]
    assert receiver_name.split("/")[0] in ("file_log", "filelog")
    receiver = config["receivers"][receiver_name]
    namespaces = _cluster_namespaces(program)
    assert {"production", "monitoring", "governance", "kube-system"} <= namespaces
    for ns in sorted(namespaces):
        for pod, container in (("api-7d9f8b6c5d-x2k4q", "api"), (f"{RELEASE}-agent-k2x9z", "app"),
                               ("loki-0", "loki")):
            assert reads(receiver, _log_path(ns, pod, container)), f"{ns}/{pod}/{container} is not shipped"
    # Its own container only: shipping those lines would feed them back in forever.
    assert not reads(receiver, _log_path(NAMESPACE, f"{RELEASE}-agent-k2x9z", CONTAINER))
    # Nothing further down drops a namespace: no filter or router, and the metadata lookup is
    # limited to the node, not to a namespace.
    assert not {p.split("/")[0] for p in pipeline["processors"]} & {"filter", "routing"}
    for name in pipeline["processors"]:
        assert "namespace" not in (config["processors"][name] or {}).get("filter", {}), name
    # The whole config is the shipper's: the chart merges no defaults or presets into it.
    values = _helm(rendered, RELEASE)["values"]
    assert "alternateConfig" in values and not values.get("presets")


def test_a_namespace_filter_would_be_caught(program, rendered):
    receiver = copy.deepcopy(_logs_config(_helm(rendered, RELEASE)["values"])["receivers"]["file_log"])
    receiver["exclude"].append(f"{LOG_DIR}/{NAMESPACE}_*/*/*.log")
    assert not reads(receiver, _log_path(NAMESPACE, "loki-0", "loki"))
    receiver["exclude"].pop()
    receiver["include"] = [f"{LOG_DIR}/production_*/*/*.log"]
    assert not reads(receiver, _log_path("governance", "x", "y"))


_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')


def stream_labels(logql: str) -> dict[str, str]:
    """The labels a LogQL query's stream selector names (`{a="x", b=~"y"} | ...`)."""
    match = re.match(r"\s*\{(.*?)\}", logql, re.S)
    assert match, f"{logql!r}: no stream selector"
    body, labels, pos = match.group(1), {}, 0
    while pos < len(body):
        m = _MATCHER.match(body, pos)
        assert m, f"{logql!r}: cannot read the selector at {body[pos:]!r}"
        labels[m.group(1)] = m.group(3)
        pos = m.end()
    assert labels, f"{logql!r}: an empty selector"
    return labels


def _loki_label(attribute: str) -> str:
    """Loki's name for an OTLP attribute as a label (Prometheus normalisation)."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", attribute)


def shipped_attributes(config: dict) -> set[str]:
    """The resource attributes every shipped record carries."""
    pipeline = config["service"]["pipelines"]["logs"]
    attributes: set[str] = set()
    for name in pipeline["receivers"]:
        receiver = config["receivers"][name]
        for op in receiver.get("operators") or []:
            if op["type"] == "container" and op.get("add_metadata_from_filepath", True) \
                    and receiver.get("include_file_path"):
                attributes |= PATH_ATTRIBUTES
    for name in pipeline["processors"]:
        if name.split("/")[0] in ("k8s_attributes", "k8sattributes"):
            extract = config["processors"][name].get("extract") or {}
            attributes |= set(extract.get("metadata") or [])
            attributes |= {rule["tag_name"] for rule in extract.get("labels") or [] if rule.get("from") == "pod"}
    return attributes


def loki_index_labels(loki: dict) -> set[str]:
    otlp = loki["loki"]["limits_config"].get("otlp_config") or {}
    resource = otlp.get("resource_attributes") or {}
    indexed = set() if resource.get("ignore_defaults") else set(LOKI_DEFAULT_INDEX_ATTRIBUTES)
    for rule in resource.get("attributes_config") or []:
        if rule.get("action") == "index_label":
            indexed |= set(rule.get("attributes") or [])
    return {_loki_label(a) for a in indexed}


def _loki_targets(rendered):
    for path in sorted((rendered / "observability" / "dashboards").glob("*.json")):
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel["targets"]:
                if target["datasource"]["type"] == "loki":
                    yield board, panel, target


def _readme_queries() -> list[str]:
    """The LogQL queries README's "Logs." paragraph tells operators to type."""
    text = (ROOT / "README.md").read_text()
    paragraph = text[text.index("**Logs.**"):].split("\n\n", 1)[0]
    return re.findall(r"`(\{[^`]*)`", paragraph)


def test_the_labels_grafana_selects_are_shipped_and_indexed(rendered):
    config = _logs_config(_helm(rendered, RELEASE)["values"])
    shipped = {_loki_label(a) for a in shipped_attributes(config)}
    indexed = loki_index_labels(_helm(rendered, "loki")["values"])
    assert {"k8s_namespace_name", "k8s_pod_name", "k8s_container_name", "app"} <= shipped & indexed
    targets = list(_loki_targets(rendered))
    assert targets, "no dashboard reads Loki"
    queries = [(f"{board['uid']}/{panel['title']}", target["expr"], {v["name"] for v in board["templating"]["list"]})
               for board, panel, target in targets]
    queries += [("README", q, set()) for q in _readme_queries()]
    assert len(queries) > len(targets), "README shows no query"
    for board, panel, target in targets:
        assert target["datasource"]["uid"] == panel["datasource"]["uid"] == "loki"
    for where, query, variables in queries:
        for label, value in stream_labels(query).items():
            assert label in shipped, f"{where}: {label} is not on any shipped record"
            assert label in indexed, f"{where}: {label} is not a Loki index label (only structured metadata)"
            for var in re.findall(r"\$(\w+)", value):
                assert var in variables, f"{where}: {label} uses ${var}, which is not a variable there"


def test_a_query_on_a_label_nobody_ships_would_be_caught(rendered):
    config = _logs_config(_helm(rendered, RELEASE)["values"])
    shipped = {_loki_label(a) for a in shipped_attributes(config)}
    assert "namespace" not in shipped and "k8s_deployment_name" not in shipped
    without_labels = copy.deepcopy(config)
    without_labels["processors"]["k8s_attributes"]["extract"].pop("labels")
    assert "app" not in {_loki_label(a) for a in shipped_attributes(without_labels)}
    assert stream_labels('{k8s_namespace_name="production", app=~"(api|backend)"} |= "error"') == {
        "k8s_namespace_name": "production", "app": "(api|backend)"}
    loki = _helm(rendered, "loki")["values"]
    loki["loki"]["limits_config"].pop("otlp_config")
    assert "app" not in loki_index_labels(loki)


def test_workload_pods_carry_the_label_the_app_attribute_comes_from(program):
    """The service dashboard's `$service` values are the Services' `app` label; the logs panel
    selects `app` on the same values, which the shipper reads from APP_LABEL."""
    deployments = [m for m in manifests(program) if m["kind"] == "Deployment"
                   and m["metadata"]["namespace"] == "production"]
    assert deployments
    for d in deployments:
        labels = d["spec"]["template"]["metadata"]["labels"]
        assert labels[APP_LABEL] == labels["app"], d["metadata"]["name"]


# --- every node, least privilege --------------------------------------------------------------------
def tolerates(tolerations: list[dict], taint: dict) -> bool:
    """Kubernetes' toleration matching (core/v1 Toleration.ToleratesTaint)."""
    for t in tolerations:
        if t.get("effect") and t["effect"] != taint["effect"]:
            continue
        if t.get("operator", "Equal") == "Exists":
            if not t.get("key") or t["key"] == taint["key"]:
                return True
        elif t.get("key") == taint["key"] and t.get("value", "") == (taint.get("value") or ""):
            return True
    return False


_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


def test_the_shipper_runs_on_every_node_group_gpu_included(program, rendered):
    tolerations = _helm(rendered, RELEASE)["values"]["tolerations"]
    taints = [{**t, "effect": _EFFECTS[t["effect"]]} for g in program.by_type("aws:eks/nodeGroup:NodeGroup")
              for t in g["inputs"].get("taints") or []]
    assert any(t["key"] == "nvidia.com/gpu" for t in taints), "the production stack has a tainted GPU group"
    for taint in taints:
        assert tolerates(tolerations, taint), taint
    assert not tolerates([{"key": "other", "operator": "Exists"}], taints[0])
    assert not _helm(rendered, RELEASE)["values"].get("nodeSelector") and not _helm(rendered, RELEASE)["values"].get("affinity")


def test_the_shipper_holds_no_more_than_reading_logs_needs(rendered):
    v = _helm(rendered, RELEASE)["values"]
    assert v["mode"] == "daemonset"
    # The API: read pods, no cloud role.
    assert v["clusterRole"]["create"] is True
    for rule in v["clusterRole"]["rules"]:
        assert set(rule["verbs"]) <= {"get", "list", "watch"} and set(rule["resources"]) <= {"pods", "namespaces"}
        assert rule["apiGroups"] == [""]
    assert "eks.amazonaws.com/role-arn" not in (v["serviceAccount"].get("annotations") or {})
    # The node: read-only host paths, no host namespaces, no host ports, not root, no capability.
    mounts = {m["name"]: m for m in v["extraVolumeMounts"]}
    for volume in v["extraVolumes"]:
        if "hostPath" in volume:
            assert mounts[volume["name"]].get("readOnly") is True, volume
            assert volume["hostPath"]["path"] == LOG_DIR
    assert not any(v.get(k) for k in ("hostNetwork", "hostPID"))
    assert all(p == "metrics" or not spec["enabled"] for p, spec in v["ports"].items())
    sc, pod = v["securityContext"], v["podSecurityContext"]
    assert sc["runAsNonRoot"] and sc["runAsUser"] != 0 and sc["runAsGroup"] != 0
    assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}
    # containerd's 0640 root:root log files, read through the group alone.
    assert pod["supplementalGroups"] == [0]
    assert v["resources"]["requests"] and v["resources"]["limits"]
    # The image is pinned, and new enough for the component names the config uses.
    assert v["image"] == {"repository": versions.OPENTELEMETRY_COLLECTOR_K8S.source,
                          "tag": versions.OPENTELEMETRY_COLLECTOR_K8S.version}
    assert tuple(int(x) for x in v["image"]["tag"].split(".")) >= (0, 149, 0)  # file_log, otlp_http


# --- the monitoring namespace's network policies -----------------------------------------------------
def _selects(selector: dict, labels: dict) -> bool:
    assert not selector.get("matchExpressions"), "matchExpressions are not evaluated here"
    return (selector.get("matchLabels") or {}).items() <= labels.items()


def _peer_matches(peer: dict, target: dict, own_ns: str) -> bool:
    if "ipBlock" in peer:
        if "ip" not in target:
            return False
        ip = ipaddress.ip_address(target["ip"])
        return ip in ipaddress.ip_network(peer["ipBlock"]["cidr"]) and not any(
            ip in ipaddress.ip_network(e) for e in peer["ipBlock"].get("except") or [])
    if "ip" in target:
        return False
    if "namespaceSelector" in peer:
        ns_ok = _selects(peer["namespaceSelector"], {"kubernetes.io/metadata.name": target["namespace"]})
    else:
        ns_ok = target["namespace"] == own_ns
    return ns_ok and _selects(peer.get("podSelector") or {}, target["labels"])


def _port_ok(rule: dict, port: int) -> bool:
    return not rule.get("ports") or any(p.get("port") in (None, port) and p.get("protocol", "TCP") == "TCP"
                                        for p in rule["ports"])


def egress_allowed(policies: dict[str, dict], pod: dict, target: dict, port: int) -> bool:
    """NetworkPolicy semantics for one TCP connection out of `pod` (in `policies`' namespace)."""
    selecting = [p for p in policies.values()
                 if "Egress" in p["policyTypes"] and _selects(p["podSelector"], pod["labels"])]
    return not selecting or any(
        _port_ok(rule, port) and (not rule.get("to") or any(_peer_matches(peer, target, pod["namespace"])
                                                               for peer in rule["to"]))
        for p in selecting for rule in p.get("egress") or [])


def ingress_allowed(policies: dict[str, dict], pod: dict, source: dict, port: int) -> bool:
    selecting = [p for p in policies.values()
                 if "Ingress" in p["policyTypes"] and _selects(p["podSelector"], pod["labels"])]
    return not selecting or any(
        _port_ok(rule, port) and (not rule.get("from") or any(_peer_matches(peer, source, pod["namespace"])
                                                                 for peer in rule["from"]))
        for p in selecting for rule in p.get("ingress") or [])


def _vpc_cidr(program) -> str:
    (vpc,) = program.by_type("aws:ec2/vpc:Vpc")
    return vpc["inputs"]["cidrBlock"]


def test_the_monitoring_namespace_lets_the_shipper_reach_the_api_server_and_loki(program):
    policies = {m["metadata"]["name"]: m["spec"] for m in manifests(program)
                if m["kind"] == "NetworkPolicy" and m["metadata"]["namespace"] == NAMESPACE}
    assert policies["default-deny"]["policyTypes"] == ["Ingress", "Egress"]
    # The chart's pod labels: selector labels plus the DaemonSet's component.
    shipper = {"namespace": NAMESPACE, "labels": {**POD_LABELS, "app.kubernetes.io/instance": RELEASE,
                                                  "component": "agent-collector"}}
    gateway = {"namespace": NAMESPACE, "labels": {"app.kubernetes.io/name": "loki", "app.kubernetes.io/instance": "loki",
                                                  "app.kubernetes.io/component": "gateway"}}
    prometheus = {"namespace": NAMESPACE, "labels": {"app.kubernetes.io/name": "prometheus"}}
    api_server = {"ip": str(next(ipaddress.ip_network(_vpc_cidr(program)).hosts()))}
    dns = {"namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}}
    gateway_port = LOKI_DEFAULTS["gateway"]["containerPort"]
    assert egress_allowed(policies, shipper, api_server, 443)
    assert egress_allowed(policies, shipper, dns, 53)
    assert egress_allowed(policies, shipper, gateway, gateway_port) and ingress_allowed(policies, gateway, shipper, gateway_port)
    assert egress_allowed(policies, prometheus, shipper, 8888) and ingress_allowed(policies, shipper, prometheus, 8888)
    # The shipper's own allowance carries it without the Prometheus scrape rule.
    own = {k: policies[k] for k in ("default-deny", "allow-dns", "allow-same-namespace", "allow-log-shipper-egress")}
    assert egress_allowed(own, shipper, api_server, 443)
    assert not egress_allowed(own, shipper, api_server, 5432)
    del own["allow-log-shipper-egress"]
    assert not egress_allowed(own, shipper, api_server, 443)
    assert policies["allow-log-shipper-egress"] == monitoring_allowances(_vpc_cidr(program))["allow-log-shipper-egress"]


def test_the_shipper_is_scraped_and_watched(rendered):
    from leadgen.observability.catalog import SCRAPES
    v = _helm(rendered, RELEASE)["values"]
    scrape = SCRAPES[RELEASE]
    # The ServiceMonitor scrapes the chart's Service, named after the release (nameOverride).
    assert scrape.kind == "Release" and scrape.name == RELEASE and scrape.jobs == (v["nameOverride"],)
    assert v["service"]["enabled"] and v["serviceMonitor"]["enabled"] and v["ports"]["metrics"]["enabled"]
    readers = _logs_config(v)["service"]["telemetry"]["metrics"]["readers"]
    assert readers[0]["pull"]["exporter"]["prometheus"]["port"] == v["ports"]["metrics"]["containerPort"]
