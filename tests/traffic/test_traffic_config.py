"""Bad traffic and canary config: one line naming the key and the stack file; nothing registered."""
import pytest

from leadgen.config import ConfigError
from tests.helpers import run_program

P = "leadgen:"
TAG = {f"{P}canary.tag": "2.15.0"}

CASES = [
    # Item 5 of the issue: weight not a step, weight above 0 without a canary image, the canary
    # image equal to the stable one, the hostname outside the zone.
    ({f"{P}canary.weight": "25", **TAG},
     "leadgen:canary.weight (25) must be one of leadgen:canary.steps (0, 10, 50, 100) in Pulumi.production.yaml"),
    ({f"{P}canary.weight": "10"},
     "leadgen:canary.tag must be set when leadgen:canary.weight is 10: a weight above 0 sends requests to the "
     "canary image in Pulumi.production.yaml"),
    ({f"{P}canary.weight": "100"},
     "leadgen:canary.tag must be set when leadgen:canary.weight is 100: a weight above 0 sends requests to the "
     "canary image in Pulumi.production.yaml"),
    ({f"{P}canary.weight": "50", f"{P}canary.tag": "2.14.0"},
     "leadgen:canary.tag ('2.14.0') must differ from leadgen:workloads.api.tag; after a promote remove it with "
     "`pulumi config rm canary.tag` in Pulumi.production.yaml"),
    # The stable release under its digest is still the stable release.
    ({f"{P}canary.weight": "50", f"{P}canary.tag": "2.14.0@sha256:" + "b" * 64},
     f"leadgen:canary.tag ('2.14.0@sha256:{'b' * 64}') must differ from leadgen:workloads.api.tag; after a promote "
     "remove it with `pulumi config rm canary.tag` in Pulumi.production.yaml"),
    ({f"{P}traffic.hostname": "api.example.com"},
     "leadgen:traffic.hostname ('api.example.com') must be inside the zone leadgen:traffic.zoneName "
     "('insurance-lead-gen.com') in Pulumi.production.yaml"),
    ({f"{P}traffic.hostname": "api.insurance-lead-gen.com.evil.net"},
     "leadgen:traffic.hostname ('api.insurance-lead-gen.com.evil.net') must be inside the zone "
     "leadgen:traffic.zoneName ('insurance-lead-gen.com') in Pulumi.production.yaml"),
    # The rest of the section.
    ({f"{P}canary.weight": "ten"}, 'leadgen:canary.weight ("ten") must be an integer in Pulumi.production.yaml'),
    ({f"{P}canary.steps": [10, 50, 100]},
     "leadgen:canary.steps ([10, 50, 100]) must start at 0 (rollback) and end at 100 (blue-green) in "
     "Pulumi.production.yaml"),
    ({f"{P}canary.steps": [0, 50, 25, 100]},
     "leadgen:canary.steps ([0, 50, 25, 100]) must be strictly ascending in Pulumi.production.yaml"),
    ({f"{P}canary.tag": "latest"},
     'leadgen:canary.tag ("latest") must be a pinned version: `latest` makes rollouts unrepeatable in '
     "Pulumi.production.yaml"),
    ({f"{P}canary.replicas": "0", **TAG},
     "leadgen:canary.replicas (0) must be between 1 and 10 in Pulumi.production.yaml"),
    ({f"{P}traffic.router": "traefik"},
     'leadgen:traffic.router ("traefik") must be one of: gateway-api, ingress-nginx in Pulumi.production.yaml'),
    ({f"{P}traffic.zoneId": None}, "leadgen:traffic.zoneId is required but not set in Pulumi.production.yaml"),
    ({f"{P}traffic.zoneId": "insurance-lead-gen.com"},
     "leadgen:traffic.zoneId ('insurance-lead-gen.com') is not a Route53 hosted zone ID (Z...) in "
     "Pulumi.production.yaml"),
    ({f"{P}traffic.hostname": "api_v2.insurance-lead-gen.com"},
     "leadgen:traffic.hostname ('api_v2.insurance-lead-gen.com') is not a DNS hostname in Pulumi.production.yaml"),
    ({f"{P}traffic.acmeEmail": "platform-team"},
     "leadgen:traffic.acmeEmail ('platform-team') is not an email address in Pulumi.production.yaml"),
    ({f"{P}traffic.certificateRenewBefore": "2160h"},
     "leadgen:traffic.certificateRenewBefore (2160h) must be shorter than leadgen:traffic.certificateDuration "
     "(2160h) in Pulumi.production.yaml"),
    ({f"{P}traffic.certificateDuration": "90d"},
     "leadgen:traffic.certificateDuration ('90d') must be a whole number of hours, such as \"720h\" in "
     "Pulumi.production.yaml"),
    ({f"{P}canary.wieght": "10"},
     "leadgen:canary.wieght is not a known key; did you mean leadgen:canary.weight? in Pulumi.production.yaml"),
]


@pytest.mark.parametrize("overrides,message", CASES, ids=[f"{next(iter(c[0]))}#{i}" for i, c in enumerate(CASES)])
def test_invalid_traffic_config_names_the_key_and_registers_nothing(overrides, message):
    with pytest.raises(ConfigError) as caught:
        run_program("production", overrides)
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)
    assert caught.value.registered == []


def test_staging_errors_name_the_staging_file():
    with pytest.raises(ConfigError) as caught:
        run_program("staging", {f"{P}canary.weight": "50"})
    assert str(caught.value).endswith(" in Pulumi.staging.yaml")
    assert caught.value.registered == []


def test_object_spelling_reaches_the_same_validation():
    # `pulumi config set --path canary.weight 25` writes an object; it must fail the same way.
    with pytest.raises(ConfigError) as caught:
        run_program("production", {f"{P}canary": {"weight": 25, "tag": "2.15.0"}})
    assert str(caught.value).startswith("leadgen:canary.weight (25) must be one of")
