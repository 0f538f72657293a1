"""Data: the leads database, Redis, the backup bucket and the backup jobs."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from components.backup_bucket import BackupBucket, BackupBucketArgs
from components.backup_jobs import BackupJobs, BackupJobsArgs
from components.cache import Cache, CacheArgs
from components.database import Database, DatabaseArgs
from components.namespaces import PRODUCTION
from components.network import Network
from domains.cluster import ClusterParts
from domains.images import BACKUP_IMAGE, Images, pull_policy
from leadgen.config import StackConfig
from leadgen.observability.catalog import PUSHGATEWAY_URL


@dataclass(frozen=True, kw_only=True)
class DataParts:
    database: Database
    cache: Cache
    backup_bucket: BackupBucket


def build(cfg: StackConfig, network: Network, k8s: ClusterParts, images: Images,
          writer: Optional[Any]) -> DataParts:
    """`writer`: the `dr` output of the stack whose database this site's replicates (None when
    this site's database is the writer)."""
    data, dr, prod, tags = cfg.data, cfg.dr, cfg.core.is_production, cfg.tags
    cluster = k8s.cluster
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
        unprotect_instance=dr.unprotect_database, final_snapshot_identifier=dr.final_snapshot or None,
        # A standby replicates the primary's database (`dr.state: active` promotes it); during
        # failback the primary's is rebuilt as a replica of the acting writer, then promoted.
        replicate_source_db=writer["databaseArn"] if dr.replica else None,
        promoted_replica=dr.promoted, read_only=dr.read_only, tags=tags))
    cache = Cache(f"{cfg.prefix}-redis", CacheArgs(
        vpc_id=network.vpc_id, subnet_ids=network.private_subnet_ids,
        node_security_group_id=cluster.node_security_group_id,
        engine_version=data.redis.engine_version, node_type=dr.redis_node_type(data.redis.node_type),
        replicas=data.redis.replicas, auth_token_version=data.redis.auth_token_version,
        log_retention_days=data.postgres.log_retention_days, protect=prod, tags=tags))
    backup_bucket = BackupBucket(f"{cfg.prefix}-backups", BackupBucketArgs(
        object_lock_days=data.backup.object_lock_days if prod else None, protect=prod, tags=tags))
    # A replica's writer is backed up already: a database backs up here while it is the writer.
    if not dr.replica:
        BackupJobs(f"{cfg.prefix}-pgbackup", BackupJobsArgs(
            namespace=PRODUCTION, image=images.image(data.backup.image, BACKUP_IMAGE, data.backup.tag),
            image_pull_policy=pull_policy(data.backup.tag),
            schedule=data.backup.schedule,
            verify_schedule=data.backup.verify_schedule, time_zone=data.backup.time_zone,
            bucket_name=backup_bucket.bucket_name, bucket_arn=backup_bucket.bucket_arn,
            bucket_kms_key_arn=backup_bucket.kms_key_arn, prefix=data.backup.prefix,
            db_address=database.address, db_port=database.port, db_name=database.database_name,
            db_instance_arn=database.instance_arn,
            db_resource_id=database.resource_id, oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_issuer=cluster.oidc_issuer, region=cluster.region, pushgateway_url=PUSHGATEWAY_URL, tags=tags),
            opts=pulumi.ResourceOptions(providers={"kubernetes": k8s.k8s_provider},
                                        depends_on=[k8s.namespaces[PRODUCTION].namespace,
                                                    *(n.node_group for n in k8s.node_groups)]))
    pulumi.export("database", {"endpoint": database.endpoint, "masterSecretArn": database.master_secret_arn})
    pulumi.export("redis", {"primaryEndpoint": cache.primary_endpoint, "authSecretArn": cache.auth_secret_arn})
    pulumi.export("backupBucket", backup_bucket.bucket_name)
    return DataParts(database=database, cache=cache, backup_bucket=backup_bucket)
