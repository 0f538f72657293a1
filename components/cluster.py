"""The EKS control plane: KMS-encrypted secrets, every log type, a private endpoint, IRSA and
access entries: the deployer's, which every Kubernetes resource waits for, and the admins'.

CI reaches the private endpoint from a self-hosted runner inside the VPC: the runner joins the
`ci-runner` security group declared here, which the cluster security group admits on 443 only.
Node groups and add-ons are their own components."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

from leadgen.iam import cluster_key_policy, service_assume_policy
from leadgen.kms import KEY_DEFAULTS
from leadgen.naming import with_name

LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]


@dataclass(kw_only=True)
class ClusterArgs:
    cluster_name: str
    version: str
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    subnet_ids: Sequence[pulumi.Input[str]]
    # The role `pulumi up` runs as: its access entry is what lets the update use the API at all
    # (the cluster creator gets no implicit admin).
    deployer_role_arn: str
    public_access_cidrs: Sequence[str] = ()
    admin_role_arns: Sequence[str] = ()
    log_retention_days: int = 365
    protect: bool = False  # production: deletion protection on the cluster and Pulumi protect
    tags: dict[str, str] = field(default_factory=dict)


class Cluster(pulumi.ComponentResource):
    def __init__(self, name: str, args: ClusterArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:cluster:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account = aws.get_caller_identity_output()
        region = aws.get_region_output()

        # One key for the cluster's secrets, its log group and its nodes' volumes; rotation on.
        self.kms_key = aws.kms.Key(
            f"{name}-key", description=f"EKS {args.cluster_name}: secrets, logs, node volumes",
            **KEY_DEFAULTS,
            policy=pulumi.Output.all(account.account_id, region.region).apply(
                lambda v: cluster_key_policy(v[0], v[1])),
            tags=args.tags, opts=child)

        # EKS writes to this exact group name; creating it first sets retention and KMS.
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=f"/aws/eks/{args.cluster_name}/cluster",
            retention_in_days=args.log_retention_days, kms_key_id=self.kms_key.arn, tags=args.tags,
            opts=child)

        role = aws.iam.Role(f"{name}-role", assume_role_policy=service_assume_policy("eks.amazonaws.com"),
                            tags=args.tags, opts=child)
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-role-policy", role=role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy", opts=child)

        public = len(args.public_access_cidrs) > 0
        self.eks = aws.eks.Cluster(
            f"{name}-eks",
            name=args.cluster_name,
            version=args.version,
            role_arn=role.arn,
            vpc_config={
                "subnet_ids": list(args.subnet_ids),
                "endpoint_private_access": True,
                "endpoint_public_access": public,
                # AWS defaults an empty list to 0.0.0.0/0; only send CIDRs when public.
                "public_access_cidrs": list(args.public_access_cidrs) if public else None,
            },
            encryption_config={"resources": ["secrets"], "provider": {"key_arn": self.kms_key.arn}},
            enabled_cluster_log_types=LOG_TYPES,
            # Access entries, not the aws-auth ConfigMap; nobody is admin by having created it.
            access_config={"authentication_mode": "API",
                           "bootstrap_cluster_creator_admin_permissions": False},
            deletion_protection=args.protect,
            upgrade_policy={"support_type": "STANDARD"},
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group, attachment],
                                        protect=args.protect))

        issuer_url = self.eks.identities.apply(lambda ids: ids[0].oidcs[0].issuer)
        self.oidc_provider = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc", url=issuer_url, client_id_lists=["sts.amazonaws.com"], tags=args.tags,
            opts=child)

        admin_policy = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
        deployer = aws.eks.AccessEntry(f"{name}-deployer", cluster_name=self.eks.name,
                                       principal_arn=args.deployer_role_arn, type="STANDARD",
                                       tags=args.tags, opts=child)
        # The Kubernetes provider depends on this association, so no namespace, release or custom
        # resource is sent before the deployer may create it.
        self.deployer_access = aws.eks.AccessPolicyAssociation(
            f"{name}-deployer", cluster_name=self.eks.name, principal_arn=args.deployer_role_arn,
            policy_arn=admin_policy, access_scope={"type": "cluster"},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[deployer]))

        for i, arn in enumerate(args.admin_role_arns):
            entry = aws.eks.AccessEntry(f"{name}-admin-{i}", cluster_name=self.eks.name,
                                        principal_arn=arn, type="STANDARD", tags=args.tags, opts=child)
            aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{i}", cluster_name=self.eks.name, principal_arn=arn,
                policy_arn=admin_policy, access_scope={"type": "cluster"},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[entry]))

        # Nodes get only what kubelet needs; the CNI's permissions go to its own IRSA role.
        self.node_role = aws.iam.Role(
            f"{name}-node-role", assume_role_policy=service_assume_policy("ec2.amazonaws.com"),
            tags=args.tags, opts=child)
        for policy in ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly"):
            aws.iam.RolePolicyAttachment(f"{name}-node-{policy}", role=self.node_role.name,
                                         policy_arn=f"arn:aws:iam::aws:policy/{policy}", opts=child)

        self._ci_runner_access(name, args)
        # What `pulumi up` needs before it can use the Kubernetes API: to be let in by EKS, and
        # (from the CI runner) to reach the private endpoint at all.
        self.api_access: list[pulumi.Resource] = [self.deployer_access, self.ci_runner_rule]

        self.cluster_name = self.eks.name
        self.endpoint = self.eks.endpoint
        self.certificate_authority = self.eks.certificate_authority.apply(lambda ca: ca.data)
        self.oidc_provider_arn = self.oidc_provider.arn
        self.oidc_issuer = issuer_url.apply(lambda u: u.removeprefix("https://"))
        # Managed nodes without their own security groups get the EKS cluster security group.
        self.node_security_group_id = self.eks.vpc_config.apply(lambda v: v.cluster_security_group_id)
        self.region = region.region
        self.register_outputs({"cluster_name": self.cluster_name, "endpoint": self.endpoint,
                               "oidc_provider_arn": self.oidc_provider_arn,
                               "ci_runner_security_group_id": self.ci_runner_security_group.id})

    def _ci_runner_access(self, name: str, args: ClusterArgs) -> None:
        """The security group CI's runner joins, and the one rule that lets it reach the API."""
        child = pulumi.ResourceOptions(parent=self)
        # No fixed name: a replacement would collide with the group it replaces.
        self.ci_runner_security_group = aws.ec2.SecurityGroup(
            f"{name}-ci-runner", vpc_id=args.vpc_id,
            description=f"CI runners that deploy {args.cluster_name}: HTTPS out only",
            egress=[
                # GitHub, the AWS APIs (through the VPC endpoints or NAT), chart and image registries.
                {"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"],
                 "description": "HTTPS"},
                {"protocol": "udp", "from_port": 53, "to_port": 53, "cidr_blocks": [args.vpc_cidr],
                 "description": "DNS through the VPC resolver"},
                {"protocol": "tcp", "from_port": 53, "to_port": 53, "cidr_blocks": [args.vpc_cidr],
                 "description": "DNS through the VPC resolver"},
            ],
            tags=with_name(args.tags, f"{name}-ci-runner"), opts=child)
        cluster_sg = self.eks.vpc_config.apply(lambda v: v.cluster_security_group_id)
        self.ci_runner_rule = aws.vpc.SecurityGroupIngressRule(
            f"{name}-api-from-ci-runner", security_group_id=cluster_sg,
            referenced_security_group_id=self.ci_runner_security_group.id, ip_protocol="tcp",
            from_port=443, to_port=443, description="CI runner to the private API endpoint",
            tags=args.tags, opts=child)
