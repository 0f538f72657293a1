"""The EKS add-ons a node needs before it can turn Ready: the VPC CNI (with its IRSA role),
kube-proxy and the Pod Identity agent. Node groups depend on this component.

A node joins Ready only once `aws-node` hands out pod IPs, and `aws-node` can only do that with the
CNI policy, which lives on its IRSA role rather than on the node role. Installed after the nodes,
the self-managed `aws-node` runs without permissions and the group fails with NodeCreationFailure:
terraform-aws-eks orders the same add-ons with `before_compute`. All three are DaemonSets, so they
reach ACTIVE with no node yet; coredns and the EBS CSI driver come after the nodes (ClusterAddons).

The CNI runs with `enableNetworkPolicy`: without its policy agent, the platform's NetworkPolicies
are accepted by the API server and enforced by nothing.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws

from components.irsa import IrsaRole, IrsaRoleArgs
from leadgen import versions
from leadgen.naming import child_urn

# The add-ons created before any node; every other pinned add-on waits for the node groups.
BEFORE_COMPUTE = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")
# The VPC CNI's configuration: the network policy agent on, so NetworkPolicies are enforced.
VPC_CNI_CONFIGURATION = {"enableNetworkPolicy": "true"}
# These add-ons and the CNI's role lived under ClusterAddons (of the same name) before they moved
# here; both of its tokens, so a stack last updated before either rename keeps its add-ons too.
# Replacing the vpc-cni add-on would delete aws-node and cut every pod's network.
PREVIOUS_PARENT_TYPES = ("leadgen:cluster_addons:ClusterAddons", "leadgen:cluster:ClusterAddons")
_IRSA_TYPES = ("leadgen:irsa:IrsaRole", "leadgen:iam:IrsaRole")


@dataclass(kw_only=True)
class NodeAddonsArgs:
    cluster_name: pulumi.Input[str]
    version: str  # the cluster's Kubernetes minor: add-on versions are pinned per minor
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    tags: dict[str, str] = field(default_factory=dict)


class NodeAddons(pulumi.ComponentResource):
    def __init__(self, name: str, args: NodeAddonsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:node_addons:NodeAddons", name, None, opts)
        previous = [f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{t}::{name}"
                    for t in PREVIOUS_PARENT_TYPES]

        def moved(type_: str, child: str, types: tuple[str, ...] = ()) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, aliases=[
                child_urn(p, t, child) for p in previous for t in (type_, *types)])

        cni = IrsaRole(f"{name}-vpc-cni", IrsaRoleArgs(
            oidc_provider_arn=args.oidc_provider_arn, oidc_issuer=args.oidc_issuer,
            namespace="kube-system", service_account="aws-node",
            managed_policy_arns=["arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"], tags=args.tags),
            opts=moved(_IRSA_TYPES[0], f"{name}-vpc-cni", _IRSA_TYPES[1:]))
        pinned = versions.eks_addons(args.version)
        self.addons: dict[str, aws.eks.Addon] = {}
        for addon in BEFORE_COMPUTE:
            is_cni = addon == "vpc-cni"
            self.addons[addon] = aws.eks.Addon(
                f"{name}-{addon}", cluster_name=args.cluster_name, addon_name=addon,
                addon_version=pinned[addon],
                service_account_role_arn=cni.arn if is_cni else None,
                configuration_values=json.dumps(VPC_CNI_CONFIGURATION) if is_cni else None,
                resolve_conflicts_on_create="OVERWRITE", resolve_conflicts_on_update="PRESERVE",
                tags=args.tags, opts=moved("aws:eks/addon:Addon", f"{name}-{addon}"))
        self.cni = self.addons["vpc-cni"]
        self.register_outputs({})
