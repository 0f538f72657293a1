"""What a bare EKS cluster needs to run the platform: pinned managed add-ons, the cluster
autoscaler and metrics-server (the HPAs read CPU from it)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.helm import helm_release
from components.irsa import IrsaRole, IrsaRoleArgs
from leadgen import versions
from leadgen.iam import cluster_autoscaler_policy, ebs_csi_kms_policy


# The type token this component had before tokens followed `leadgen:<module>:<Class>`; the alias
# keeps a real stack's state (and every child's) instead of replacing it.
PREVIOUS_TYPE = "leadgen:cluster:ClusterAddons"

@dataclass(kw_only=True)
class ClusterAddonsArgs:
    cluster_name: str
    version: str
    region: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    k8s_provider: k8s.Provider
    # Add-ons like coredns only turn healthy once nodes exist.
    node_groups: Sequence[pulumi.Resource] = ()
    tags: dict[str, str] = field(default_factory=dict)


class ClusterAddons(pulumi.ComponentResource):
    def __init__(self, name: str, args: ClusterAddonsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:cluster_addons:ClusterAddons", name, None, pulumi.ResourceOptions.merge(
            pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=PREVIOUS_TYPE)]), opts))
        self._name, self._args = name, args
        self._managed_addons()
        self._autoscaler()
        self._metrics_server()
        self.register_outputs({})

    def _irsa(self, suffix: str, namespace: str, sa: str, **kw) -> IrsaRole:
        a = self._args
        return IrsaRole(f"{self._name}-{suffix}", IrsaRoleArgs(
            oidc_provider_arn=a.oidc_provider_arn, oidc_issuer=a.oidc_issuer, namespace=namespace,
            service_account=sa, tags=a.tags, **kw),
            opts=pulumi.ResourceOptions(parent=self))

    def _managed_addons(self) -> None:
        a = self._args
        cni = self._irsa("vpc-cni", "kube-system", "aws-node",
                         managed_policy_arns=["arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"])
        ebs = self._irsa("ebs-csi", "kube-system", "ebs-csi-controller-sa",
                         policy_json=pulumi.Output.from_input(a.kms_key_arn).apply(ebs_csi_kms_policy),
                         managed_policy_arns=["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"])
        roles = {"vpc-cni": cni.arn, "aws-ebs-csi-driver": ebs.arn}
        for addon, version in versions.eks_addons(a.version).items():
            aws.eks.Addon(
                f"{self._name}-{addon}", cluster_name=a.cluster_name, addon_name=addon,
                addon_version=version, service_account_role_arn=roles.get(addon),
                resolve_conflicts_on_create="OVERWRITE", resolve_conflicts_on_update="PRESERVE",
                tags=a.tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(a.node_groups)))

    def _release(self, release: str, chart: versions.Pin, values: dict) -> k8s.helm.v3.Release:
        return helm_release(
            self._name, release, chart=chart, namespace="kube-system", values=values,
            opts=pulumi.ResourceOptions(parent=self, provider=self._args.k8s_provider,
                                        depends_on=list(self._args.node_groups)))

    def _autoscaler(self) -> None:
        a = self._args
        role = self._irsa("cluster-autoscaler", "kube-system", "cluster-autoscaler",
                          policy_json=cluster_autoscaler_policy(a.cluster_name))
        self._release("cluster-autoscaler", versions.CLUSTER_AUTOSCALER, {
            "autoDiscovery": {"clusterName": a.cluster_name},
            "awsRegion": a.region,
            "image": {"tag": versions.cluster_autoscaler_image_tag(a.version)},
            "rbac": {"serviceAccount": {"name": "cluster-autoscaler",
                                        "annotations": {"eks.amazonaws.com/role-arn": role.arn}}},
            "extraArgs": {"balance-similar-node-groups": True, "skip-nodes-with-system-pods": False,
                          "expander": "least-waste"},
            "nodeSelector": {"leadgen.io/node-group": "general"},
        })

    def _metrics_server(self) -> None:
        self._release("metrics-server", versions.METRICS_SERVER, {
            "replicas": 2,
            "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
            "nodeSelector": {"leadgen.io/node-group": "general"},
        })
