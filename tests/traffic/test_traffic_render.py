"""Both routers rendered for production and checked by the tools that would consume them:
built-in kinds with kubernetes-validate --strict, custom resources against the published CRDs."""
import json

import kubernetes_validate
import pytest

from leadgen import versions
from platformctl.project import stack_config
from platformctl.render import is_k8s_object, manifest
from tests.helpers import CRDS, K8S_VERSION, find_manifest, has_crd, run_program, validate_custom_resource

P = "leadgen:"
RELEASE = {f"{P}canary.tag": "2.15.0", f"{P}canary.weight": "10"}
NGINX = {f"{P}traffic.router": "ingress-nginx", f"{P}canary.tag": "2.15.0", f"{P}canary.weight": "50"}
CR_KINDS = {"Gateway", "GatewayClass", "HTTPRoute", "Certificate", "ClusterIssuer"}
# Production's own origin, and the public name the recovery stack's failover records point at it.
ORIGIN, PUBLIC = "api-use1.insurance-lead-gen.com", "api.insurance-lead-gen.com"


@pytest.fixture(scope="module")
def gateway_run():
    return run_program("production", RELEASE)


@pytest.fixture(scope="module")
def nginx_run():
    return run_program("production", NGINX)


def _under_traffic(run, r) -> bool:
    parents = {x["urn"]: x for x in run.resources}
    while r is not None:
        if r["type"] == "leadgen:traffic:Traffic":
            return True
        r = parents.get(r["parent"])
    return False


def traffic_manifests(run) -> list[dict]:
    """What this domain declares: the Traffic tree, `api-canary` and the gateway allowance."""
    out = []
    for r in run.resources:
        if not is_k8s_object(r):
            continue
        m = manifest(r)
        name = m["metadata"].get("name")
        if (_under_traffic(run, r) or name in ("api-canary", "allow-from-gateway")
                or (m["kind"] in ("Ingress",) and name == "api")):
            out.append(m)
    return out


def _validate_all(run) -> dict[str, int]:
    counts: dict[str, int] = {}
    for m in traffic_manifests(run):
        if has_crd(m["apiVersion"], m["kind"]):
            validate_custom_resource(m)
        elif "/" in m["apiVersion"] and m["apiVersion"].split("/")[0].endswith(".io") \
                and not m["apiVersion"].startswith(("networking.k8s.io", "policy", "apps")):
            assert m["kind"] in ("EnvoyProxy", "HTTPRouteFilter"), f"no schema to check {m['apiVersion']} {m['kind']}"
            continue
        else:
            kubernetes_validate.validate(m, K8S_VERSION, strict=True)
        counts[m["kind"]] = counts.get(m["kind"], 0) + 1
    return counts


def test_gateway_router_validates(gateway_run):
    counts = _validate_all(gateway_run)
    assert CR_KINDS <= set(counts), counts
    assert counts["HTTPRoute"] == 2 and counts["ClusterIssuer"] == 2
    assert {"Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"} <= set(counts)
    assert "Ingress" not in counts


def test_ingress_nginx_router_validates(nginx_run):
    counts = _validate_all(nginx_run)
    assert counts["Ingress"] == 2
    assert counts["Certificate"] == 1 and counts["ClusterIssuer"] == 2
    assert not {"Gateway", "GatewayClass", "HTTPRoute"} & set(counts)


def test_a_broken_custom_resource_is_caught(gateway_run):
    # The schema check has teeth: an HTTPRoute weight above the CRD's maximum fails it.
    route = json.loads(json.dumps(find_manifest(gateway_run, "HTTPRoute", "api", "production")))
    route["spec"]["rules"][2]["backendRefs"][0]["weight"] = 1_000_001
    with pytest.raises(Exception, match="1000001"):
        validate_custom_resource(route)


