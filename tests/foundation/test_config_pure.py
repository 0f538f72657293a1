"""Config validation and CIDR maths, without the engine."""
import pytest

from leadgen.cidr import CidrError, check_subnets, split_subnets
from leadgen.config import ConfigError, load
from leadgen.config.base import Key, Values, flatten
from platformctl.project import stack_config


def test_split_subnets_are_consecutive_blocks():
    assert split_subnets("10.0.0.0/16", 3, 19) == ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"]


def test_check_subnets_rejects_outside_and_overlap():
    with pytest.raises(CidrError, match="outside the VPC"):
        check_subnets("10.0.0.0/16", ["10.1.0.0/24"])
    with pytest.raises(CidrError, match="overlaps 10.0.0.0/23"):
        check_subnets("10.0.0.0/16", ["10.0.0.0/23", "10.0.1.0/24"])


def test_flatten_accepts_path_objects_and_prefers_them_over_flat_defaults():
    keys = ["cluster.nodeGroups.general.maxSize", "cluster.version"]
    raw = {"leadgen:cluster.nodeGroups.general.maxSize": "10",
           "leadgen:cluster": '{"nodeGroups": {"general": {"maxSize": 4}}}', "aws:region": "x"}
    assert flatten(raw, keys) == {"cluster.nodeGroups.general.maxSize": 4}


def test_values_types_and_error_line():
    v = Values("production", {"leadgen:n": "three"}, [Key(path="n", type="integer", default=1, description="a number")])
    with pytest.raises(ConfigError) as e:
        v.get("n")
    assert str(e.value) == 'leadgen:n ("three") must be an integer in Pulumi.production.yaml'


@pytest.mark.parametrize("stack", ["production", "staging", "dev"])
def test_every_stack_file_validates(stack):
    cfg = load("leadgen", stack, stack_config(stack))
    assert cfg.stack == stack and cfg.tags["environment"] == cfg.core.environment


def test_production_is_sized_as_the_runbook_says():
    cfg = load("leadgen", "production", stack_config("production"))
    general = next(g for g in cfg.cluster.node_groups if g.name == "general")
    assert (general.min_size, general.max_size) == (3, 10)
    assert cfg.network.nat_per_az and cfg.core.region == "us-east-1"
    assert {g.name for g in cfg.cluster.node_groups} == {"general", "spot", "gpu"}
    api = cfg.workloads["api"]
    assert (api.min_replicas, api.max_replicas, api.target_cpu) == (3, 10, 70)
    assert (api.cpu_request, api.memory_request, api.cpu_limit, api.memory_limit) == ("500m", "512Mi", "1000m", "1Gi")


def test_derived_subnets_are_inside_the_vpc_and_disjoint():
    cfg = load("leadgen", "production", stack_config("production"))
    subnets = list(cfg.network.private_subnets) + list(cfg.network.public_subnets)
    check_subnets(cfg.network.vpc_cidr, subnets)  # raises if any is outside or overlapping
    assert len(subnets) == 6


@pytest.mark.parametrize("version", ["1.35", "1.36"])
def test_eks_versions_in_standard_support_are_allowed(version):
    raw = {**stack_config("production"), "leadgen:cluster.version": version}
    assert load("leadgen", "production", raw).cluster.version == version


def test_eks_1_34_is_refused_days_before_it_leaves_standard_support():
    raw = {**stack_config("production"), "leadgen:cluster.version": "1.34"}
    with pytest.raises(ConfigError) as e:
        load("leadgen", "production", raw)
    assert str(e.value) == ('leadgen:cluster.version ("1.34") must be one of: 1.35, 1.36 '
                            'in Pulumi.production.yaml')


@pytest.mark.parametrize("stack", ["production", "staging", "dev"])
def test_every_stack_keeps_control_plane_and_database_logs_a_year(stack):
    # The pack's log-group guardrail (checkov CKV_AWS_338) is mandatory in every stack.
    cfg = load("leadgen", stack, stack_config(stack))
    assert cfg.cluster.log_retention_days >= 365
    assert cfg.data.postgres.log_retention_days >= 365
