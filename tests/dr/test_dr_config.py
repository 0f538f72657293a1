"""The dr.* keys: a recovery site's state and failback are checked before anything is registered,
and standby sizing is a pure function of the configured sizes."""
from __future__ import annotations

import pytest

from leadgen.config import ConfigError, load
from platformctl.project import stack_config


def cfg(stack="production-dr", **overrides):
    raw = stack_config(stack)
    raw.update({f"leadgen:{k}": str(v) for k, v in overrides.items()})
    return load("leadgen", stack, raw)


def test_the_recovery_stack_is_a_standby_of_production_in_another_region():
    c = cfg()
    assert (c.dr.site, c.dr.state, c.dr.primary_stack, c.core.region) == ("recovery", "standby", "production", "us-west-2")
    assert c.core.is_production and c.dr.standby and c.dr.primary_weight == 100


def test_standby_runs_every_group_at_standby_size_and_active_restores_the_configured_sizes():
    standby = cfg()
    sizes = {g.name: (g.min_size, g.desired_size, g.max_size) for g in standby.dr.node_groups(standby.cluster.node_groups)}
    assert sizes == {"general": (1, 1, 10), "spot": (1, 1, 10), "gpu": (0, 0, 4)}
    active = cfg(**{"dr.state": "active"})
    assert active.dr.node_groups(active.cluster.node_groups) == list(active.cluster.node_groups)
    # Failover leaves the pool alone: the decision, not a record change, moves clients.
    assert active.dr.primary_weight == 100
    assert cfg(**{"dr.state": "handback"}).dr.primary_weight == 100
    assert standby.dr.workload(standby.workloads["api"]).min_replicas == 3


@pytest.mark.parametrize("overrides, message", [
    ({"dr.state": "failed-over"}, "leadgen:dr.state (\"failed-over\") must be one of: standby, active, handback in "
                                  "Pulumi.production-dr.yaml"),
    ({"dr.primaryStack": "production-dr"}, "leadgen:dr.primaryStack ('production-dr') must name another stack in "
                                           "Pulumi.production-dr.yaml"),
    ({"dr.publicHostname": ""}, "leadgen:dr.publicHostname is required on a recovery site in Pulumi.production-dr.yaml"),
    ({"dr.publicHostname": "api-usw2.insurance-lead-gen.com"},
     "leadgen:dr.publicHostname ('api-usw2.insurance-lead-gen.com') must differ from leadgen:traffic.hostname, "
     "this region's origin, in Pulumi.production-dr.yaml"),
    ({"dr.standbyNodes": 0}, "leadgen:dr.standbyNodes (0) must be at least 1: a standby with no node cannot scale its "
                             "workloads in Pulumi.production-dr.yaml"),
    ({"dr.healthCheckPath": "health"}, "leadgen:dr.healthCheckPath ('health') must be a URL path like /health in "
                                       "Pulumi.production-dr.yaml"),
])
def test_each_bad_value_is_one_line_naming_key_and_file(overrides, message):
    with pytest.raises(ConfigError) as err:
        cfg(**overrides)
    assert str(err.value) == message


def test_each_region_has_its_own_origin_and_both_answer_the_public_name():
    primary, recovery = cfg("production"), cfg()
    assert primary.dr.public_hostname == recovery.dr.public_hostname == "api.insurance-lead-gen.com"
    assert (primary.traffic.hostname, recovery.traffic.hostname) == (
        "api-use1.insurance-lead-gen.com", "api-usw2.insurance-lead-gen.com")


@pytest.mark.parametrize("overrides, message", [
    ({"dr.publicHostname": "api-use1.insurance-lead-gen.com"},
     "leadgen:dr.publicHostname ('api-use1.insurance-lead-gen.com') must differ from leadgen:traffic.hostname, "
     "this region's origin, in Pulumi.production.yaml"),
    ({"dr.publicHostname": "api.example.com"},
     "leadgen:dr.publicHostname ('api.example.com') must be inside the zone leadgen:traffic.zoneName "
     "('insurance-lead-gen.com') in Pulumi.production.yaml"),
])
def test_a_primary_public_name_is_checked_too(overrides, message):
    with pytest.raises(ConfigError) as err:
        cfg("production", **overrides)
    assert str(err.value) == message


def test_a_primary_site_refuses_the_recovery_keys():
    with pytest.raises(ConfigError) as err:
        cfg("production", **{"dr.state": "active"})
    assert str(err.value) == ("leadgen:dr.state (active) applies only to a recovery site (leadgen:dr.site: recovery) "
                              "in Pulumi.production.yaml")
    assert not cfg("production").dr.is_recovery