def test_route_carries_the_configured_weight_and_tester_header(gateway_run):
    route = find_manifest(gateway_run, "HTTPRoute", "api", "production")
    private, header, split = route["spec"]["rules"]
    assert [(b["name"], b["weight"]) for b in split["backendRefs"]] == [("api", 90), ("api-canary", 10)]
    # /metrics is answered by the gateway (a filter in the route's namespace), never by a pod.
    assert private["filters"][0]["extensionRef"]["name"] == "not-public" and "backendRefs" not in private
    assert find_manifest(gateway_run, "HTTPRouteFilter", "not-public", "production")["spec"][
        "directResponse"]["statusCode"] == 404
    assert header["matches"][0]["headers"] == [{"type": "Exact", "name": "x-canary", "value": "always"}]
    assert route["spec"]["hostnames"] == [ORIGIN, PUBLIC]
    assert [p["sectionName"] for p in route["spec"]["parentRefs"]] == ["https", "https-public"]


def test_gateway_listeners_https_and_redirect_only_http(gateway_run):
    gw = find_manifest(gateway_run, "Gateway", "api", "production")
    listeners = {l["name"]: l for l in gw["spec"]["listeners"]}
    assert listeners["https"]["port"] == 443 and listeners["https"]["protocol"] == "HTTPS"
    assert listeners["https"]["tls"]["certificateRefs"] == [{"group": "", "kind": "Secret", "name": "api-tls"}]
    assert listeners["http"]["port"] == 80 and "tls" not in listeners["http"]
    # One HTTPS and HTTP pair per name: the region's origin, and the public name it also answers.
    assert {n: (l["hostname"], l["port"]) for n, l in listeners.items()} == {
        "https": (ORIGIN, 443), "https-public": (PUBLIC, 443), "http": (ORIGIN, 80), "http-public": (PUBLIC, 80)}
    assert listeners["https-public"]["tls"] == listeners["https"]["tls"]
    http_routes = [m for m in traffic_manifests(gateway_run) if m["kind"] == "HTTPRoute"
                   and any(p.get("sectionName", "").startswith("http") and not p["sectionName"].startswith("https")
                           for p in m["spec"]["parentRefs"])]
    assert len(http_routes) == 1
    assert [p["sectionName"] for p in http_routes[0]["spec"]["parentRefs"]] == ["http", "http-public"]
    assert all("backendRefs" not in rule for rule in http_routes[0]["spec"]["rules"])
    proxy = find_manifest(gateway_run, "EnvoyProxy", "api-nlb", "envoy-gateway-system")
    svc = proxy["spec"]["provider"]["kubernetes"]["envoyService"]
    # Read by the AWS Load Balancer Controller, which the program installs: an NLB with IP targets.
    assert svc["annotations"]["service.beta.kubernetes.io/aws-load-balancer-type"] == "external"
    assert svc["annotations"]["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"] == "ip"
    assert find_manifest(gateway_run, "GatewayClass", "envoy-gateway")["spec"]["parametersRef"]["name"] == "api-nlb"


def test_certificate_is_explicit_and_production_uses_the_production_issuer(gateway_run):
    cert = find_manifest(gateway_run, "Certificate", "api-tls", "production")["spec"]
    assert cert["issuerRef"]["name"] == "letsencrypt-production"
    assert (cert["duration"], cert["renewBefore"]) == ("2160h", "720h")
    assert cert["dnsNames"] == [ORIGIN, PUBLIC] and cert["secretName"] == "api-tls"
    issuer = find_manifest(gateway_run, "ClusterIssuer", "letsencrypt-staging")["spec"]["acme"]
    assert issuer["server"].startswith("https://acme-staging-v02.")
    assert issuer["solvers"][0]["dns01"]["route53"]["hostedZoneID"] == "Z04517273OQ2DPLA4NHVP"


def test_non_production_uses_the_staging_issuer():
    run = run_program("staging")
    cert = find_manifest(run, "Certificate", "api-tls", "production")["spec"]
    assert cert["issuerRef"]["name"] == "letsencrypt-staging"
    assert cert["dnsNames"] == ["api.staging.insurance-lead-gen.com"]
    # No recovery site, no public name apart from the origin: one listener pair, nothing excluded.
    gw = find_manifest(run, "Gateway", "api", "production")
    assert [l["name"] for l in gw["spec"]["listeners"]] == ["https", "http"]
    (dns,) = [r["inputs"]["values"] for r in run.by_type("kubernetes:helm.sh/v3:Release")
              if r["inputs"]["name"] == "external-dns"]
    assert not [a for a in dns["extraArgs"] if a.startswith("--exclude-domains")]


