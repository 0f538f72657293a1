"""Render extension: the traffic objects of BOTH routers, each checked by the tool that consumes it.

The stack's own router comes from this run; the other one from a second run of the program with
only `traffic.router` changed, so a team moving off ingress-nginx sees both paths valid. Built-in
kinds go through kubernetes-validate --strict, custom resources through the published CRD
schemas in ../shared/crds. Written to `traffic/<router>/<kind>-<namespace>-<name>.yaml`; a failure
is one line naming the object and nothing is swapped into place (render writes to a side folder).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from platformctl.project import ROOT, stack_config
from platformctl.render import file_name, is_k8s_object, manifest

K8S_VERSION = "1.35.0"
CRDS = ROOT.parent / "shared" / "crds"
ROUTERS = ("gateway-api", "ingress-nginx")
# Envoy Gateway's own CRDs have no published schema copy here; their fields are asserted in tests.
UNCHECKED_KINDS = {("gateway.envoyproxy.io/v1alpha1", "EnvoyProxy"),
                   ("gateway.envoyproxy.io/v1alpha1", "HTTPRouteFilter")}
TRAFFIC_COMPONENT = "leadgen:traffic:Traffic"
# Objects of the domain built outside the Traffic component (beside the stable `api`).
EXTRA_NAMES = {"api-canary", "allow-from-gateway"}


def traffic_manifests(resources: list[dict]) -> list[dict]:
    by_urn = {r["urn"]: r for r in resources}

    def under_traffic(r):
        while r is not None:
            if r["type"] == TRAFFIC_COMPONENT:
                return True
            r = by_urn.get(r["parent"])
        return False

    out = []
    for r in resources:
        if is_k8s_object(r) and (under_traffic(r) or (r["inputs"].get("metadata") or {}).get("name") in EXTRA_NAMES):
            out.append(manifest(r))
    return out


def router_of(resources: list[dict]) -> str:
    kinds = {m["kind"] for m in traffic_manifests(resources)}
    return "gateway-api" if "Gateway" in kinds else "ingress-nginx"


class _CrdLoader(yaml.SafeLoader):
    """Upstream CRDs may hold a plain `=` scalar, which PyYAML reads as YAML's obsolete value tag."""


_CrdLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


@lru_cache(maxsize=None)
def _crd_schemas() -> dict:
    """(apiVersion, kind) -> openAPIV3Schema for the groups the traffic domain declares."""
    schemas = {}
    paths = [*CRDS.glob("gateway.networking.k8s.io_*.yaml"), *CRDS.glob("cert-manager.io_*.yaml")]
    if not paths:
        raise SystemExit(f"error: traffic: no CRD schemas under {CRDS}")
    for path in sorted(paths):
        for doc in yaml.load_all(path.read_text(), Loader=_CrdLoader):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                for v in doc["spec"]["versions"]:
                    schemas[(f"{doc['spec']['group']}/{v['name']}", doc["spec"]["names"]["kind"])] = \
                        v["schema"]["openAPIV3Schema"]
    return schemas


def validate(m: dict) -> str:
    """Which check `m` passed; raises ValueError with one line when it fails one."""
    import jsonschema
    import kubernetes_validate

    key = (m["apiVersion"], m["kind"])
    where = f"{m['kind']} {m['metadata'].get('namespace', '-')}/{m['metadata']['name']}"
    if key in UNCHECKED_KINDS:
        return "unchecked"
    if key in _crd_schemas():
        try:
            jsonschema.validate(m, _crd_schemas()[key], cls=jsonschema.Draft7Validator)
        except jsonschema.ValidationError as e:
            path = ".".join(str(p) for p in e.absolute_path)
            raise ValueError(f"{where}: {path}: {e.message}") from None
        return "crd-schema"
    group = m["apiVersion"].rpartition("/")[0]
    if "." in group and not group.endswith(".k8s.io"):  # a custom resource we have no schema for
        raise ValueError(f"{where}: no schema for {m['apiVersion']} in {CRDS}")
    try:
        kubernetes_validate.validate(m, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as e:
        path = ".".join(str(p) for p in getattr(e, "path", []))
        raise ValueError(f"{where}: {path}: {e.message}") from None
    return "kubernetes-validate"


def _stack(resources: list[dict]) -> str:
    return resources[0]["urn"].split(":")[2]


def _other_run(stack: str, router: str) -> list[dict]:
    from platformctl.program.engine import run_program

    config = stack_config(stack)
    config["leadgen:traffic.router"] = router
    return run_program(stack, config=config).resources


def render(resources: list[dict], out_dir: Path) -> list[Path]:
    try:
        import jsonschema  # noqa: F401
        import kubernetes_validate  # noqa: F401
    except ImportError:
        print("traffic: not validated: kubernetes-validate and jsonschema are dev dependencies (make dev-deps)")
        return []
    current = router_of(resources)
    runs = {current: resources}
    for router in ROUTERS:
        if router not in runs:
            runs[router] = _other_run(_stack(resources), router)
    written: list[Path] = []
    for router in ROUTERS:
        target = out_dir / "traffic" / router
        target.mkdir(parents=True, exist_ok=True)
        checks: dict[str, int] = {}
        for m in traffic_manifests(runs[router]):
            try:
                check = validate(m)
            except ValueError as e:
                raise SystemExit(f"error: traffic ({router}): {e}")
            checks[check] = checks.get(check, 0) + 1
            path = target / file_name(m)
            path.write_text(yaml.safe_dump(m, sort_keys=False, width=120))
            written.append(path)
        note = " (this stack's router)" if router == current else ""
        print(f"traffic: {router}{note} validated: " + ", ".join(
            f"{n} by {c}" for c, n in sorted(checks.items()) if c != "unchecked")
            + (f"; {checks['unchecked']} without a published schema" if "unchecked" in checks else ""))
    return written
