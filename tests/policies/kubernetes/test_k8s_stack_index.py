"""The indexed stack checks (HPAs by target, HTTPRoutes by gateway) report exactly what a scan of
every resource for every Deployment or listener reports, unknowns included. The scans below are
the checks as first written (quadratic: seconds over 10,000 resources); random stacks compare both."""
import random

import pytest

from policy_baseline import context

from governance.kubernetes import deployments, objects, traffic
from governance.model import Resource
from governance.values import UNKNOWN, Unknown, as_list, get

DEP, HPA, GW, ROUTE = objects.DEPLOYMENT, deployments.HPA_TYPES[0], traffic.GATEWAY_TYPE, traffic.HTTPROUTE_TYPE


def scan_autoscaled(resources):
    hpas = [r for r in resources if r.type in deployments.HPA_TYPES]
    for d in deployments.production_deployments(resources):
        name, ns = objects.name_of(d), objects.namespace_of(d)
        targeting = []
        for h in hpas:
            try:
                if (objects.namespace_of(h) == ns and get(h.props, "spec.scaleTargetRef.kind") == "Deployment"
                        and get(h.props, "spec.scaleTargetRef.name") == name):
                    targeting.append(h)
            except Unknown:
                continue
        if not targeting:
            yield f"{name}: no HorizontalPodAutoscaler targets this production Deployment", d.urn
            continue
        lows = []
        for h in targeting:
            try:
                minimum = get(h.props, "spec.minReplicas", 1)
            except Unknown:
                continue
            if float(minimum) < deployments.MIN_REPLICAS:
                lows.append((h, minimum))
        if lows and len(lows) == len(targeting):
            h, minimum = lows[0]
            yield (f"{name}: HorizontalPodAutoscaler {objects.name_of(h)} has minReplicas {minimum:g}, "
                   f"needs at least {deployments.MIN_REPLICAS}"), d.urn


def scan_only_redirects(routes, gateway, listener):
    attached = []
    for route in routes:
        for ref in as_list(get(route.props, "spec.parentRefs")):
            if get(ref, "name") == objects.name_of(gateway) and get(ref, "sectionName") in (None, listener):
                attached.append(route)
    if not attached:
        return False
    for route in attached:
        for rule in as_list(get(route.props, "spec.rules")) or [{}]:
            filters = as_list(get(rule, "filters"))
            if not any(get(f, "type") == "RequestRedirect" and get(f, "requestRedirect.scheme") == "https"
                       for f in filters):
                return False
    return True


def scan_listeners(resources):
    routes = [r for r in resources if r.type == ROUTE]
    for r in resources:
        try:
            if r.type == GW:
                for listener in as_list(get(r.props, "spec.listeners")):
                    protocol = str(get(listener, "protocol", "")).upper()
                    if protocol in ("HTTPS", "TLS"):
                        continue
                    if protocol == "HTTP" and scan_only_redirects(routes, r, get(listener, "name")):
                        continue
                    yield (f"{objects.name_of(r)}: listener {get(listener, 'name')} speaks {protocol}; use HTTPS or TLS "
                           "(HTTP only with routes that redirect to https)"), r.urn
        except Unknown:
            continue


def maybe(rng, value, unknown=0.08):
    return UNKNOWN if rng.random() < unknown else value


