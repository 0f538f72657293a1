"""The pure helpers behind the traffic components: IAM scoped to the zone, weights, annotations."""
import json

import pytest

from leadgen import traffic as t
from leadgen import versions

ZONE = "Z04517273OQ2DPLA4NHVP"
ZONE_ARN = f"arn:aws:route53:::hostedzone/{ZONE}"


def _statements(policy: str) -> list[dict]:
    doc = json.loads(policy)
    assert doc["Version"] == "2012-10-17"
    return doc["Statement"]


def _resources(statement: dict) -> list[str]:
    r = statement["Resource"]
    return [r] if isinstance(r, str) else r


def test_external_dns_changes_records_only_in_the_zone():
    stmts = _statements(t.external_dns_policy(ZONE))
    for s in stmts:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        if _resources(s) == ["*"]:
            # Only the account-wide zone listing, which has no resource-level permission.
            assert actions == ["route53:ListHostedZones"], s
        else:
            assert _resources(s) == [ZONE_ARN], s
    change = [s for s in stmts if "route53:ChangeResourceRecordSets" in s["Action"]]
    assert len(change) == 1 and _resources(change[0]) == [ZONE_ARN]
    assert all(s["Effect"] == "Allow" and "route53:*" not in s["Action"] for s in stmts)


def test_cert_manager_writes_only_acme_txt_records_in_the_zone():
    stmts = _statements(t.cert_manager_policy(ZONE))
    hosted = {r for s in stmts for r in _resources(s) if "hostedzone" in r}
    assert hosted == {ZONE_ARN}
    assert not any(r == "*" for s in stmts for r in _resources(s))
    change = next(s for s in stmts if "route53:ChangeResourceRecordSets" in s["Action"])
    assert change["Condition"]["ForAllValues:StringEquals"] == {
        "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"]}
    assert change["Condition"]["ForAllValues:StringLike"] == {
        "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["_acme-challenge.*"]}
    poll = next(s for s in stmts if s["Action"] == ["route53:GetChange"])
    assert _resources(poll) == ["arn:aws:route53:::change/*"]


@pytest.mark.parametrize("weight,stable", [(0, 100), (10, 90), (50, 50), (100, 0)])
def test_route_splits_the_weight_and_always_sends_the_header_to_the_canary(weight, stable):
    spec = t.canary_route_spec("api.insurance-lead-gen.com", 3000, weight)
    private, header_rule, split_rule = spec["rules"]
    assert private["matches"] == [{"path": {"type": "PathPrefix", "value": "/metrics"}}]
    assert header_rule["matches"][0]["headers"] == [
        {"type": "Exact", "name": "x-canary", "value": "always"}]
    assert [(b["name"], b["weight"]) for b in header_rule["backendRefs"]] == [("api-canary", 1)]
    assert [(b["name"], b["port"], b["weight"]) for b in split_rule["backendRefs"]] == [
        ("api", 3000, stable), ("api-canary", 3000, weight)]
    assert "headers" not in split_rule["matches"][0]
    assert spec["parentRefs"] == [{"name": "api", "sectionName": "https"}]


def test_metrics_are_never_routed_from_outside():
    """The pods serve /metrics on the routed port; the gateway answers it with its own 404, and the
    longer prefix wins over both `/` rules (header matches rank below path length)."""
    spec = t.canary_route_spec("api.insurance-lead-gen.com", 3000, 10)
    rule = spec["rules"][0]
    assert "backendRefs" not in rule
    assert rule["filters"] == [{"type": "ExtensionRef", "extensionRef": {
        "group": "gateway.envoyproxy.io", "kind": "HTTPRouteFilter", "name": "not-public"}}]
    longest = max((m["path"]["value"] for r in spec["rules"] for m in r["matches"]), key=len)
    assert longest == "/metrics"
    assert t.not_public_filter_spec()["directResponse"]["statusCode"] == 404


def test_http_listener_only_redirects():
    spec = t.redirect_route_spec("api.insurance-lead-gen.com")
    (rule,) = spec["rules"]
    assert "backendRefs" not in rule
    assert rule["filters"] == [{"type": "RequestRedirect",
                                "requestRedirect": {"scheme": "https", "statusCode": 301}}]
    assert spec["parentRefs"] == [{"name": "api", "sectionName": "http"}]


def test_canary_ingress_annotations_are_the_runbooks():
    a = t.canary_ingress_annotations(50)
    assert a["nginx.ingress.kubernetes.io/canary"] == "true"
    assert a["nginx.ingress.kubernetes.io/canary-weight"] == "50"
    assert a["nginx.ingress.kubernetes.io/canary-by-header"] == "x-canary"
    assert a["nginx.ingress.kubernetes.io/canary-by-header-value"] == "always"
    assert "nginx.ingress.kubernetes.io/canary" not in t.stable_ingress_annotations()


@pytest.mark.parametrize("host,zone,inside", [
    ("api.insurance-lead-gen.com", "insurance-lead-gen.com", True),
    ("insurance-lead-gen.com", "insurance-lead-gen.com", True),
    ("API.Insurance-Lead-Gen.com.", "insurance-lead-gen.com", True),
    ("api.evil-insurance-lead-gen.com", "insurance-lead-gen.com", False),
    ("api.insurance-lead-gen.com.attacker.net", "insurance-lead-gen.com", False),
])
def test_in_zone_matches_whole_labels(host, zone, inside):
    assert t.in_zone(host, zone) is inside


def test_issuer_and_data_plane_follow_the_stack_and_router():
    assert t.issuer_for(True) == "letsencrypt-production"
    assert t.issuer_for(False) == "letsencrypt-staging"
    assert t.data_plane_namespace(t.GATEWAY_API, "ingress-nginx") == "envoy-gateway-system"
    assert t.data_plane_namespace(t.INGRESS_NGINX, "edge") == "edge"


def test_versions_are_pinned():
    for pin in (versions.ENVOY_GATEWAY, versions.ENVOY_GATEWAY_CRDS, versions.CERT_MANAGER,
                versions.EXTERNAL_DNS):
        assert pin.version[:1].isdigit() or pin.version.startswith("v"), pin
    # Envoy Gateway's CRD chart must match the controller that reads those CRDs.
    assert versions.ENVOY_GATEWAY.version == versions.ENVOY_GATEWAY_CRDS.version
    assert t.GATEWAY_API_CRDS_URL == ("https://github.com/kubernetes-sigs/gateway-api/releases/download/"
                                      f"{versions.GATEWAY_API_CRDS.version}/standard-install.yaml")


def test_every_path_is_routed_for_the_origin_and_the_public_name():
    from components.ingress import NginxCanaryIngressArgs, _spec
    args = NginxCanaryIngressArgs(hostname="api-use1.insurance-lead-gen.com", namespace="production", port=8080,
                                  weight=0, paths=["/", "/v2"], public_hostname="api.insurance-lead-gen.com")
    spec = _spec(args, "api")
    assert {r["host"]: [p["path"] for p in r["http"]["paths"]] for r in spec["rules"]} == {
        "api-use1.insurance-lead-gen.com": ["/", "/v2"], "api.insurance-lead-gen.com": ["/", "/v2"]}
    # The public name equal to the origin adds nothing: one rule, one listener pair.
    assert t.hostnames("api.x.com", "api.x.com") == t.hostnames("api.x.com") == ["api.x.com"]
    assert [l["name"] for l in t.gateway_spec("api.x.com")["listeners"]] == ["https", "http"]
