"""The workloads: for every entry of `leadgen:workloads`, what leadgen/workloads.py derives, built."""
from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.monitoring import Monitoring
from components.namespaces import PRODUCTION
from components.workload import Workload, WorkloadArgs
from components.workload_access import SyncedSecret, WorkloadAccess, WorkloadAccessArgs
from domains.cluster import ClusterParts
from domains.data import DataParts
from domains.images import Images, pull_policy
from leadgen import workloads as derived
from leadgen.config import StackConfig
from leadgen.config.workloads import WorkloadConfig
from leadgen.workloads import Endpoints, Grants, Site


def site(cfg: StackConfig) -> Site:
    return Site(vpc_cidr=cfg.network.vpc_cidr, data_subnets=tuple(cfg.network.private_subnets))


def endpoints(data: DataParts, k8s: ClusterParts) -> Endpoints:
    return Endpoints(db_host=data.database.address, db_port=data.database.port.apply(str),
                     db_name=data.database.database_name, redis_host=data.cache.primary_endpoint,
                     redis_port=str(derived.REDIS_PORT), region=k8s.cluster.region)


def workload_args(w: WorkloadConfig, images: Images, ends: Endpoints, *, track: str = "stable", **extra) -> WorkloadArgs:
    spec = derived.derive("deployment", w, ends, track)
    scale = derived.derive("autoscaler", w)
    kwargs = dict(
        namespace=PRODUCTION, image=images.image(w.image, w.name, w.tag), image_pull_policy=pull_policy(w.tag),
        port=spec.port,
        metrics_port=spec.metrics_port, cpu_request=spec.cpu_request, memory_request=spec.memory_request,
        cpu_limit=spec.cpu_limit, memory_limit=spec.memory_limit, env=spec.env, secret_env=spec.secret_env,
        disruption_budget=derived.derive("disruption_budget", w), track=track,
        service_ports=derived.derive("service", w) or [])
    if scale:
        kwargs.update(min_replicas=scale["min_replicas"], max_replicas=scale["max_replicas"],
                      target_cpu=scale["target_cpu"])
    else:
        kwargs["replicas"] = w.min_replicas
    kwargs.update(extra)
    return WorkloadArgs(**kwargs)


def build(cfg: StackConfig, k8s: ClusterParts, data: DataParts, images: Images,
          monitoring: Monitoring) -> dict[str, Workload]:
    cluster, where, ends = k8s.cluster, site(cfg), endpoints(data, k8s)
    account = aws.get_caller_identity_output().account_id
    # Pods are asked for once a node group exists: on a first update their readiness waits would
    # otherwise run out while the nodes are still joining.
    opts = pulumi.ResourceOptions(provider=k8s.k8s_provider, depends_on=[
        k8s.namespaces[PRODUCTION].namespace, *(n.node_group for n in k8s.node_groups)])
    built: dict[str, Workload] = {}
    for w in map(cfg.dr.workload, cfg.workloads):
        if derived.derive("deployment", w, ends) is None:
            continue
        # Whether it needs any grant is known from config alone; the ARNs only once they exist.
        policy = None
        if derived.derive("iam_policy", w, Grants(region="-", account="-")) is not None:
            policy = pulumi.Output.all(cluster.region, account, data.database.instance.resource_id,
                                       data.cache.auth_secret_arn, data.cache.kms_key.arn).apply(
                lambda v, w=w: derived.derive("iam_policy", w, Grants(
                    region=v[0], account=v[1], db_resource_id=v[2] or "", redis_secret_arn=v[3],
                    redis_kms_key_arn=v[4])))
        spec = derived.derive("deployment", w, ends)
        secrets = [SyncedSecret(name=secret, key=key, remote=data.cache.auth_secret.name)
                   for secret, key in spec.secret_env.values()]
        access, account_name = None, derived.derive("service_account", w)
        if derived.derive("iam_role", w) and account_name:
            access = WorkloadAccess(f"{cfg.prefix}-{w.name}", WorkloadAccessArgs(
                namespace=PRODUCTION, service_account=account_name,
                oidc_provider_arn=cluster.oidc_provider_arn, oidc_issuer=cluster.oidc_issuer,
                region=cluster.region, policy_json=policy,
                network_policy=derived.derive("network_policy", w, where),
                secrets=secrets, secret_store=derived.SECRET_STORE.format(name=w.name),
                external_secrets=[monitoring.external_secrets], k8s_provider=k8s.k8s_provider,
                tags=cfg.tags), opts=pulumi.ResourceOptions(depends_on=[k8s.namespaces[PRODUCTION].namespace]))
        annotations = {"eks.amazonaws.com/role-arn": access.role_arn} if access else {}
        built[w.name] = Workload(w.name, workload_args(
            w, images, ends, service_account_annotations=annotations,
            # Without its own account the pods would run as the namespace's `default`, with no role.
            service_account_name=None if account_name else "default",
            deployment_depends_on=access.external_secrets if access else []), opts=opts)
    return built
