"""An IAM role a single Kubernetes service account assumes through the cluster's OIDC issuer."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws


# The type token this component had before tokens followed `leadgen:<module>:<Class>`; the alias
# keeps a real stack's state (and every child's) instead of replacing it.
PREVIOUS_TYPE = "leadgen:iam:IrsaRole"
# IAM's limit on a role name (CreateRole `RoleName`, botocore's `roleNameType`).
ROLE_NAME_MAX = 64
_HASH = 8


def role_name(name: str) -> str:
    """The role's physical name: the component's name when it fits IAM's 64 characters, else its
    first 55 characters, a dash and 8 hex characters of its hash. Auto-naming would append
    `-role-` and 7 random characters: the load balancer controller's role of production came to 67
    characters and IAM refused it. Fixed and derived from the name alone, so every run of the
    program, preview and update alike, asks for the same role, and two long names that share a
    prefix (production, production-dr) still differ."""
    if len(name) <= ROLE_NAME_MAX:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:_HASH]
    return f"{name[:ROLE_NAME_MAX - _HASH - 1]}-{digest}"


@dataclass(kw_only=True)
class IrsaRoleArgs:
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]  # host/path, without https://
    namespace: str
    service_account: str
    # The inline policy, scoped to the one resource the pod needs (bucket, zone, prefix).
    policy_json: Optional[pulumi.Input[str]] = None
    managed_policy_arns: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)


def trust_policy(oidc_provider_arn: str, issuer: str, namespace: str, service_account: str) -> str:
    """Trust exactly one service account, and only for STS tokens (the `aud` condition)."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": oidc_provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                f"{issuer}:aud": "sts.amazonaws.com",
            }},
        }],
    })


class IrsaRole(pulumi.ComponentResource):
    def __init__(self, name: str, args: IrsaRoleArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:irsa:IrsaRole", name, None, pulumi.ResourceOptions.merge(
            pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=PREVIOUS_TYPE)]), opts))
        assume = pulumi.Output.all(args.oidc_provider_arn, args.oidc_issuer).apply(
            lambda v: trust_policy(v[0], v[1], args.namespace, args.service_account))
        self.role = aws.iam.Role(
            f"{name}-role",
            name=role_name(name),
            assume_role_policy=assume,
            description=f"IRSA for {args.namespace}/{args.service_account}",
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        policies: list[pulumi.CustomResource] = []
        if args.policy_json is not None:
            policies.append(aws.iam.RolePolicy(f"{name}-policy", role=self.role.id, policy=args.policy_json,
                                               opts=pulumi.ResourceOptions(parent=self)))
        for i, arn in enumerate(args.managed_policy_arns):
            policies.append(aws.iam.RolePolicyAttachment(f"{name}-managed-{i}", role=self.role.name, policy_arn=arn,
                                                         opts=pulumi.ResourceOptions(parent=self)))
        # The ARN as consumers should see it: only once the role's policies are attached, so a
        # release or add-on naming it waits for them (a pod that assumes the role before its
        # policy exists fails its first calls and may crash-loop past the update's readiness wait).
        self.arn = pulumi.Output.all(self.role.arn, *(p.id for p in policies)).apply(lambda v: v[0])
        self.register_outputs({"arn": self.arn})
