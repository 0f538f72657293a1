"""The pins in leadgen/versions.py are the only place a chart, add-on or image version is written."""
import dataclasses
import re
from pathlib import Path

import pytest

from leadgen import versions
from leadgen.config.cluster import SUPPORTED_VERSIONS

ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / "leadgen" / "versions.py"


def _sources() -> list[Path]:
    files = [ROOT / "__main__.py", *sorted((ROOT / "components").rglob("*.py")),
             *sorted((ROOT / "leadgen").rglob("*.py"))]
    return [f for f in files if f != HOME]


def test_every_pin_is_a_complete_record():
    for pin in versions.PINS:
        assert pin.kind in versions.KINDS, pin
        assert pin.name and pin.version and pin.source, pin
        # A date or a confirming page is either given or says it was not checked, never blank.
        assert pin.released and pin.confirmed_by, pin
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", pin.released) or pin.released == versions.UNCONFIRMED, pin
        assert pin.confirmed_by.startswith("https://") or pin.confirmed_by == versions.UNCONFIRMED, pin


def test_a_pin_must_be_a_fixed_version():
    with pytest.raises(ValueError, match="pin x: 'latest' is not a fixed version"):
        versions.Pin(name="x", version="latest", kind="chart", source="https://example.com")
    with pytest.raises(ValueError, match="kind 'binary'"):
        versions.Pin(name="x", version="1.0.0", kind="binary", source="https://example.com")


def _pinned_versions_in(text: str) -> list[str]:
    """Pinned versions written as a quoted string or a path segment (a release URL)."""
    return sorted(v for v in {p.version for p in versions.PINS}
                  if re.search(r"[\"'/]" + re.escape(v) + r"[\"'/]", text))


def test_no_component_or_module_hard_codes_a_pinned_version():
    found = [f"{path.relative_to(ROOT)}: {v}" for path in _sources()
             for v in _pinned_versions_in(path.read_text())]
    assert found == []


def test_the_scan_sees_the_forms_pins_took_before_they_moved_here():
    cert_manager, gateway_api = versions.CERT_MANAGER.version, versions.GATEWAY_API_CRDS.version
    assert _pinned_versions_in(f'CERT_MANAGER = ("https://charts.jetstack.io", "cert-manager", "{cert_manager}")') \
        == [cert_manager]
    assert _pinned_versions_in(f'URL = "https://github.com/x/releases/download/{gateway_api}/install.yaml"') \
        == [gateway_api]
    assert _pinned_versions_in('engine_version = "17.6"') == []


def test_every_supported_kubernetes_version_has_its_addons_and_autoscaler_image():
    assert versions.KUBERNETES_MINORS == SUPPORTED_VERSIONS
    for minor in SUPPORTED_VERSIONS:
        assert set(versions.eks_addons(minor)) == {
            "vpc-cni", "coredns", "kube-proxy", "aws-ebs-csi-driver", "eks-pod-identity-agent"}
        # Cluster-autoscaler's minor must match the cluster's.
        assert versions.cluster_autoscaler_image_tag(minor).startswith(f"v{minor}.")


def test_releases_install_the_pinned_charts():
    from components.monitoring import CHARTS

    assert all(pin.kind == "chart" for pin in CHARTS.values())
    assert {p.name for p in CHARTS.values()} <= {p.name for p in versions.PINS if p.kind == "chart"}


# Pages that list add-on versions per Kubernetes minor: a pin confirmed by one names its minor,
# and the page's table row for that minor names the version.
VERSION_TABLE_PAGES = {
    "https://docs.aws.amazon.com/eks/latest/userguide/managing-coredns.html",
    "https://docs.aws.amazon.com/eks/latest/userguide/managing-kube-proxy.html",
}
# Pins whose version no upstream page confirms yet, each with why it is kept and how to resolve
# it. Keyed by version: bumping one of these without a source fails like any other pin.
NOT_YET_CONFIRMED = {
    ("metrics-server", "3.14.0"): "seen only in Renovate PRs; newest upstream tag 3.13.1",
    ("gateway-helm", "v1.9.1"): "seen only in Renovate PRs; newest stored upstream tag v1.9.0",
    ("envoy-gateway-crds", "v1.9.1"): "moves with gateway-helm",
    # eks-charts tags the repository, not each chart: its tag v0.0.242 carries Chart.yaml 3.5.0.
    ("aws-load-balancer-controller", "3.5.0"): "confirmed by the eks-charts repository tag v0.0.242",
    # AWS publishes no per-minor table for these add-ons for 1.35/1.36; resolve with
    # `aws eks describe-addon-versions --kubernetes-version <minor> --addon-name <name>`.
    ("vpc-cni", "v1.22.4-eksbuild.3"): "third-party records of a 1.36 cluster only",
    ("aws-ebs-csi-driver", "v1.63.1-eksbuild.1"): "third-party records of a 1.36 cluster only",
    ("eks-pod-identity-agent", "v1.3.10-eksbuild.3"): "third-party records of a 1.36 cluster only",
}


def names_version(url: str, version: str) -> bool:
    """Whether a confirming URL names exactly this version (with or without its leading v)."""
    bare = re.escape(version.removeprefix("v"))
    return re.search(rf"(?<![0-9A-Za-z.])v?{bare}(?![0-9A-Za-z.])|(?<=-){bare}(?![0-9.])", url) is not None


def confirmation_problem(pin: versions.Pin) -> str | None:
    if (pin.name, pin.version) in NOT_YET_CONFIRMED:
        return None
    if pin.confirmed_by == versions.UNCONFIRMED:
        return f"{pin.name} {pin.version}: no confirmed_by source"
    if pin.confirmed_by in VERSION_TABLE_PAGES:
        return None if pin.kind == "addon" and pin.kubernetes else f"{pin.name}: a per-minor table confirms add-ons only"
    if not names_version(pin.confirmed_by, pin.version):
        return f"{pin.name} {pin.version}: confirmed_by {pin.confirmed_by} names another version (stale)"
    if pin.released == versions.UNCONFIRMED:
        return f"{pin.name} {pin.version}: confirmed without its release date"
    return None


def test_every_pin_names_the_source_that_confirms_its_version():
    assert [p for p in (confirmation_problem(pin) for pin in versions.PINS) if p] == []


def test_a_bump_without_its_source_fails():
    bumped = dataclasses.replace(versions.CERT_MANAGER, version="v1.22.0")
    assert confirmation_problem(bumped) == (
        f"cert-manager v1.22.0: confirmed_by {versions.CERT_MANAGER.confirmed_by} names another version (stale)")
    unsourced = dataclasses.replace(versions.LOKI, version="18.12.0", confirmed_by=versions.UNCONFIRMED)
    assert confirmation_problem(unsourced) == "loki 18.12.0: no confirmed_by source"
    vpc_cni = next(p for p in versions.PINS if p.name == "vpc-cni")
    assert confirmation_problem(dataclasses.replace(vpc_cni, version="v1.23.0-eksbuild.1")) == \
        "vpc-cni v1.23.0-eksbuild.1: no confirmed_by source"
    assert names_version("https://github.com/x/releases/tag/v1.21.1", "v1.21.1")
    assert not names_version("https://github.com/x/releases/tag/v1.21.10", "v1.21.1")
    assert names_version("https://github.com/x/releases/tag/loki-18.11.0", "18.11.0")
