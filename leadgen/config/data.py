"""PostgreSQL on RDS, Redis on ElastiCache, and the backup bucket and jobs: their config keys and checks."""
from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass

from leadgen.config.base import Key, Values
from leadgen.config.network import LOG_RETENTION_DAYS
from leadgen.config.workloads import OWN_REPOSITORY, TAG_FORMAT, check_image, check_tag
from leadgen.data import ARCHIVE_UNTIL_DAYS, cron_error

# RDS for PostgreSQL majors the platform runs: 17 and 18 (the newest RDS lists 18.3 and 17.9 in its
# release notes; docs.aws.amazon.com/AmazonRDS/latest/PostgreSQLReleaseNotes/postgresql-versions.html).
# A minor is pinned so upgrades are deliberate. The backup job's pg_dump must be at least this major.
_ENGINE_VERSION = re.compile(r"^(17|18)\.\d+$")
_REDIS_VERSION = re.compile(r"^7\.[0-9]+$")
_DB_CLASS = re.compile(r"^db\.[a-z][a-z0-9-]*\.[a-z0-9]+$")
CACHE_NODE = re.compile(r"^cache\.[a-z][a-z0-9-]*\.[a-z0-9]+$")
_IDENT = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_PREFIX = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$")
# Performance Insights keeps 7 days free, or whole months (31-day multiples) up to 2 years.
PI_RETENTION = (7, *(31 * m for m in range(1, 24)), 731)
# Words RDS refuses as the master user name of a PostgreSQL instance.
_RESERVED_USERS = {"postgres", "rdsadmin", "rdsrepladmin", "admin", "root", "user", "public"}

P, R, B = "data.postgres", "data.redis", "data.backup"

KEYS = [
    Key(path=f"{P}.engineVersion", type="string", default="17.9", description="RDS PostgreSQL engine version, pinned to a 17.x or "
        "18.x minor (the backup image's pg_dump must be at least its major)."),
    Key(path=f"{P}.instanceClass", type="string", default="db.t4g.medium", description="RDS instance class of the leads database."),
    Key(path=f"{P}.allocatedStorageGb", type="integer", default=50, description="Initial gp3 storage of the database, GiB."),
    Key(path=f"{P}.maxAllocatedStorageGb", type="integer", default=200, description="Storage autoscaling ceiling, GiB (>= allocated)."),
    Key(path=f"{P}.multiAz", type="boolean", default=False, description="Synchronous standby in a second AZ; required in production."),
    Key(path=f"{P}.backupRetentionDays", type="integer", default=7, description="Automated backup (point-in-time recovery) retention, "
        "days (1-35; at least 7 in production)."),
    Key(path=f"{P}.databaseName", type="string", default="insurance_lead_gen", description="Database created on the instance (the "
        "runbook's `insurance_lead_gen`)."),
    Key(path=f"{P}.masterUsername", type="string", default="leadgen_admin", description="Master user; its password is generated and "
        "rotated by RDS in Secrets Manager."),
    Key(path=f"{P}.slowQueryMs", type="integer", default=500, description="Statements slower than this are logged "
        "(log_min_duration_statement), ms."),
    Key(path=f"{P}.performanceInsightsRetentionDays", type="integer", default=7, description="Performance Insights retention, days "
        "(7, or a multiple of 31 up to 731)."),
    Key(path=f"{P}.logRetentionDays", type="integer", default=365, description="Retention of the exported PostgreSQL log groups, days."),
    Key(path=f"{R}.engineVersion", type="string", default="7.1", description="ElastiCache Redis OSS engine version (7.x)."),
    Key(path=f"{R}.nodeType", type="string", default="cache.t4g.small", description="ElastiCache node type."),
    Key(path=f"{R}.replicas", type="integer", default=1, description="Read replicas beside the primary (0-5); production needs at "
        "least 1 for automatic failover."),
    Key(path=f"{R}.authTokenVersion", type="integer", default=1, description="Raise by one to rotate the Redis auth token (a new "
        "random token goes to Secrets Manager and ElastiCache in the same update)."),
    Key(path=f"{B}.schedule", type="string", default="0 2 * * *", description="Cron schedule of the pg_dump backup CronJob."),
    Key(path=f"{B}.verifySchedule", type="string", default="0 5 * * *", description="Cron schedule of the restore-verification "
        "CronJob."),
    Key(path=f"{B}.timeZone", type="string", default="Etc/UTC", description="IANA time zone the two schedules are read in."),
    Key(path=f"{B}.image", type="string", default="", description="Image repository of the pgbackup tool (no tag); "
        + OWN_REPOSITORY.format(image="pgbackup") + "."),
    Key(path=f"{B}.tag", type="string", default="1.0.0", description="Image tag of the pgbackup tool: " + TAG_FORMAT + "; "
        "never `latest`."),
    Key(path=f"{B}.prefix", type="string", default="postgres", description="Key prefix of the backups in the bucket; the jobs' IAM "
        "role reaches nothing outside it."),
    Key(path=f"{B}.objectLockDays", type="integer", default=ARCHIVE_UNTIL_DAYS, description="Object Lock (compliance mode, "
        "production) retention of each backup object, days; at most the 2,555-day archive."),
]


