"""`platformctl render` shows both routers validated, whichever router the stack runs."""
import pytest

from platformctl.render import traffic as render_traffic
from tests.helpers import run_program


@pytest.fixture(scope="module")
def production():
    return run_program("production")


def test_render_writes_and_validates_both_routers(production, tmp_path, capsys):
    written = render_traffic.render(production.resources, tmp_path)
    out = capsys.readouterr().out
    assert "traffic: gateway-api (this stack's router) validated: 7 by crd-schema, 4 by kubernetes-validate" in out
    assert "traffic: ingress-nginx validated: 3 by crd-schema, 6 by kubernetes-validate" in out
    names = {p.relative_to(tmp_path).as_posix() for p in written}
    assert "traffic/gateway-api/httproute-production-api.yaml" in names
    assert "traffic/ingress-nginx/ingress-production-api-canary.yaml" in names
    assert not any(n.startswith("traffic/ingress-nginx/gateway") for n in names)


def test_a_bad_object_is_one_line_naming_it(production):
    ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
               "metadata": {"name": "api-canary", "namespace": "production"},
               "spec": {"rules": [{"host": "api.insurance-lead-gen.com", "http": {"paths": [
                   {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "api-canary",
                                                                           "port": {"number": "http"}}}}]}}]}}
    with pytest.raises(ValueError) as caught:
        render_traffic.validate(ingress)
    assert str(caught.value).startswith("Ingress production/api-canary: ")
    assert "\n" not in str(caught.value)
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
             "metadata": {"name": "api", "namespace": "production"},
             "spec": {"rules": [{"backendRefs": [{"name": "api", "port": 3000, "weight": -1}]}]}}
    with pytest.raises(ValueError, match=r"^HTTPRoute production/api: spec\.rules\.0\.backendRefs\.0\.weight: "):
        render_traffic.validate(route)
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    with pytest.raises(ValueError, match="no schema for example.com/v1"):
        render_traffic.validate(unknown)


def test_router_of_reads_the_run(production):
    assert render_traffic.router_of(production.resources) == "gateway-api"