def test_canary_workload_is_small_and_has_its_own_budget(gateway_run):
    dep = find_manifest(gateway_run, "Deployment", "api-canary", "production")
    assert dep["spec"]["replicas"] == 2  # Pulumi.production.yaml canary.replicas
    assert dep["spec"]["selector"]["matchLabels"] == {"app": "api", "track": "canary"}
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"].endswith("/leadgen-production/api:2.15.0")
    stable = find_manifest(gateway_run, "Deployment", "api", "production")
    stable_tag = stack_config("production")["leadgen:workloads.api.tag"]  # pinned by digest
    assert stable["spec"]["template"]["spec"]["containers"][0]["image"].endswith(f"/leadgen-production/api:{stable_tag}")
    # The canary's tag carries no digest: it is pulled Always; the stable image by digest is not.
    assert dep["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "Always"
    assert stable["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    pdb = find_manifest(gateway_run, "PodDisruptionBudget", "api-canary", "production")
    assert pdb["spec"] == {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "api", "track": "canary"}}}
    assert find_manifest(gateway_run, "Service", "api-canary", "production")["spec"]["selector"] == {
        "app": "api", "track": "canary"}
    hpas = [m for m in traffic_manifests(gateway_run) if m["kind"] == "HorizontalPodAutoscaler"]
    assert hpas == []


def test_weight_moves_only_after_both_deployments_roll_out(gateway_run):
    by_urn = {r["urn"]: r for r in gateway_run.resources}
    route = next(r for r in gateway_run.resources if r["type"].endswith(":HTTPRoute")
                 and r["inputs"]["metadata"]["name"] == "api")
    deps = {by_urn[u]["inputs"].get("metadata", {}).get("name") for u in route["dependencies"]
            if by_urn.get(u, {}).get("type") == "kubernetes:apps/v1:Deployment"}
    assert deps == {"api", "api-canary"}


def test_nginx_canary_ingress_annotations(nginx_run):
    stable = find_manifest(nginx_run, "Ingress", "api", "production")
    canary = find_manifest(nginx_run, "Ingress", "api-canary", "production")
    a = canary["metadata"]["annotations"]
    assert a["nginx.ingress.kubernetes.io/canary"] == "true"
    assert a["nginx.ingress.kubernetes.io/canary-weight"] == "50"
    assert a["nginx.ingress.kubernetes.io/canary-by-header"] == "x-canary"
    assert "nginx.ingress.kubernetes.io/canary" not in stable["metadata"]["annotations"]
    # Same host and path, same certificate; only the backend differs.
    assert [r["host"] for r in canary["spec"]["rules"]] == [r["host"] for r in stable["spec"]["rules"]] == [ORIGIN, PUBLIC]
    assert canary["spec"]["tls"] == stable["spec"]["tls"] == [{"hosts": [ORIGIN, PUBLIC], "secretName": "api-tls"}]
    for rule in canary["spec"]["rules"]:
        assert rule["http"]["paths"][0]["backend"]["service"]["name"] == "api-canary"


@pytest.mark.parametrize("fixture,namespace", [("gateway_run", "envoy-gateway-system"),
                                               ("nginx_run", "ingress-nginx")])
def test_router_data_plane_may_reach_api_on_its_port(fixture, namespace, request):
    run = request.getfixturevalue(fixture)
    np = find_manifest(run, "NetworkPolicy", "allow-from-gateway", "production")["spec"]
    assert np["podSelector"] == {"matchLabels": {"app": "api"}}
    (rule,) = np["ingress"]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}]
    assert rule["ports"] == [{"protocol": "TCP", "port": 3000}]


