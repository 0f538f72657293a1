"""governance/aws/eks.py, from the compliant baseline (tests/policies/guardrails.py): one field
changed per case, the exact message."""
import pytest

from guardrails import EKS, NG, case_id, one_field_changed

CASES = [
    # (policy, type, name, path, value, resource the violation names, message)
    ("aws-eks-node-group-launch-template", NG, "general", "launchTemplate", None, None,
     "general: launchTemplate must be set so nodes require IMDSv2 and encrypt their volumes"),
    ("aws-eks-node-group-gpu-tainted", NG, "gpu", "taints", [], None,
     "gpu: a GPU node group needs a NO_SCHEDULE taint so only GPU workloads land on its nodes"),
    ("aws-eks-cluster-secrets-encrypted", EKS, "leadgen", "encryptionConfig", None, None,
     'leadgen: encryptionConfig must encrypt "secrets" with a KMS key'),
    ("aws-eks-cluster-secrets-encrypted", EKS, "leadgen", "encryptionConfig.provider.keyArn", "", None,
     "leadgen: encryptionConfig.provider.keyArn must name the KMS key"),
    ("aws-eks-cluster-control-plane-logging", EKS, "leadgen", "enabledClusterLogTypes", ["api", "audit"], None,
     "leadgen: enabledClusterLogTypes is missing authenticator, controllerManager, scheduler"),
    ("aws-eks-cluster-endpoint-restricted", EKS, "leadgen", "vpcConfig.publicAccessCidrs", ["0.0.0.0/0"], None,
     "leadgen: vpcConfig.publicAccessCidrs must not contain 0.0.0.0/0"),
    ("aws-eks-cluster-endpoint-restricted", EKS, "leadgen", "vpcConfig.publicAccessCidrs", None, None,
     "leadgen: vpcConfig.publicAccessCidrs must list the admin networks when the public endpoint is on"),
    ("aws-eks-node-group-no-remote-access", NG, "general", "remoteAccess", {"ec2SshKey": "ops"}, None,
     "general: remoteAccess opens SSH to the nodes; remove it (use SSM Session Manager)"),
    # Judged on 2026-12-15, the context's clock: 1.34 left standard support on 2026-12-02.
    ("aws-eks-cluster-supported-version", EKS, "leadgen", "version", "1.23", None,
     "leadgen: Kubernetes 1.23 is past EKS standard support; run 1.35 or newer"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_one_field_changed_fires_exactly_one_policy(case):
    one_field_changed(*case)
