"""IAM and KMS policy documents, as pure functions so tests and the pack can read them."""
from __future__ import annotations

import json


def service_assume_policy(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


def _admin(account_id: str) -> dict:
    return {"Sid": "AccountAdmin", "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"}, "Action": "kms:*",
            "Resource": "*"}


def _logs(account_id: str, region: str) -> dict:
    return {"Sid": "CloudWatchLogs", "Effect": "Allow",
            "Principal": {"Service": f"logs.{region}.amazonaws.com"},
            "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                       "kms:Describe*"],
            "Resource": "*",
            "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                      f"arn:aws:logs:{region}:{account_id}:log-group:*"}}}


def logs_key_policy(account_id: str, region: str) -> str:
    """The account administers the key; CloudWatch Logs may use it for this account's groups."""
    return json.dumps({"Version": "2012-10-17", "Statement": [_admin(account_id), _logs(account_id, region)]})


def cluster_key_policy(account_id: str, region: str) -> str:
    """The cluster key also encrypts node root volumes, which the Auto Scaling service-linked
    role creates on the node groups' behalf: without this grant nodes never launch."""
    asg_role = f"arn:aws:iam::{account_id}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
    return json.dumps({"Version": "2012-10-17", "Statement": [
        _admin(account_id), _logs(account_id, region),
        {"Sid": "AutoScalingVolumes", "Effect": "Allow", "Principal": {"AWS": asg_role},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                    "kms:DescribeKey"], "Resource": "*"},
        {"Sid": "AutoScalingGrants", "Effect": "Allow", "Principal": {"AWS": asg_role},
         "Action": "kms:CreateGrant", "Resource": "*",
         "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
    ]})


def ebs_csi_kms_policy(key_arn: str) -> str:
    """The EBS CSI driver may use the cluster key for the volumes it creates, and nothing else."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant", "kms:Encrypt",
                   "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
        "Resource": key_arn}]})


def cluster_autoscaler_policy(cluster_name: str) -> str:
    """Describe calls cannot be scoped; the calls that change capacity only touch this cluster's
    node groups, which EKS tags `k8s.io/cluster-autoscaler/<cluster>`."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Describe", "Effect": "Allow",
         "Action": ["autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities",
                    "autoscaling:DescribeTags", "ec2:DescribeImages", "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplateVersions", "ec2:GetInstanceTypesFromInstanceRequirements",
                    "eks:DescribeNodegroup"],
         "Resource": "*"},
        {"Sid": "ScaleOwnGroups", "Effect": "Allow",
         "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
         "Resource": "*",
         "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}}},
    ]})
