"""The service-linked roles the leadgen program's policies name, which the account must hold first.

A service-linked role exists only after the service's first use in the account or an explicit
`CreateServiceLinkedRole`, and KMS refuses a key policy whose principal does not exist
(`MalformedPolicyDocumentException`; terraform-aws-eks#3013, "only with a new account"). The
cluster key names Auto Scaling's role, so a fresh account's first `pulumi up` failed at the key.
Bootstrap declares each one here; the offline preview refuses a policy naming one not listed.
Pure data, read by bootstrap/__main__.py and by platformctl's strict checks.
"""
from __future__ import annotations

# AWS service principal -> the role name AWS gives its service-linked role (IAM User Guide,
# "AWS services that work with IAM", service-linked role column).
SERVICE_LINKED_ROLES: dict[str, str] = {
    # The cluster KMS key grants it the node groups' encrypted root volumes (leadgen/iam.py).
    "autoscaling.amazonaws.com": "AWSServiceRoleForAutoScaling",
}


def role_arn(account_id: str, service: str, partition: str = "aws") -> str:
    """`arn:aws:iam::<account>:role/aws-service-role/<service>/<role name>`, as IAM writes it."""
    return f"arn:{partition}:iam::{account_id}:role/aws-service-role/{service}/{SERVICE_LINKED_ROLES[service]}"