@dataclass(frozen=True, kw_only=True)
class PostgresConfig:
    engine_version: str
    instance_class: str
    allocated_storage_gb: int
    max_allocated_storage_gb: int
    multi_az: bool
    backup_retention_days: int
    database_name: str
    master_username: str
    slow_query_ms: int
    performance_insights_retention_days: int
    log_retention_days: int


@dataclass(frozen=True, kw_only=True)
class RedisConfig:
    engine_version: str
    node_type: str
    replicas: int
    auth_token_version: int


@dataclass(frozen=True, kw_only=True)
class BackupConfig:
    schedule: str
    verify_schedule: str
    time_zone: str
    image: str
    tag: str
    prefix: str
    object_lock_days: int


@dataclass(frozen=True, kw_only=True)
class DataConfig:
    postgres: PostgresConfig
    redis: RedisConfig
    backup: BackupConfig


def _production(values: Values) -> bool:
    return values.get("environment") == "production"


def _postgres(values: Values) -> PostgresConfig:
    prod = _production(values)
    version = values.get(f"{P}.engineVersion")
    if not _ENGINE_VERSION.fullmatch(version):
        raise values.error(f"{P}.engineVersion", f"({version!r}) must pin a 17.x or 18.x minor, e.g. 17.9")
    cls = values.get(f"{P}.instanceClass")
    if not _DB_CLASS.fullmatch(cls):
        raise values.error(f"{P}.instanceClass", f"({cls!r}) is not an RDS instance class like db.r6g.large")
    if prod and re.match(r"^db\.t\d", cls):
        raise values.error(f"{P}.instanceClass", f"({cls!r}) is burstable: production needs a steady "
                           "class (db.m* or db.r*)")
    size = values.get(f"{P}.allocatedStorageGb")
    if not 20 <= size <= 65536:
        raise values.error(f"{P}.allocatedStorageGb", f"({size}) must be between 20 and 65536")
    ceiling = values.get(f"{P}.maxAllocatedStorageGb")
    if not size <= ceiling <= 65536:
        raise values.error(f"{P}.maxAllocatedStorageGb", f"({ceiling}) must be between allocatedStorageGb "
                           f"({size}) and 65536")
    multi_az = values.get(f"{P}.multiAz")
    if prod and not multi_az:
        raise values.error(f"{P}.multiAz", "(false) must be true in production: a single AZ outage "
                           "would take the leads database down")
    retention = values.get(f"{P}.backupRetentionDays")
    if not 1 <= retention <= 35:
        raise values.error(f"{P}.backupRetentionDays", f"({retention}) must be between 1 and 35 (RDS limit)")
    if prod and retention < 7:
        raise values.error(f"{P}.backupRetentionDays", f"({retention}) must be at least 7 in production "
                           "(the 7-day point-in-time recovery window)")
    name = values.get(f"{P}.databaseName")
    if not _IDENT.fullmatch(name):
        raise values.error(f"{P}.databaseName", f"({name!r}) must be a lowercase identifier "
                           "(letters, digits, _; starts with a letter)")
    user = values.get(f"{P}.masterUsername")
    if not _IDENT.fullmatch(user):
        raise values.error(f"{P}.masterUsername", f"({user!r}) must be a lowercase identifier")
    if user in _RESERVED_USERS:
        raise values.error(f"{P}.masterUsername", f"({user!r}) is reserved by RDS or PostgreSQL")
    slow = values.get(f"{P}.slowQueryMs")
    if not 0 <= slow <= 600_000:
        raise values.error(f"{P}.slowQueryMs", f"({slow}) must be between 0 and 600000")
    pi = values.get(f"{P}.performanceInsightsRetentionDays")
    if pi not in PI_RETENTION:
        raise values.error(f"{P}.performanceInsightsRetentionDays", f"({pi}) must be 7, a multiple of "
                           "31 up to 713, or 731")
    logs = values.get(f"{P}.logRetentionDays")
    if logs not in LOG_RETENTION_DAYS:
        raise values.error(f"{P}.logRetentionDays", f"({logs}) is not a CloudWatch retention period")
    return PostgresConfig(engine_version=version, instance_class=cls, allocated_storage_gb=size,
                          max_allocated_storage_gb=ceiling, multi_az=multi_az,
                          backup_retention_days=retention, database_name=name, master_username=user,
                          slow_query_ms=slow, performance_insights_retention_days=pi,
                          log_retention_days=logs)


