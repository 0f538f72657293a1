"""Whether a resource names the customer-managed KMS key: the check every encryption guardrail
(RDS, ElastiCache, EBS, EKS, S3, CloudWatch Logs, Secrets Manager, ECR) ends with."""
from __future__ import annotations

from ..values import get


def names_key(props: dict, path: str = "kmsKeyId") -> bool:
    """A non-blank key id or ARN at `path`: the AWS-managed default key leaves it empty, and cannot be
    audited or rotated by us. Raises Unknown when the value is not known at preview."""
    value = get(props, path)
    return isinstance(value, str) and bool(value.strip())
