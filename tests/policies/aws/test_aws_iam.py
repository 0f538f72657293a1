"""governance/aws/iam.py, from the compliant baseline (tests/policies/guardrails.py): one field
changed per case, the exact message."""
import pytest

from policy_baseline import set_path
from guardrails import ATT, ROLE, RP, case_id, checks_baseline, one_field_changed, violations

CASES = [
    # (policy, type, name, path, value, resource the violation names, message)
    ("aws-iam-no-admin-statement", RP, "exports-writer", "policy",
     '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}', None,
     'exports-writer: policy allows "*" on "*"; grant the actions on the resources it needs'),
    ("aws-iam-no-admin-statement", ROLE, "exports", "inlinePolicies",
     [{"name": "admin", "policy": '{"Statement": {"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}}'}], None,
     'exports: inlinePolicies[0] allows "*" on "*"; grant the actions on the resources it needs'),
    ("aws-iam-trust-policy-restricted", ROLE, "exports", "assumeRolePolicy",
     '{"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}', None,
     "exports: assumeRolePolicy Statement[0] lets any principal assume the role; name the service, account or "
     "OIDC provider (with its conditions)"),
    ("aws-iam-no-wildcard-actions", RP, "exports-writer", "policy",
     '{"Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}', None,
     'exports-writer: policy Statement[0] allows iam:* on "*"; grant the actions it needs on the resources it needs'),
    ("aws-iam-no-wildcard-actions", RP, "exports-writer", "policy",
     '{"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}', None,
     "exports-writer: policy Statement[0] allows with NotAction, which grants every action it does not list; "
     "list the actions allowed"),
    ("aws-iam-no-privilege-escalation", RP, "exports-writer", "policy",
     '{"Statement": [{"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": "*"}]}', None,
     'exports-writer: policy Statement[0] allows iam:PassRole on "*", which lets the holder grant itself more; '
     "scope it to named ARNs"),
    ("aws-iam-no-privilege-escalation", ATT, "node-worker", "policyArn", "arn:aws:iam::aws:policy/AdministratorAccess",
     None, "node-worker: attaches AdministratorAccess; grant the actions the role needs"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_one_field_changed_fires_exactly_one_policy(case):
    one_field_changed(*case)


def test_deny_statements_and_conditioned_trust_are_not_public():
    resources = checks_baseline()
    set_path(resources, ROLE, "exports", "assumeRolePolicy",
             '{"Statement": [{"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/x"}, '
             '"Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringEquals": {"x:sub": "y"}}}]}')
    assert violations(resources) == []
