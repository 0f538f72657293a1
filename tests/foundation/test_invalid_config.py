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
    ({f"{P}workloads.api.tag": "2.14.0@sha256:23b2d35f"},
     "leadgen:workloads.api.tag ('2.14.0@sha256:23b2d35f') has a malformed digest: expected <tag>@sha256: and 64 "
     "lower-case hex digits, as `aws ecr describe-images` reports it in Pulumi.production.yaml"),
    ({f"{P}workloads.api.tag": "@sha256:" + "a" * 64},
     f"leadgen:workloads.api.tag ('@sha256:{'a' * 64}') is not a valid image tag in Pulumi.production.yaml"),
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
    # --- values checked as the service that consumes them checks them ---
    ({f"{P}observability.slos": [{"name": "a", "service": "api", "objective": 99, "sli": "availability",
                                  "window": "1" + "0" * 30 + "d"}]},
     "leadgen:observability.slos[0].window ('1000000000000000000000000000000d') is not a duration, e.g. 28d in "
     "Pulumi.production.yaml"),
    ({f"{P}observability.slos": [{"name": "a", "service": "api", "objective": 99, "sli": "availability",
                                  "window": "13w"}]},
     "leadgen:observability.slos[0].window ('13w') must be at most 90d in Pulumi.production.yaml"),
    ({f"{P}observability.maintenanceWindows": [{"name": "m", "daysOfMonth": ["0"]}]},
     "leadgen:observability.maintenanceWindows[0].daysOfMonth ('0') holds day 0: days run 1 to 31, or -1 (the "
     "last) to -31 in Pulumi.production.yaml"),
    ({f"{P}observability.maintenanceWindows": [{"name": "m", "weekdays": ["saturday:monday"]}]},
     "leadgen:observability.maintenanceWindows[0].weekdays ('saturday:monday') ends before it starts in "
     "Pulumi.production.yaml"),
    ({f"{P}observability.maintenanceWindows": [{"name": "m", "years": ["2027:2026"]}]},
     "leadgen:observability.maintenanceWindows[0].years ('2027:2026') ends before it starts in Pulumi.production.yaml"),
    ({f"{P}observability.prometheusRetention": "15d\n"},
     "leadgen:observability.prometheusRetention ends with a line break; one line of text is expected in "
     "Pulumi.production.yaml"),
    ({f"{P}observability.prometheusStorageGb": "100000000000"},
     "leadgen:observability.prometheusStorageGb (100000000000) must be between 10 and 16384 (the largest gp3 "
     "volume) in Pulumi.production.yaml"),
    ({f"{P}workloads.api.maxReplicas": "100000000000000000000"},
     "leadgen:workloads.api.maxReplicas (100000000000000000000) is out of range: at most 9007199254740992 in "
     "Pulumi.production.yaml"),
    ({f"{P}workloads.api.maxReplicas": "500"},
     "leadgen:workloads.api.maxReplicas (500) must be at most 100 in Pulumi.production.yaml"),
    ({f"{P}workloads.api.cpuRequest": "2"},
     "leadgen:workloads.api.cpuRequest ('2') must not exceed cpuLimit ('1000m') in Pulumi.production.yaml"),
    ({f"{P}workloads.backend.memoryRequest": "2Gi"},
     "leadgen:workloads.backend.memoryRequest ('2Gi') must not exceed memoryLimit ('1Gi') in Pulumi.production.yaml"),
    ({f"{P}workloads.api.memoryLimit": "0"},
     "leadgen:workloads.api.memoryLimit ('0') must be more than zero in Pulumi.production.yaml"),
    ({f"{P}workloads.api.memoryLimit": "100000000000000000000Gi"},
     "leadgen:workloads.api.memoryLimit ('100000000000000000000Gi') is more than one container can get (512Gi) in "
     "Pulumi.production.yaml"),
    ({f"{P}workloads.api.tag": "2.10\n"},
     "leadgen:workloads.api.tag ends with a line break; one line of text is expected in Pulumi.production.yaml"),
    ({f"{P}workloads.api.tag": ["2.10"]},
     "leadgen:workloads.api.tag must be text, not a list in Pulumi.production.yaml"),
    ({f"{P}traffic.zoneId": {"id": "Z0451"}},
     "leadgen:traffic.zoneId must be text, not an object in Pulumi.production.yaml"),
    ({f"{P}cluster.adminRoleArns": ["arn:aws:iam::123456789012:role/admin\n"]},
     "leadgen:cluster.adminRoleArns[0] ends with a line break; one line of text is expected in Pulumi.production.yaml"),
    ({f"{P}traffic.acmeEmail": "ops@example.com\x1b[2J"},
     "leadgen:traffic.acmeEmail contains the control character \\x1b; one line of text is expected in "
     "Pulumi.production.yaml"),
    ({f"{P}network.vpcCidr": "224.0.0.0/16"},
     "leadgen:network.vpcCidr (224.0.0.0/16) overlaps the multicast range 224.0.0.0/4, which a VPC cannot use in "
     "Pulumi.production.yaml"),
    ({f"{P}network.vpcCidr": "127.0.0.0/16"},
     "leadgen:network.vpcCidr (127.0.0.0/16) overlaps the loopback range 127.0.0.0/8, which a VPC cannot use in "
     "Pulumi.production.yaml"),
    ({f"{P}network.privateSubnetCidrs": ["10.0.0.1/32", "10.0.32.0/19", "10.0.64.0/19"]},
     "leadgen:network.privateSubnetCidrs[0] (10.0.0.1/32) must be between /16 and /28: AWS subnets are that size "
     "in Pulumi.production.yaml"),
    ({f"{P}cluster.endpointPublicAccessCidrs": ["0.0.0.0/1", "128.0.0.0/1"]},
     "leadgen:cluster.endpointPublicAccessCidrs together open the API endpoint to the whole internet (their union "
     "is 0.0.0.0/0) in Pulumi.production.yaml"),
    ({f"{P}cluster.endpointPublicAccessCidrs": ["8.0.0.0/8", "9.0.0.0/8"]},
     "leadgen:cluster.endpointPublicAccessCidrs together cover 33,554,432 addresses (8.0.0.0/7), more than a /8: "
     "list your runners' and offices' egress ranges in Pulumi.production.yaml"),
    ({"aws:region": "us-east-7"}, "aws:region ('us-east-7') is not an AWS region (e.g. us-east-1) in Pulumi.production.yaml"),
    ({f"{P}drRegion": "mars-north-1"},
     "leadgen:drRegion ('mars-north-1') is not an AWS region (e.g. us-east-1) in Pulumi.production.yaml"),
    ({f"{P}owner": "x" * 257},
     "leadgen:owner is 257 characters long; an AWS tag value takes at most 256 in Pulumi.production.yaml"),
    ({f"{P}costCenter": "ops;rm -rf"},
     "leadgen:costCenter ('ops;rm -rf') holds ';', which AWS tags refuse (letters, digits, spaces and _ . : / = + - @ "
     "only) in Pulumi.production.yaml"),
    ({f"{P}network.azCount": "9" * 5000},
     "leadgen:network.azCount (99999999999999999999...99999999 (5000 characters)) is out of range: at most "
     "9007199254740992 in Pulumi.production.yaml"),
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


@pytest.mark.parametrize("stack", ["Production", "prod_1", "a--b", "x" * 25, "9lives", "dev-"])
def test_stack_names_that_would_make_invalid_aws_names_are_refused(stack):
    from leadgen.config import load
    from platformctl.project import stack_config

    with pytest.raises(ConfigError) as caught:
        load("leadgen", stack, stack_config("production"))
    assert str(caught.value) == (
        f"stack name {stack!r} would make invalid S3, RDS or EKS names: use lower-case letters, digits and single "
        f"hyphens, starting with a letter, at most 24 characters (Pulumi.{stack}.yaml)")