def _redis(values: Values) -> RedisConfig:
    version = values.get(f"{R}.engineVersion")
    if not _REDIS_VERSION.fullmatch(version):
        raise values.error(f"{R}.engineVersion", f"({version!r}) must be a Redis OSS 7.x version like 7.1")
    node = values.get(f"{R}.nodeType")
    if not CACHE_NODE.fullmatch(node):
        raise values.error(f"{R}.nodeType", f"({node!r}) is not an ElastiCache node type like cache.r7g.large")
    replicas = values.get(f"{R}.replicas")
    if not 0 <= replicas <= 5:
        raise values.error(f"{R}.replicas", f"({replicas}) must be between 0 and 5")
    if _production(values) and replicas < 1:
        raise values.error(f"{R}.replicas", f"({replicas}) must be at least 1 in production: automatic "
                           "failover needs a replica in another AZ")
    version_no = values.get(f"{R}.authTokenVersion")
    if version_no < 1:
        raise values.error(f"{R}.authTokenVersion", f"({version_no}) must be >= 1")
    return RedisConfig(engine_version=version, node_type=node, replicas=replicas, auth_token_version=version_no)


def _backup(values: Values) -> BackupConfig:
    schedules = []
    for key in (f"{B}.schedule", f"{B}.verifySchedule"):
        schedule = values.get(key)
        why = cron_error(schedule)
        if why:
            raise values.error(key, f"({schedule!r}) is not a Kubernetes cron schedule: it {why}")
        schedules.append(schedule.strip())
    tz = values.get(f"{B}.timeZone")
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise values.error(f"{B}.timeZone", f"({tz!r}) is not an IANA time zone like Etc/UTC") from None
    image = check_image(values, f"{B}.image")
    tag = check_tag(values, f"{B}.tag")
    prefix = values.get(f"{B}.prefix")
    if not _PREFIX.fullmatch(prefix):
        raise values.error(f"{B}.prefix", f"({prefix!r}) must be a relative S3 key prefix like postgres "
                           "(lowercase, no leading or trailing /)")
    lock = values.get(f"{B}.objectLockDays")
    if not 1 <= lock <= ARCHIVE_UNTIL_DAYS:
        raise values.error(f"{B}.objectLockDays", f"({lock}) must be between 1 and {ARCHIVE_UNTIL_DAYS}: "
                           "a lock past the archive's expiry keeps objects the lifecycle must delete")
    return BackupConfig(schedule=schedules[0], verify_schedule=schedules[1], time_zone=tz, image=image,
                        tag=tag, prefix=prefix, object_lock_days=lock)


def build(values: Values) -> DataConfig:
    return DataConfig(postgres=_postgres(values), redis=_redis(values), backup=_backup(values))