def random_stack(rng):
    names = ["api", "backend", "worker"]
    out = []
    for i in range(rng.randint(1, 6)):
        out.append(Resource(DEP, f"urn:dep-{i}", f"dep-{i}", {"metadata": {
            "name": maybe(rng, rng.choice(names)), "namespace": rng.choice(["production", "production", "default"])}}))
    for i in range(rng.randint(0, 6)):
        ref = {"kind": maybe(rng, rng.choice(["Deployment", "Deployment", "StatefulSet"])),
               "name": maybe(rng, rng.choice(names))}
        spec = {"scaleTargetRef": ref}
        if rng.random() < 0.8:
            spec["minReplicas"] = maybe(rng, rng.choice([1, 2, 3, 5]))
        out.append(Resource(HPA, f"urn:hpa-{i}", f"hpa-{i}", {
            "metadata": {"name": f"hpa-{i}", "namespace": maybe(rng, rng.choice(["production", "default"]))},
            "spec": spec}))
    gateways = ["public", "internal"]
    for i, g in enumerate(gateways[:rng.randint(1, 2)]):
        listeners = [{"name": maybe(rng, n), "protocol": maybe(rng, rng.choice(["HTTP", "HTTP", "HTTPS", "TCP"]))}
                     for n in rng.sample(["http", "https", "alt"], rng.randint(1, 3))]
        out.append(Resource(GW, f"urn:gw-{i}", g, {"metadata": {"name": maybe(rng, g, 0.03)},
                                                     "spec": {"listeners": maybe(rng, listeners, 0.03)}}))
    for i in range(rng.randint(0, 5)):
        refs = [{"name": maybe(rng, rng.choice(gateways), 0.04)} for _ in range(rng.randint(0, 2))]
        for ref in refs:
            if rng.random() < 0.6:
                ref["sectionName"] = maybe(rng, rng.choice(["http", "https", "alt"]))
        rules = [{"filters": [{"type": rng.choice(["RequestRedirect", "RequestRedirect", "URLRewrite"]),
                               "requestRedirect": {"scheme": maybe(rng, rng.choice(["https", "https", "http"]))}}]}
                 for _ in range(rng.randint(0, 2))]
        out.append(Resource(ROUTE, f"urn:route-{i}", f"route-{i}", {"spec": {
            "parentRefs": maybe(rng, refs, 0.03), "rules": maybe(rng, rules, 0.03)}}))
    rng.shuffle(out)
    return out


@pytest.mark.parametrize("seed", range(4))
def test_indexed_checks_match_the_scans_on_random_stacks(seed):
    rng = random.Random(seed)
    ctx = context()
    fired = 0
    for _ in range(500):
        stack = random_stack(rng)
        expected = list(scan_autoscaled(stack)) + list(scan_listeners(stack))
        got = list(deployments.production_deployments_autoscaled(stack, ctx)) + list(traffic.listeners_tls(stack, ctx))
        assert got == expected, stack
        fired += bool(expected)
    assert 50 < fired < 490  # the random stacks both pass and fail


def test_one_low_hpa_beside_a_sufficient_one_passes_and_all_low_names_the_first():
    dep = Resource(DEP, "urn:d", "d", {"metadata": {"name": "api", "namespace": "production"}})

    def hpa(name, minimum):
        return Resource(HPA, f"urn:{name}", name, {"metadata": {"name": name, "namespace": "production"}, "spec": {
            "scaleTargetRef": {"kind": "Deployment", "name": "api"}, "minReplicas": minimum}})
    ctx = context()
    assert list(deployments.production_deployments_autoscaled([dep, hpa("a", 1), hpa("b", 3)], ctx)) == []
    assert list(deployments.production_deployments_autoscaled([dep, hpa("a", 2), hpa("b", 1)], ctx)) == [
        ("api: HorizontalPodAutoscaler a has minReplicas 2, needs at least 3", "urn:d")]


def test_an_unknown_route_parent_skips_http_listeners_rather_than_failing_them():
    gw = Resource(GW, "urn:gw", "public", {"metadata": {"name": "public"},
                                            "spec": {"listeners": [{"name": "http", "protocol": "HTTP"}]}})
    route = Resource(ROUTE, "urn:r", "r", {"spec": {"parentRefs": UNKNOWN}})
    assert list(traffic.listeners_tls([gw, route], context())) == []
    assert list(traffic.listeners_tls([gw], context())) == [
        ("public: listener http speaks HTTP; use HTTPS or TLS (HTTP only with routes that redirect to https)", "urn:gw")]
