"""The AWS Load Balancer Controller's IAM policy, one cluster's worth.

It follows the controller's published policy (kubernetes-sigs/aws-load-balancer-controller,
docs/install/iam_policy.json) statement by statement, with one tightening: where upstream only
asks that the `elbv2.k8s.aws/cluster` tag be present, this policy asks that it name this cluster,
so the controller of one stack cannot change another stack's load balancers or security groups.
Describe calls cannot be scoped by resource and stay on `*`.
"""
from __future__ import annotations

import json

CLUSTER_TAG = "elbv2.k8s.aws/cluster"

_DESCRIBE = [
    "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones",
    "ec2:DescribeInternetGateways", "ec2:DescribeVpcs", "ec2:DescribeVpcPeeringConnections",
    "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeInstances",
    "ec2:DescribeNetworkInterfaces", "ec2:DescribeTags", "ec2:GetCoipPoolUsage",
    "ec2:DescribeCoipPools", "ec2:GetSecurityGroupsForVpc", "ec2:DescribeIpamPools",
    "ec2:DescribeRouteTables",
    "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerCertificates",
    "elasticloadbalancing:DescribeSSLPolicies", "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTrustStores", "elasticloadbalancing:DescribeListenerAttributes",
    "elasticloadbalancing:DescribeCapacityReservation",
]
_INTEGRATIONS = [
    "cognito-idp:DescribeUserPoolClient", "acm:ListCertificates", "acm:DescribeCertificate",
    "iam:ListServerCertificates", "iam:GetServerCertificate",
    "waf-regional:GetWebACL", "waf-regional:GetWebACLForResource", "waf-regional:AssociateWebACL",
    "waf-regional:DisassociateWebACL", "wafv2:GetWebACL", "wafv2:GetWebACLForResource",
    "wafv2:AssociateWebACL", "wafv2:DisassociateWebACL",
    "shield:GetSubscriptionState", "shield:DescribeProtection", "shield:CreateProtection",
    "shield:DeleteProtection",
]
_ELB_ARNS = ["arn:aws:elasticloadbalancing:*:*:targetgroup/*/*",
             "arn:aws:elasticloadbalancing:*:*:loadbalancer/net/*/*",
             "arn:aws:elasticloadbalancing:*:*:loadbalancer/app/*/*"]


def load_balancer_controller_policy(cluster_name: str) -> str:
    owned = {f"aws:ResourceTag/{CLUSTER_TAG}": cluster_name}
    requested = {f"aws:RequestTag/{CLUSTER_TAG}": cluster_name}
    statements = [
        {"Sid": "Describe", "Effect": "Allow", "Action": _DESCRIBE, "Resource": "*"},
        {"Sid": "Integrations", "Effect": "Allow", "Action": _INTEGRATIONS, "Resource": "*"},
        {"Sid": "ServiceLinkedRole", "Effect": "Allow", "Action": "iam:CreateServiceLinkedRole",
         "Resource": "*",
         "Condition": {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}},
        {"Sid": "CreateSecurityGroup", "Effect": "Allow", "Action": "ec2:CreateSecurityGroup",
         "Resource": "*"},
        {"Sid": "TagNewSecurityGroup", "Effect": "Allow", "Action": "ec2:CreateTags",
         "Resource": "arn:aws:ec2:*:*:security-group/*",
         "Condition": {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup", **requested}}},
        {"Sid": "TagOwnSecurityGroups", "Effect": "Allow", "Action": ["ec2:CreateTags", "ec2:DeleteTags"],
         "Resource": "arn:aws:ec2:*:*:security-group/*", "Condition": {"StringEquals": owned}},
        {"Sid": "OwnSecurityGroups", "Effect": "Allow",
         "Action": ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress",
                    "ec2:DeleteSecurityGroup"],
         "Resource": "*", "Condition": {"StringEquals": owned}},
        # The node security group admits the load balancer's health checks and traffic; upstream
        # grants these two unconditioned, as that group is not the controller's own.
        {"Sid": "NodeSecurityGroupRules", "Effect": "Allow",
         "Action": ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
         "Resource": "*"},
        {"Sid": "CreateOwnLoadBalancers", "Effect": "Allow",
         "Action": ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
         "Resource": "*", "Condition": {"StringEquals": requested}},
        {"Sid": "ListenersAndRules", "Effect": "Allow",
         "Action": ["elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener",
                    "elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteRule"],
         "Resource": "*"},
        {"Sid": "TagOwnLoadBalancers", "Effect": "Allow",
         "Action": ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
         "Resource": _ELB_ARNS, "Condition": {"StringEquals": owned}},
        {"Sid": "TagListenersAndRules", "Effect": "Allow",
         "Action": ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
         "Resource": ["arn:aws:elasticloadbalancing:*:*:listener/net/*/*/*",
                      "arn:aws:elasticloadbalancing:*:*:listener/app/*/*/*",
                      "arn:aws:elasticloadbalancing:*:*:listener-rule/net/*/*/*",
                      "arn:aws:elasticloadbalancing:*:*:listener-rule/app/*/*/*"]},
        {"Sid": "ChangeOwnLoadBalancers", "Effect": "Allow",
         "Action": ["elasticloadbalancing:ModifyLoadBalancerAttributes",
                    "elasticloadbalancing:SetIpAddressType", "elasticloadbalancing:SetSecurityGroups",
                    "elasticloadbalancing:SetSubnets", "elasticloadbalancing:DeleteLoadBalancer",
                    "elasticloadbalancing:ModifyTargetGroup",
                    "elasticloadbalancing:ModifyTargetGroupAttributes",
                    "elasticloadbalancing:DeleteTargetGroup",
                    "elasticloadbalancing:ModifyListenerAttributes",
                    "elasticloadbalancing:ModifyCapacityReservation",
                    "elasticloadbalancing:ModifyIpPools"],
         "Resource": "*", "Condition": {"StringEquals": owned}},
        # Tags on create: CreateLoadBalancer/CreateTargetGroup tag in the same call.
        {"Sid": "TagOnCreate", "Effect": "Allow", "Action": "elasticloadbalancing:AddTags",
         "Resource": _ELB_ARNS,
         "Condition": {"StringEquals": {"elasticloadbalancing:CreateAction": [
             "CreateTargetGroup", "CreateLoadBalancer"], **requested}}},
        {"Sid": "Targets", "Effect": "Allow",
         "Action": ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
         "Resource": "arn:aws:elasticloadbalancing:*:*:targetgroup/*/*"},
        {"Sid": "ListenerSettings", "Effect": "Allow",
         "Action": ["elasticloadbalancing:SetWebAcl", "elasticloadbalancing:ModifyListener",
                    "elasticloadbalancing:AddListenerCertificates",
                    "elasticloadbalancing:RemoveListenerCertificates", "elasticloadbalancing:ModifyRule",
                    "elasticloadbalancing:SetRulePriorities"],
         "Resource": "*"},
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})
