"""What a bare EKS cluster needs, once it has nodes, to run the platform: the pinned managed add-ons
that need nodes (coredns, the EBS CSI driver), the default StorageClass, the cluster autoscaler,
metrics-server (the HPAs read CPU from it), the AWS Load Balancer Controller (it builds the
gateway's NLB) and, when a node group has GPUs, the NVIDIA device plugin.

The add-ons a node needs to turn Ready come before the nodes, in NodeAddons."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.helm import helm_release
from components.irsa import IrsaRole, IrsaRoleArgs
from components.load_balancer_policy import load_balancer_controller_policy
from components.node_addons import BEFORE_COMPUTE
from leadgen import versions
from leadgen.config.cluster import GPU_LABEL, TAINT_EFFECTS, NodeTaint
from leadgen.iam import cluster_autoscaler_policy, ebs_csi_kms_policy

# The default StorageClass's name. Volume claims name it, so it is fixed rather than auto-named;
# the monitoring stack's claims import it from here.
STORAGE_CLASS = "gp3"
# Taint effects from how EKS spells them (NodeTaint.effect) to how a toleration writes them.
_EFFECTS = {eks: kubernetes for kubernetes, eks in TAINT_EFFECTS.items()}


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
    vpc_id: pulumi.Input[str]  # the load balancer controller does not read it from IMDS (hop limit 1)
    # Add-ons like coredns only turn healthy once nodes exist.
    node_groups: Sequence[pulumi.Resource] = ()
    # A node group has GPUs: install the NVIDIA device plugin, tolerating those groups' taints.
    gpu: bool = False
    gpu_taints: Sequence[NodeTaint] = ()
    tags: dict[str, str] = field(default_factory=dict)


class ClusterAddons(pulumi.ComponentResource):
    def __init__(self, name: str, args: ClusterAddonsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:cluster_addons:ClusterAddons", name, None, pulumi.ResourceOptions.merge(
            pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=PREVIOUS_TYPE)]), opts))
        self._name, self._args = name, args
        self._managed_addons()
        self.storage_class = self._storage_class()
        self._autoscaler()
        self._metrics_server()
        self.load_balancer_controller = self._load_balancer_controller()
        self.device_plugin = self._nvidia_device_plugin() if args.gpu else None
        self.storage_class_name = STORAGE_CLASS
        self.register_outputs({"storage_class_name": self.storage_class_name})

    def _irsa(self, suffix: str, namespace: str, sa: str, **kw) -> IrsaRole:
        a = self._args
        return IrsaRole(f"{self._name}-{suffix}", IrsaRoleArgs(
            oidc_provider_arn=a.oidc_provider_arn, oidc_issuer=a.oidc_issuer, namespace=namespace,
            service_account=sa, tags=a.tags, **kw),
            opts=pulumi.ResourceOptions(parent=self))

    def _managed_addons(self) -> None:
        a = self._args
        ebs = self._irsa("ebs-csi", "kube-system", "ebs-csi-controller-sa",
                         policy_json=pulumi.Output.from_input(a.kms_key_arn).apply(ebs_csi_kms_policy),
                         managed_policy_arns=["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"])
        roles = {"aws-ebs-csi-driver": ebs.arn}
        self.addons: dict[str, aws.eks.Addon] = {}
        for addon, version in versions.eks_addons(a.version).items():
            if addon in BEFORE_COMPUTE:
                continue
            self.addons[addon] = aws.eks.Addon(
                f"{self._name}-{addon}", cluster_name=a.cluster_name, addon_name=addon,
                addon_version=version, service_account_role_arn=roles.get(addon),
                resolve_conflicts_on_create="OVERWRITE", resolve_conflicts_on_update="PRESERVE",
                tags=a.tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(a.node_groups)))

    def _storage_class(self) -> k8s.storage.v1.StorageClass:
        """The default class (since EKS 1.30 there is none): gp3, encrypted with the cluster key,
        bound where the pod lands so a volume is made in the pod's AZ."""
        a = self._args
        return k8s.storage.v1.StorageClass(
            f"{self._name}-{STORAGE_CLASS}",
            metadata={"name": STORAGE_CLASS,
                      "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            provisioner="ebs.csi.aws.com",
            parameters={"type": "gp3", "encrypted": "true", "kmsKeyId": a.kms_key_arn},
            volume_binding_mode="WaitForFirstConsumer", allow_volume_expansion=True,
            reclaim_policy="Delete",
            opts=pulumi.ResourceOptions(parent=self, provider=a.k8s_provider,
                                        depends_on=[self.addons["aws-ebs-csi-driver"]]))

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

    def _load_balancer_controller(self) -> k8s.helm.v3.Release:
        """Builds the NLB in front of the gateway from the Service's annotations (IP targets,
        internet-facing); the in-tree controller ignores them."""
        a = self._args
        sa = "aws-load-balancer-controller"
        role = self._irsa("aws-load-balancer-controller", "kube-system", sa,
                          policy_json=load_balancer_controller_policy(a.cluster_name))
        return self._release("aws-load-balancer-controller", versions.AWS_LOAD_BALANCER_CONTROLLER, {
            "clusterName": a.cluster_name,
            "region": a.region,
            "vpcId": a.vpc_id,
            "replicaCount": 2,
            "serviceAccount": {"create": True, "name": sa,
                               "annotations": {"eks.amazonaws.com/role-arn": role.arn}},
            "nodeSelector": {"leadgen.io/node-group": "general"},
        })

    def _nvidia_device_plugin(self) -> k8s.helm.v3.Release:
        """Advertises `nvidia.com/gpu` on GPU nodes: without it no pod can request a GPU. It runs
        only there (the label every GPU group carries) and tolerates those groups' taints."""
        tolerations = [{"key": "CriticalAddonsOnly", "operator": "Exists"}]
        for t in self._args.gpu_taints:
            toleration = {"key": t.key, "operator": "Exists", "effect": _EFFECTS[t.effect]}
            if toleration not in tolerations:
                tolerations.append(toleration)
        return self._release("nvidia-device-plugin", versions.NVIDIA_DEVICE_PLUGIN, {
            "nodeSelector": {GPU_LABEL: "true"},
            "tolerations": tolerations,
        })
