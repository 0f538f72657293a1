"""governance/aws/ec2.py, from the compliant baseline (tests/policies/guardrails.py): one field
changed per case, the exact message."""
import pytest

from policy_baseline import urn
from guardrails import EBS, FLOW, LT, SG, SGR, SUBNET, VPC, WORLD, case_id, checks_baseline, one_field_changed, violations

CASES = [
    # (policy, type, name, path, value, resource the violation names, message)
    ("aws-ebs-volume-encrypted", EBS, "scratch", "encrypted", False, None, "scratch: encrypted must be true"),
    ("aws-ec2-launch-template-imdsv2", LT, "general", "metadataOptions.httpTokens", "optional", None,
     'general: metadataOptions.httpTokens must be "required" (IMDSv2 only)'),
    ("aws-ec2-launch-template-ebs-encrypted", LT, "general", "blockDeviceMappings.0.ebs.encrypted", "false", None,
     "general: blockDeviceMappings[0].ebs.encrypted must be true"),
    ("aws-ec2-security-group-no-world-ingress", SG, "endpoints", "ingress.0",
     {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}, None,
     f"endpoints: ingress[0] lets 0.0.0.0/0 reach port 22 (tcp); {WORLD}"),
    ("aws-ec2-security-group-no-world-ingress", SGR, "db-from-nodes", "cidrIpv6", "::/0", None,
     f"db-from-nodes: lets ::/0 reach port 5432 (tcp); {WORLD}"),
    ("aws-ec2-subnet-no-public-ip-on-launch", SUBNET, "private-a", "mapPublicIpOnLaunch", True, None,
     "private-a: mapPublicIpOnLaunch must be false; instances get public addresses only through a load balancer or NAT"),
    ("aws-ec2-no-public-ip", LT, "general", "networkInterfaces", [{"associatePublicIpAddress": "true"}], None,
     "general: networkInterfaces[0].associatePublicIpAddress must be false; nodes stay in the private subnets"),
    ("aws-ec2-vpc-flow-logs-enabled", FLOW, "main", "vpcId", "vpc-other", (VPC, "main"),
     "main: no flow log records this VPC's traffic"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_one_field_changed_fires_exactly_one_policy(case):
    one_field_changed(*case)


def test_the_flow_log_removed_is_caught():
    resources = [r for r in checks_baseline() if r["type"] != FLOW]
    assert violations(resources) == [("aws-ec2-vpc-flow-logs-enabled", urn(VPC, "main"),
                                      "main: no flow log records this VPC's traffic")]
