"""The cluster: control plane, node groups, the Kubernetes provider, add-ons and namespaces."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.cluster import Cluster, ClusterArgs
from components.cluster_addons import ClusterAddons, ClusterAddonsArgs
from components.namespaces import (GOVERNANCE, MONITORING, POD_SECURITY, PRODUCTION, PlatformNamespace,
                                   PlatformNamespaceArgs, monitoring_allowances, production_allowances)
from components.network import Network
from components.node_addons import NodeAddons, NodeAddonsArgs
from components.node_group import NodeGroup, NodeGroupArgs
from components.traffic import data_plane_allowance
from leadgen.config import StackConfig
from leadgen.config.traffic import ROUTED_WORKLOAD
from leadgen.kubeconfig import kubeconfig_json


@dataclass(frozen=True, kw_only=True)
class ClusterParts:
    cluster: Cluster
    node_groups: list
    k8s_provider: k8s.Provider
    addons: ClusterAddons
    namespaces: dict


def build(cfg: StackConfig, network: Network) -> ClusterParts:
    tags, prod = cfg.tags, cfg.core.is_production
    cluster = Cluster(cfg.prefix, ClusterArgs(
        cluster_name=cfg.cluster_name, version=cfg.cluster.version, vpc_id=network.vpc_id,
        vpc_cidr=cfg.network.vpc_cidr, subnet_ids=network.private_subnet_ids,
        deployer_role_arn=cfg.cluster.deployer_role_arn,
        public_access_cidrs=cfg.cluster.public_access_cidrs, admin_role_arns=cfg.cluster.admin_role_arns,
        log_retention_days=cfg.cluster.log_retention_days, protect=prod, tags=tags))
    # CI deploys from a self-hosted runner in these subnets with this group (README: Deploying).
    pulumi.export("ciRunner", {"securityGroupId": cluster.ci_runner_security_group.id,
                               "subnetIds": network.private_subnet_ids})

    # The CNI, kube-proxy and the Pod Identity agent before any node: nodes turn Ready only with them.
    node_addons = NodeAddons(f"{cfg.prefix}-addons", NodeAddonsArgs(
        cluster_name=cluster.cluster_name, version=cfg.cluster.version,
        oidc_provider_arn=cluster.oidc_provider_arn, oidc_issuer=cluster.oidc_issuer, tags=tags))

    node_groups = [
        NodeGroup(f"{cfg.prefix}-{g.name}", NodeGroupArgs(
            cluster_name=cluster.cluster_name, node_role_arn=cluster.node_role.arn,
            subnet_ids=network.private_subnet_ids, kms_key_arn=cluster.kms_key.arn,
            node_group_name=g.name, instance_types=g.instance_types, min_size=g.min_size,
            max_size=g.max_size, desired_size=g.desired_size, disk_size_gb=g.disk_size_gb,
            capacity_type=g.capacity_type, ami_type=g.ami_type, labels=g.labels, taints=g.taints,
            depends_on=[node_addons.cni], tags=tags))
        for g in cfg.dr.node_groups(cfg.cluster.node_groups)
    ]

    kubeconfig = kubeconfig_json(cluster.cluster_name, cluster.endpoint, cluster.certificate_authority,
                                 cluster.region)
    # Every Kubernetes resource goes through this provider, so none is sent before the deployer's
    # access entry lets `pulumi up` use the API and the CI runner may reach the private endpoint.
    k8s_provider = k8s.Provider(f"{cfg.prefix}-k8s", kubeconfig=kubeconfig,
                                enable_server_side_apply=True, delete_unreachable=False,
                                opts=pulumi.ResourceOptions(depends_on=cluster.api_access))
    k8s_opts = pulumi.ResourceOptions(provider=k8s_provider)

    gpu_groups = [g for g in cfg.cluster.node_groups if g.gpu]
    addons = ClusterAddons(f"{cfg.prefix}-addons", ClusterAddonsArgs(
        cluster_name=cfg.cluster_name, version=cfg.cluster.version, region=cluster.region,
        oidc_provider_arn=cluster.oidc_provider_arn, oidc_issuer=cluster.oidc_issuer,
        kms_key_arn=cluster.kms_key.arn, k8s_provider=k8s_provider, vpc_id=network.vpc_id,
        node_groups=[n.node_group for n in node_groups], gpu=bool(gpu_groups),
        gpu_taints=[t for g in gpu_groups for t in g.taints], tags=tags))
    # The default StorageClass every volume claim names.
    pulumi.export("storageClassName", addons.storage_class_name)

    namespaces = {
        PRODUCTION: PlatformNamespace(PRODUCTION, PlatformNamespaceArgs(
            pod_security=POD_SECURITY[PRODUCTION], allowances={
                **production_allowances(cfg.network.vpc_cidr),
                **data_plane_allowance(cfg.traffic.router, cfg.traffic.ingress_nginx_namespace,
                                       cfg.workloads[ROUTED_WORKLOAD].port)}),
            opts=k8s_opts),
        MONITORING: PlatformNamespace(MONITORING, PlatformNamespaceArgs(
            pod_security=POD_SECURITY[MONITORING],
            allowances=monitoring_allowances(cfg.network.vpc_cidr)), opts=k8s_opts),
        GOVERNANCE: PlatformNamespace(GOVERNANCE, PlatformNamespaceArgs(
            pod_security=POD_SECURITY[GOVERNANCE]), opts=k8s_opts),
    }
    pulumi.export("clusterName", cluster.cluster_name)
    pulumi.export("oidcProviderArn", cluster.oidc_provider_arn)
    pulumi.export("kubeconfig", pulumi.Output.secret(kubeconfig))
    return ClusterParts(cluster=cluster, node_groups=node_groups, k8s_provider=k8s_provider, addons=addons,
                        namespaces=namespaces)