def test_iam_roles_name_only_the_zone(gateway_run):
    policies = {r["name"]: json.loads(r["inputs"]["policy"]) for r in gateway_run.resources
                if r["type"] == "aws:iam/rolePolicy:RolePolicy" and "-traffic-" in r["name"]}
    assert set(policies) == {"leadgen-production-traffic-external-dns-irsa-policy",
                             "leadgen-production-traffic-certificates-irsa-policy"}
    for name, doc in policies.items():
        zones = {res for s in doc["Statement"] for res in
                 ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"]) if "hostedzone" in res}
        assert zones == {"arn:aws:route53:::hostedzone/Z04517273OQ2DPLA4NHVP"}, name
    trust = [r for r in gateway_run.resources if r["type"] == "aws:iam/role:Role" and "-traffic-" in r["name"]]
    subjects = sorted(next(iter(json.loads(r["inputs"]["assumeRolePolicy"])["Statement"][0]["Condition"]
                                ["StringEquals"].values())) for r in trust)
    assert subjects == ["system:serviceaccount:cert-manager:cert-manager",
                        "system:serviceaccount:external-dns:external-dns"]


def test_helm_charts_are_pinned_and_external_dns_is_scoped(gateway_run, nginx_run):
    releases = {r["inputs"]["name"]: r["inputs"] for r in gateway_run.resources
                if r["type"] == "kubernetes:helm.sh/v3:Release"}
    for name in ("eg", "cert-manager", "external-dns"):
        assert releases[name]["version"] and "latest" not in releases[name]["version"], name
    assert releases["eg"]["skipCrds"] is True
    # The chart's `crds` subchart renders CRDs as templates: only this value keeps them out.
    assert releases["eg"]["values"]["crds"] == {"enabled": False}
    dns = releases["external-dns"]["values"]
    assert dns["domainFilters"] == ["insurance-lead-gen.com"]
    assert "--zone-id-filter=Z04517273OQ2DPLA4NHVP" in dns["extraArgs"]
    # The public name's records are the failover pair's (Pulumi's): external-dns publishes only the
    # region's origin and never fights them. An excluded domain also covers the names under it
    # (`pool.<public name>`), and external-dns' exclusion applies to every source.
    for run in (gateway_run, nginx_run):
        (values,) = [r["inputs"]["values"] for r in run.by_type("kubernetes:helm.sh/v3:Release")
                     if r["inputs"]["name"] == "external-dns"]
        assert [a for a in values["extraArgs"] if a.startswith("--exclude-domains")] == [f"--exclude-domains={PUBLIC}"]
    assert dns["sources"] == ["gateway-httproute"]
    nginx_releases = {r["inputs"]["name"]: r["inputs"] for r in nginx_run.resources
                      if r["type"] == "kubernetes:helm.sh/v3:Release"}
    assert nginx_releases["external-dns"]["values"]["sources"] == ["ingress"]
    assert "eg" not in nginx_releases


def test_installed_crd_releases_are_the_ones_validated_against(gateway_run):
    # The schemas in ../shared/crds are the releases the cluster gets: the Gateway API file applied
    # and the cert-manager chart (which ships its CRDs) carry the same versions.
    readme = (CRDS / "README.md").read_text()
    (crds,) = [r for r in gateway_run.resources if r["type"] == "kubernetes:yaml/v2:ConfigFile"
               and "kubernetes-sigs/gateway-api" in r["inputs"]["file"]]
    version = crds["inputs"]["file"].split("/download/")[1].split("/")[0]
    assert f"kubernetes-sigs/gateway-api | {version} |" in readme
    (cm,) = [r["inputs"] for r in gateway_run.resources if r["type"] == "kubernetes:helm.sh/v3:Release"
             and r["inputs"]["name"] == "cert-manager"]
    assert f"cert-manager/cert-manager | {cm['version']} |" in readme
    assert cm["values"]["crds"] == {"enabled": True, "keep": True}


def test_envoy_gateway_crds_are_applied_from_the_controllers_release_not_a_helm_release(gateway_run):
    # As a Helm release the CRDs would need a ~2 MB release Secret; Kubernetes caps Secrets at 1 MiB.
    files = {r["inputs"]["file"]: r for r in gateway_run.resources if r["type"] == "kubernetes:yaml/v2:ConfigFile"}
    eg = versions.ENVOY_GATEWAY.version
    crds = files[f"https://github.com/envoyproxy/gateway/releases/download/{eg}/envoy-gateway-crds.yaml"]
    releases = {r["inputs"]["name"]: r for r in gateway_run.resources if r["type"] == "kubernetes:helm.sh/v3:Release"}
    assert "eg-crds" not in releases
    assert crds["urn"] in releases["eg"]["dependencies"]
