"""Traffic: `api-canary` beside the routed workload, and the router that splits requests between
them (docs/runbooks/canary-release.md walks a release through the config keys)."""
from __future__ import annotations

import pulumi

from components.namespaces import PRODUCTION
from components.traffic import Traffic, TrafficArgs
from components.workload import Workload
from domains.cluster import ClusterParts
from domains.data import DataParts
from domains.images import Images, pull_policy
from domains.workloads import endpoints, workload_args
from leadgen.config import StackConfig
from leadgen.config.traffic import ROUTED_WORKLOAD


def build(cfg: StackConfig, k8s: ClusterParts, data: DataParts, images: Images,
          workloads: dict[str, Workload]) -> Traffic:
    routed, canary, cluster = cfg.workloads[ROUTED_WORKLOAD], cfg.traffic.canary, k8s.cluster
    # The same service on its own track: its tag, a fixed replica count, the stable track's
    # ServiceAccount (so its IAM role) and the same Secrets.
    api_canary = Workload(f"{routed.name}-canary", workload_args(
        routed, images, endpoints(data, k8s), track="canary", app=routed.name, replicas=canary.replicas,
        image=images.image(routed.image, routed.name, canary.tag or routed.tag),
        image_pull_policy=pull_policy(canary.tag or routed.tag),
        service_account_name=routed.name),
        opts=pulumi.ResourceOptions(provider=k8s.k8s_provider, depends_on=[
            k8s.namespaces[PRODUCTION].namespace, *(n.node_group for n in k8s.node_groups),
            workloads[routed.name].deployment]))
    traffic = Traffic(f"{cfg.prefix}-traffic", TrafficArgs(
        router=cfg.traffic.router, hostname=cfg.traffic.hostname,
        public_hostname=cfg.dr.public_hostname or None, zone_name=cfg.traffic.zone_name,
        zone_id=cfg.traffic.zone_id, issuer=cfg.traffic.issuer, acme_email=cfg.traffic.acme_email,
        certificate_duration=cfg.traffic.certificate_duration,
        certificate_renew_before=cfg.traffic.certificate_renew_before, weight=canary.weight,
        namespace=PRODUCTION, port=routed.port, cluster_name=cfg.cluster_name,
        oidc_provider_arn=cluster.oidc_provider_arn, oidc_issuer=cluster.oidc_issuer,
        region=cluster.region,
        # The load balancer controller must exist before the gateway's Service asks for an NLB.
        depends_on=[*(n.node_group for n in k8s.node_groups), k8s.namespaces[PRODUCTION].namespace,
                    k8s.addons.load_balancer_controller],
        backends=[workloads[routed.name].deployment, api_canary.deployment], tags=cfg.tags),
        opts=pulumi.ResourceOptions(providers={"kubernetes": k8s.k8s_provider}))
    pulumi.export("apiUrl", traffic.url)
    return traffic
