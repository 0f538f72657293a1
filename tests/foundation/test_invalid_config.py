"""Bad config: one line naming the key and the stack file, and nothing registered."""
import pytest

from leadgen.config import ConfigError
from tests.helpers import run_program

P = "leadgen:"
NG = "leadgen:cluster.nodeGroups"

CASES = [
    # (overrides, expected message)
    ({f"{NG}.general.maxSize": "2"},
     "leadgen:cluster.nodeGroups.general.maxSize (2) must be >= minSize (3) in Pulumi.production.yaml"),
    ({f"{NG}.general.minSize": "three"},
     'leadgen:cluster.nodeGroups.general.minSize ("three") must be an integer in Pulumi.production.yaml'),
    ({f"{NG}.general.maxsise": "4"},
     "leadgen:cluster.nodeGroups.general.maxsise is not a node group field (known: enabled, instanceTypes, "
     "minSize, maxSize, desiredSize, diskSizeGb, capacityType, amiType, gpu, taints, labels) in "
     "Pulumi.production.yaml"),
    ({f"{NG}.batch.minSize": "1"},
     "leadgen:cluster.nodeGroups.batch.instanceTypes is required but not set in Pulumi.production.yaml"),
    ({f"{P}network.privateSubnetCidrs": ["10.1.0.0/19", "10.0.32.0/19", "10.0.64.0/19"]},
     "leadgen:network.privateSubnetCidrs 10.1.0.0/19 is outside the VPC 10.0.0.0/16 in Pulumi.production.yaml"),
    ({f"{P}network.publicSubnetCidrs": ["10.0.0.0/22", "10.0.100.0/22", "10.0.104.0/22"]},
     "leadgen:network.publicSubnetCidrs 10.0.0.0/22 overlaps 10.0.0.0/19 (a private subnet) in Pulumi.production.yaml"),
    ({f"{P}network.privateSubnetCidrs": ["10.0.0.0/19", "10.0.16.0/20", "10.0.64.0/19"]},
     "leadgen:network.privateSubnetCidrs 10.0.16.0/20 overlaps 10.0.0.0/19 in Pulumi.production.yaml"),
    ({f"{P}network.vpcCidr": "10.0.0.0/33"},
     "leadgen:network.vpcCidr ('10.0.0.0/33') is not a valid IPv4 network: '10.0.0.0/33' does not appear to be "
     "an IPv4 or IPv6 network in Pulumi.production.yaml"),
    ({f"{P}network.azCount": "7"}, "leadgen:network.azCount (7) must be between 2 and 6 in Pulumi.production.yaml"),
    ({f"{P}network.natGatewayPerAz": "yes"},
     'leadgen:network.natGatewayPerAz ("yes") must be true or false in Pulumi.production.yaml'),
    ({f"{P}cluster.version": "1.27"},
     'leadgen:cluster.version ("1.27") must be one of: 1.35, 1.36 in Pulumi.production.yaml'),
    ({f"{P}cluster.endpointPublicAccessCidrs": ["0.0.0.0/0"]},
     "leadgen:cluster.endpointPublicAccessCidrs[0] (0.0.0.0/0) opens the API endpoint to the internet; list your "
     "own ranges in Pulumi.production.yaml"),
    ({f"{P}cluster.adminRoleArns": ["admin"]},
     "leadgen:cluster.adminRoleArns[0] ('admin') is not an IAM role ARN in Pulumi.production.yaml"),
    ({f"{NG}.spot.instanceTypes": ["m6i.large"]},
     "leadgen:cluster.nodeGroups.spot.instanceTypes needs at least 2 instance types: spot capacity comes and goes "
     "per type in Pulumi.production.yaml"),
    ({f"{NG}.gpu.minSize": "1"},
     "leadgen:cluster.nodeGroups.gpu.minSize (1) must be 0: GPU nodes scale from zero in Pulumi.production.yaml"),
    ({f"{NG}.general.desiredSize": "12"},
     "leadgen:cluster.nodeGroups.general.desiredSize (12) must lie between minSize (3) and maxSize (10) in "
     "Pulumi.production.yaml"),
    ({f"{NG}.general.instanceTypes": ["large"]},
     "leadgen:cluster.nodeGroups.general.instanceTypes[0] ('large') is not an EC2 instance type in Pulumi.production.yaml"),
    ({f"{NG}.general.enabled": "false"},
     "leadgen:cluster.nodeGroups.general.enabled must be true: the platform's system pods run on the general group "
     "in Pulumi.production.yaml"),
    ({f"{P}workloads.api.tag": "latest"},
     'leadgen:workloads.api.tag ("latest") must be a pinned version: `latest` makes rollouts unrepeatable in '
     "Pulumi.production.yaml"),
    ({f"{P}workloads.api.image": "registry.example.com/leadgen/api:2.0"},
     "leadgen:workloads.api.image ('registry.example.com/leadgen/api:2.0') must not carry a tag or digest; set the "
     "tag key in Pulumi.production.yaml"),
    ({f"{P}workloads.backend.maxReplicas": "2"},
     "leadgen:workloads.backend.maxReplicas (2) must be >= minReplicas (3) in Pulumi.production.yaml"),
    ({f"{P}workloads.api.memoryLimit": "1GB"},
     "leadgen:workloads.api.memoryLimit ('1GB') is not a Kubernetes quantity in Pulumi.production.yaml"),
    ({f"{P}workloads.api.port": "80"},
     "leadgen:workloads.api.port (80) must be an unprivileged port (1024-65535) in Pulumi.production.yaml"),
    ({f"{P}environment": "prod"},
     'leadgen:environment ("prod") must be one of: production, staging, dev in Pulumi.production.yaml'),
    ({f"{P}changeRequest": "change-14"},
     "leadgen:changeRequest ('change-14') must look like CR-2026-014 in Pulumi.production.yaml"),
    ({f"{P}clusterVersion": "1.35"},
     "leadgen:clusterVersion is not a known key; did you mean leadgen:cluster.version? in Pulumi.production.yaml"),
    ({"aws:region": None}, "aws:region is required but not set in Pulumi.production.yaml"),
    ({f"{P}drRegion": "us-east-1"},
     "leadgen:drRegion (us-east-1) must differ from aws:region in Pulumi.production.yaml"),
]


@pytest.mark.parametrize("overrides,message", CASES, ids=[next(iter(c[0])) + f"#{i}" for i, c in enumerate(CASES)])
def test_invalid_config_names_the_key_and_registers_nothing(overrides, message):
    with pytest.raises(ConfigError) as caught:
        run_program("production", overrides)
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)
    assert caught.value.registered == []


def test_at_least_twenty_cases():
    assert len(CASES) >= 20
