"""The pins in leadgen/versions.py are the only place a chart, add-on or image version is written."""
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
