"""The Insurance Lead Gen platform: load config, build components, export.

`pulumi preview` runs this file as it is; `python -m platformctl preview` runs it unchanged under
the SDK's mock engine. Config is validated before anything is registered. The file reads by
domain: network, cluster, workloads, traffic, data, observability, then governance.
"""
import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.backup_bucket import BackupBucket, BackupBucketArgs
from components.backup_jobs import BackupJobs, BackupJobsArgs
from components.cache import Cache, CacheArgs
from components.cluster import Cluster, ClusterArgs
from components.cluster_addons import ClusterAddons, ClusterAddonsArgs
from components.database import Database, DatabaseArgs
from components.dr_alarms import DrAlarms, DrAlarmsArgs
from components.dr_backup_replica import DrBackupReplica, DrBackupReplicaArgs
from components.dr_probe import PrimaryProbe, PrimaryProbeArgs
from components.failover_dns import FailoverDns, FailoverDnsArgs
from components.monitoring import Monitoring, MonitoringArgs, otel_env
from components.namespaces import (GOVERNANCE, MONITORING, POD_SECURITY, PRODUCTION,
                                   PlatformNamespace, PlatformNamespaceArgs,
                                   monitoring_allowances, production_allowances)
from components.network import Network, NetworkArgs
from components.node_addons import NodeAddons, NodeAddonsArgs
from components.node_group import NodeGroup, NodeGroupArgs
from components.registry import ImageRepositories, ImageRepositoriesArgs
from components.slo_scraping import ScrapedWorkload
from components.traffic import Traffic, TrafficArgs, data_plane_allowance
from components.workload import Workload, WorkloadArgs
from leadgen.config import ConfigError, load_from_pulumi
from leadgen.kubeconfig import kubeconfig_json
from leadgen.traffic import CERT_MANAGER_NAMESPACE, ENVOY_NAMESPACE, GATEWAY_API, public_routes

cfg = load_from_pulumi()
tags = cfg.tags
prod = cfg.core.is_production
cluster_name = f"insurance-lead-gen-{cfg.stack}"  # the runbook's `--name insurance-lead-gen-production`
dr = cfg.dr
# A recovery site knows the primary only through the primary stack's `dr` output (README: Disaster
# recovery); in standby it runs at minimum capacity (dr.node_groups, dr.workload).
primary = pulumi.StackReference(dr.primary_stack).get_output("dr") if dr.is_recovery else None

# --- network -------------------------------------------------------------------------------------
zones = aws.get_availability_zones(state="available").names
if len(zones) < cfg.network.az_count:
    raise ConfigError(f"leadgen:network.azCount ({cfg.network.az_count}) exceeds the {len(zones)} "
                      f"zones of {cfg.core.region} in Pulumi.{cfg.stack}.yaml")

network = Network(cfg.prefix, NetworkArgs(
    cidr=cfg.network.vpc_cidr, availability_zones=zones[:cfg.network.az_count],
    private_subnets=cfg.network.private_subnets, public_subnets=cfg.network.public_subnets,
    cluster_name=cluster_name, nat_per_az=cfg.network.nat_per_az,
    flow_log_retention_days=cfg.network.flow_log_retention_days, tags=tags))
pulumi.export("vpcId", network.vpc_id)

# --- cluster: control plane, node groups, the Kubernetes provider, add-ons and namespaces ---------
cluster = Cluster(cfg.prefix, ClusterArgs(
    cluster_name=cluster_name, version=cfg.cluster.version, vpc_id=network.vpc_id,
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
    for g in dr.node_groups(cfg.cluster.node_groups)
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
    cluster_name=cluster_name, version=cfg.cluster.version, region=cluster.region,
    oidc_provider_arn=cluster.oidc_provider_arn, oidc_issuer=cluster.oidc_issuer,
    kms_key_arn=cluster.kms_key.arn, k8s_provider=k8s_provider, vpc_id=network.vpc_id,
    node_groups=[n.node_group for n in node_groups], gpu=bool(gpu_groups),
    gpu_taints=[t for g in gpu_groups for t in g.taints], tags=tags))
