"""Every HPA depends on metrics-server and all north-south traffic on Envoy Gateway: a first deploy
must not hang on a chart version the repository does not serve."""
import pytest

from leadgen import versions


@pytest.mark.parametrize("pin", [versions.METRICS_SERVER, versions.ENVOY_GATEWAY, versions.ENVOY_GATEWAY_CRDS],
                         ids=lambda p: p.name)
def test_pin_is_confirmed_upstream(pin):
    assert pin.confirmed_by != versions.UNCONFIRMED and pin.released != versions.UNCONFIRMED, pin.name
    # The confirming page is the upstream project's own tag of exactly this version.
    assert pin.confirmed_by.endswith(pin.version), pin.confirmed_by


def test_controller_and_its_crds_move_together():
    assert versions.ENVOY_GATEWAY.version == versions.ENVOY_GATEWAY_CRDS.version
