"""Disaster recovery: what a recovery site reads from this stack, and its own standby parts.

A recovery site knows the primary only through the primary stack's `dr` output (README: Disaster
recovery); in standby it runs at minimum capacity (dr.node_groups, dr.workload).
"""
from __future__ import annotations

from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from components.dr_alarms import DrAlarms, DrAlarmsArgs
from components.dr_backup_replica import DrBackupReplica, DrBackupReplicaArgs
from components.dr_probe import PrimaryProbe, PrimaryProbeArgs
from components.failover_dns import FailoverDns, FailoverDnsArgs
from domains.data import DataParts
from leadgen.config import StackConfig


def primary_outputs(cfg: StackConfig) -> Optional[Any]:
    """The primary stack's `dr` output, on a recovery site."""
    return pulumi.StackReference(cfg.dr.primary_stack).get_output("dr") if cfg.dr.is_recovery else None


def writer_outputs(cfg: StackConfig, primary: Optional[Any]) -> Optional[Any]:
    """The `dr` output of the stack whose writer this site's database replicates, when it is a
    replica: a standby's primary, or the acting recovery writer the primary is rebuilt from
    during failback (`dr.replicaOf`). Only then does the primary read the recovery stack."""
    if not cfg.dr.replica:
        return None
    if cfg.dr.is_recovery:
        return primary
    return pulumi.StackReference(cfg.dr.replica_of).get_output("dr")


def build(cfg: StackConfig, data: DataParts, primary: Optional[Any]) -> None:
    dr, prod, tags = cfg.dr, cfg.core.is_production, cfg.tags
    pulumi.export("dr", {
        "site": dr.site, "state": dr.state, "region": cfg.core.region, "apiHostname": cfg.traffic.hostname,
        "publicHostname": dr.public_hostname,
        "databaseArn": data.database.instance_arn, "replicaOf": dr.replica_of, "readOnly": dr.read_only,
        "backupBucket": data.backup_bucket.bucket_name,
        "backupBucketArn": data.backup_bucket.bucket_arn, "backupKmsKeyArn": data.backup_bucket.kms_key_arn})
    if not dr.is_recovery:
        return
    primary_region = aws.Provider(f"{cfg.prefix}-primary-region", region=primary["region"])
    backup_replica = DrBackupReplica(f"{cfg.prefix}-backups-replica", DrBackupReplicaArgs(
        source_bucket_name=primary["backupBucket"], source_bucket_arn=primary["backupBucketArn"],
        source_kms_key_arn=primary["backupKmsKeyArn"], source_provider=primary_region,
        object_lock_days=cfg.data.backup.object_lock_days, protect=prod, tags=tags))
    failover = FailoverDns(f"{cfg.prefix}-failover", FailoverDnsArgs(
        zone_id=cfg.traffic.zone_id, hostname=dr.public_hostname, primary_origin=primary["apiHostname"],
        recovery_origin=cfg.traffic.hostname, primary_weight=dr.primary_weight,
        decision_region=cfg.core.region, tags=tags))
    # The primary's health is probed, and paged, from the recovery region: nothing here needs the
    # failed one.
    probe = PrimaryProbe(f"{cfg.prefix}-primary-probe", PrimaryProbeArgs(
        primary_origin=primary["apiHostname"], health_check_path=dr.health_check_path,
        log_retention_days=cfg.cluster.log_retention_days, tags=tags))
    paging = aws.secretsmanager.get_secret_version_output(secret_id=dr.paging_secret(cfg.stack))
    DrAlarms(f"{cfg.prefix}-standby", DrAlarmsArgs(
        paging_endpoint=pulumi.Output.secret(paging.secret_string),
        health_namespace=probe.namespace, health_metric=probe.metric, health_dimensions=probe.dimensions,
        replica_identifier=data.database.instance.identifier if dr.standby else None,
        lag_threshold_s=dr.replica_lag_alarm_seconds, tags=tags))
    pulumi.export("recovery", {"decisionAlarm": failover.decision_alarm_name,
                               "replicaBucket": backup_replica.bucket_name})