# The default StorageClass every volume claim names.
pulumi.export("storageClassName", addons.storage_class_name)

app_ports = [w.port for w in (cfg.workloads.api, cfg.workloads.backend)]
namespaces = {
    PRODUCTION: PlatformNamespace(PRODUCTION, PlatformNamespaceArgs(
        pod_security=POD_SECURITY[PRODUCTION], allowances={
            **production_allowances(cfg.network.vpc_cidr, app_ports),
            **data_plane_allowance(cfg.traffic.router, cfg.traffic.ingress_nginx_namespace,
                                   cfg.workloads.api.port)}),
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

# --- workloads -----------------------------------------------------------------------------------
# The stack's own ECR repositories; an image key left empty in config pulls from them.
registry = ImageRepositories(f"{cfg.prefix}-images", ImageRepositoriesArgs(
    prefix=cfg.prefix, images=("api", "backend", "pgbackup"), tags=tags))
pulumi.export("imageRepositories", registry.urls)


def image(repository: str, own: str, tag: str) -> pulumi.Input[str]:
    """`repository:tag`, the configured repository or else the stack's own `own` repository."""
    return f"{repository}:{tag}" if repository else pulumi.Output.concat(registry.urls[own], ":", tag)


# Pods are asked for once a node group exists: on a first update their readiness waits would
# otherwise run out while the nodes are still joining.
nodes_ready = [n.node_group for n in node_groups]
workload_opts = pulumi.ResourceOptions(provider=k8s_provider,
                                       depends_on=[namespaces[PRODUCTION].namespace, *nodes_ready])
workloads = {
    w.name: Workload(w.name, WorkloadArgs(
        namespace=PRODUCTION, image=image(w.image, w.name, w.tag), port=w.port,
        cpu_request=w.cpu_request,
        memory_request=w.memory_request, cpu_limit=w.cpu_limit, memory_limit=w.memory_limit,
        min_replicas=w.min_replicas, max_replicas=w.max_replicas, target_cpu=w.target_cpu,
        env=otel_env(w.name)),
        opts=workload_opts)
    for w in map(dr.workload, (cfg.workloads.api, cfg.workloads.backend))
}

# --- traffic: `api-canary` beside the stable `api`, and the router that splits requests between them
# (docs/runbooks/canary-release.md walks a release through the config keys).
api, canary = cfg.workloads.api, cfg.traffic.canary
api_canary = Workload("api-canary", WorkloadArgs(
    namespace=PRODUCTION, image=image(api.image, api.name, canary.tag or api.tag), port=api.port,
    cpu_request=api.cpu_request, memory_request=api.memory_request, cpu_limit=api.cpu_limit,
    memory_limit=api.memory_limit, replicas=canary.replicas, app="api", track="canary",
    env=otel_env(api.name, track="canary")),
    opts=workload_opts)
traffic = Traffic(f"{cfg.prefix}-traffic", TrafficArgs(
    router=cfg.traffic.router, hostname=cfg.traffic.hostname, public_hostname=dr.public_hostname or None,
    zone_name=cfg.traffic.zone_name,
    zone_id=cfg.traffic.zone_id, issuer=cfg.traffic.issuer, acme_email=cfg.traffic.acme_email,
    certificate_duration=cfg.traffic.certificate_duration,
    certificate_renew_before=cfg.traffic.certificate_renew_before, weight=canary.weight,
    namespace=PRODUCTION, port=api.port, cluster_name=cluster_name,
    oidc_provider_arn=cluster.oidc_provider_arn, oidc_issuer=cluster.oidc_issuer,
    region=cluster.region,
    # The load balancer controller must exist before the gateway's Service asks for an NLB.
    depends_on=[*(n.node_group for n in node_groups), namespaces[PRODUCTION].namespace,
                addons.load_balancer_controller],
    backends=[workloads[api.name].deployment, api_canary.deployment], tags=tags),
    opts=pulumi.ResourceOptions(providers={"kubernetes": k8s_provider}))
pulumi.export("apiUrl", traffic.url)

# --- data: the leads database, Redis, the backup bucket and the backup jobs ----------------------
data = cfg.data
# Components never build providers: the DR region's is made here and handed to the database,
# which replicates its automated backups there (production only).
dr_provider = aws.Provider(f"{cfg.prefix}-dr", region=cfg.core.dr_region) if prod else None
database = Database(f"{cfg.prefix}-postgres", DatabaseArgs(
    vpc_id=network.vpc_id, subnet_ids=network.private_subnet_ids,
    node_security_group_id=cluster.node_security_group_id,
    engine_version=data.postgres.engine_version, instance_class=data.postgres.instance_class,
    allocated_storage_gb=data.postgres.allocated_storage_gb,
    max_allocated_storage_gb=data.postgres.max_allocated_storage_gb,
    backup_retention_days=data.postgres.backup_retention_days,
    database_name=data.postgres.database_name, master_username=data.postgres.master_username,
    multi_az=dr.multi_az(data.postgres.multi_az), slow_query_ms=data.postgres.slow_query_ms,
    performance_insights_retention_days=data.postgres.performance_insights_retention_days,
    log_retention_days=data.postgres.log_retention_days, protect=prod, dr_provider=dr_provider,
    # A standby replicates the primary's database; `dr.state: active` promotes it.
    replicate_source_db=primary["databaseArn"] if dr.standby else None,
    promoted_replica=dr.is_recovery and not dr.standby, tags=tags))
cache = Cache(f"{cfg.prefix}-redis", CacheArgs(
    vpc_id=network.vpc_id, subnet_ids=network.private_subnet_ids,
    node_security_group_id=cluster.node_security_group_id,
    engine_version=data.redis.engine_version, node_type=dr.redis_node_type(data.redis.node_type),
    replicas=data.redis.replicas, auth_token_version=data.redis.auth_token_version,
    log_retention_days=data.postgres.log_retention_days, protect=prod, tags=tags))
backup_bucket = BackupBucket(f"{cfg.prefix}-backups", BackupBucketArgs(
    object_lock_days=data.backup.object_lock_days if prod else None, protect=prod, tags=tags))
# A standby's database is a replica of one that is backed up already: it backs up once it is the writer.
backup_jobs = None if dr.standby else BackupJobs(f"{cfg.prefix}-pgbackup", BackupJobsArgs(
    namespace=PRODUCTION, image=image(data.backup.image, "pgbackup", data.backup.tag),
    schedule=data.backup.schedule,
    verify_schedule=data.backup.verify_schedule, time_zone=data.backup.time_zone,
    bucket_name=backup_bucket.bucket_name, bucket_arn=backup_bucket.bucket_arn,
    bucket_kms_key_arn=backup_bucket.kms_key_arn, prefix=data.backup.prefix,
    db_address=database.address, db_port=database.port, db_name=database.database_name,
    db_username=database.master_username, db_secret_arn=database.master_secret_arn,
    db_kms_key_arn=database.kms_key.arn, db_instance_arn=database.instance_arn,
    db_resource_id=database.resource_id, oidc_provider_arn=cluster.oidc_provider_arn,
    oidc_issuer=cluster.oidc_issuer, region=cluster.region,
    # The Service the monitoring stack's `pushgateway` release of the prometheus-pushgateway chart
    # creates (`<release>-<chart>`); tests/data checks the two agree.
    pushgateway_url="http://pushgateway-prometheus-pushgateway.monitoring.svc:9091", tags=tags),
    opts=pulumi.ResourceOptions(providers={"kubernetes": k8s_provider},
                                depends_on=[namespaces[PRODUCTION].namespace, *nodes_ready]))
pulumi.export("database", {"endpoint": database.endpoint, "masterSecretArn": database.master_secret_arn})
pulumi.export("redis", {"primaryEndpoint": cache.primary_endpoint, "authSecretArn": cache.auth_secret_arn})
pulumi.export("backupBucket", backup_bucket.bucket_name)

# --- disaster recovery: what a recovery site reads from this stack, and its own standby parts ------
pulumi.export("dr", {
    "site": dr.site, "state": dr.state, "region": cfg.core.region, "apiHostname": cfg.traffic.hostname,
    "publicHostname": dr.public_hostname,
    "databaseArn": database.instance_arn, "backupBucket": backup_bucket.bucket_name,
    "backupBucketArn": backup_bucket.bucket_arn, "backupKmsKeyArn": backup_bucket.kms_key_arn})
if dr.is_recovery:
    primary_region = aws.Provider(f"{cfg.prefix}-primary-region", region=primary["region"])
    backup_replica = DrBackupReplica(f"{cfg.prefix}-backups-replica", DrBackupReplicaArgs(
        source_bucket_name=primary["backupBucket"], source_bucket_arn=primary["backupBucketArn"],
        source_kms_key_arn=primary["backupKmsKeyArn"], source_provider=primary_region,
        object_lock_days=data.backup.object_lock_days, protect=prod, tags=tags))
    failover = FailoverDns(f"{cfg.prefix}-failover", FailoverDnsArgs(
        zone_id=cfg.traffic.zone_id, hostname=dr.public_hostname, primary_origin=primary["apiHostname"],
        recovery_origin=cfg.traffic.hostname, primary_weight=dr.primary_weight,
        decision_region=cfg.core.region, tags=tags))
    probe = PrimaryProbe(f"{cfg.prefix}-primary-probe", PrimaryProbeArgs(
        primary_origin=primary["apiHostname"], health_check_path=dr.health_check_path,
        log_retention_days=cfg.cluster.log_retention_days, tags=tags))
    paging = aws.secretsmanager.get_secret_version_output(secret_id=dr.paging_secret(cfg.stack))
    DrAlarms(f"{cfg.prefix}-standby", DrAlarmsArgs(
        paging_endpoint=pulumi.Output.secret(paging.secret_string),
        health_namespace=probe.namespace, health_metric=probe.metric, health_dimensions=probe.dimensions,
        replica_identifier=database.instance.identifier if dr.standby else None,
        lag_threshold_s=dr.replica_lag_alarm_seconds, tags=tags))
    pulumi.export("recovery", {"decisionAlarm": failover.decision_alarm_name,
                               "replicaBucket": backup_replica.bucket_name})

# --- observability -------------------------------------------------------------------------------
monitoring = Monitoring(f"{cfg.prefix}-obs", MonitoringArgs(
    stack=cfg.stack, cluster_name=cluster.cluster_name, region=cluster.region,
    oidc_provider_arn=cluster.oidc_provider_arn, oidc_issuer=cluster.oidc_issuer,
    config=cfg.observability, k8s_provider=k8s_provider, vpc_cidr=cfg.network.vpc_cidr,
    storage_class=addons.storage_class_name, database_address=database.address,
    database_port=database.port, database_name=database.database_name,
    # The SLOs read these workloads; their ServiceMonitors are built from their Services.
    scraped_workloads=[ScrapedWorkload(name=f"workload-{w.name}", service=w.service)
                       for w in (*workloads.values(), api_canary)],
    cert_manager_namespace=CERT_MANAGER_NAMESPACE,
    envoy_gateway_namespace=ENVOY_NAMESPACE if cfg.traffic.router == GATEWAY_API else None,
    public_routes=public_routes(PRODUCTION) if cfg.traffic.router == GATEWAY_API else {},
    protected=prod,
    depends_on=[namespaces[MONITORING].namespace, *(n.node_group for n in node_groups),
                addons.storage_class], tags=tags))
pulumi.export("observabilityBuckets", {"loki": monitoring.loki_bucket, "tempo": monitoring.tempo_bucket})
# The long-term store the error-budget gate queries (SigV4, service `aps`), and the policy CI attaches.
pulumi.export("sloStore", {"queryUrl": monitoring.amp_query_url, "queryPolicyArn": monitoring.amp_query_policy_arn})

# --- governance: the change this update ran under ------------------------------------------------
pulumi.export("changeRequest", cfg.governance.change_request)
