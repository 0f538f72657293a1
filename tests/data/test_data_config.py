"""The data section of the config: defaults per stack, and bad values rejected with one line that
names the key and the stack file, before anything is registered."""
import pytest

from leadgen.config import ConfigError, load
from platformctl.project import stack_config

from .conftest import run_program

D = "leadgen:data"
PF = "in Pulumi.production.yaml"

CASES = [
    ({f"{D}.postgres.engineVersion": "15.4"},
     f"leadgen:data.postgres.engineVersion ('15.4') must pin a 17.x or 18.x minor, e.g. 17.9 {PF}"),
    ({f"{D}.postgres.engineVersion": "16.10"},
     f"leadgen:data.postgres.engineVersion ('16.10') must pin a 17.x or 18.x minor, e.g. 17.9 {PF}"),
    ({f"{D}.postgres.engineVersion": "17"},
     f"leadgen:data.postgres.engineVersion ('17') must pin a 17.x or 18.x minor, e.g. 17.9 {PF}"),
    ({f"{D}.postgres.instanceClass": "r6g.large"},
     f"leadgen:data.postgres.instanceClass ('r6g.large') is not an RDS instance class like db.r6g.large {PF}"),
    ({f"{D}.postgres.instanceClass": "db.t4g.medium"},
     f"leadgen:data.postgres.instanceClass ('db.t4g.medium') is burstable: production needs a steady class "
     f"(db.m* or db.r*) {PF}"),
    ({f"{D}.postgres.backupRetentionDays": "3"},
     f"leadgen:data.postgres.backupRetentionDays (3) must be at least 7 in production (the 7-day point-in-time "
     f"recovery window) {PF}"),
    ({f"{D}.postgres.backupRetentionDays": "40"},
     f"leadgen:data.postgres.backupRetentionDays (40) must be between 1 and 35 (RDS limit) {PF}"),
    ({f"{D}.postgres.backupRetentionDays": "seven"},
     f'leadgen:data.postgres.backupRetentionDays ("seven") must be an integer {PF}'),
    ({f"{D}.postgres.multiAz": "false"},
     f"leadgen:data.postgres.multiAz (false) must be true in production: a single AZ outage would take the "
     f"leads database down {PF}"),
    ({f"{D}.postgres.maxAllocatedStorageGb": "50"},
     f"leadgen:data.postgres.maxAllocatedStorageGb (50) must be between allocatedStorageGb (100) and 65536 {PF}"),
    ({f"{D}.postgres.masterUsername": "postgres"},
     f"leadgen:data.postgres.masterUsername ('postgres') is reserved by RDS or PostgreSQL {PF}"),
    ({f"{D}.postgres.databaseName": "Leads-DB"},
     f"leadgen:data.postgres.databaseName ('Leads-DB') must be a lowercase identifier (letters, digits, _; "
     f"starts with a letter) {PF}"),
    ({f"{D}.postgres.performanceInsightsRetentionDays": "30"},
     f"leadgen:data.postgres.performanceInsightsRetentionDays (30) must be 7, a multiple of 31 up to 713, or "
     f"731 {PF}"),
    ({f"{D}.redis.nodeType": "r7g.large"},
     f"leadgen:data.redis.nodeType ('r7g.large') is not an ElastiCache node type like cache.r7g.large {PF}"),
    ({f"{D}.redis.replicas": "0"},
     f"leadgen:data.redis.replicas (0) must be at least 1 in production: automatic failover needs a replica "
     f"in another AZ {PF}"),
    ({f"{D}.redis.engineVersion": "6.2"},
     f"leadgen:data.redis.engineVersion ('6.2') must be a Redis OSS 7.x version like 7.1 {PF}"),
    ({f"{D}.backup.schedule": "0 2 * *"},
     f"leadgen:data.backup.schedule ('0 2 * *') is not a Kubernetes cron schedule: it needs 5 fields "
     f"(minute hour day-of-month month day-of-week), has 4 {PF}"),
    ({f"{D}.backup.verifySchedule": "0 25 * * *"},
     f"leadgen:data.backup.verifySchedule ('0 25 * * *') is not a Kubernetes cron schedule: it has hour '25' "
     f"outside 0-23 {PF}"),
    ({f"{D}.backup.timeZone": "Mars/Olympus"},
     f"leadgen:data.backup.timeZone ('Mars/Olympus') is not an IANA time zone like Etc/UTC {PF}"),
    ({f"{D}.backup.tag": "latest"},
     f'leadgen:data.backup.tag ("latest") must be a pinned version: `latest` makes rollouts unrepeatable {PF}'),
    ({f"{D}.backup.prefix": "/postgres/"},
     f"leadgen:data.backup.prefix ('/postgres/') must be a relative S3 key prefix like postgres (lowercase, "
     f"no leading or trailing /) {PF}"),
    ({f"{D}.backup.objectLockDays": "3000"},
     f"leadgen:data.backup.objectLockDays (3000) must be between 1 and 2555: a lock past the archive's expiry "
     f"keeps objects the lifecycle must delete {PF}"),
    ({f"{D}.backup.scheduel": "0 3 * * *"},
     f"leadgen:data.backup.scheduel is not a known key; did you mean leadgen:data.backup.schedule? {PF}"),
    # An object given with `pulumi config set --path` reaches the same check.
    ({f"{D}": {"postgres": {"backupRetentionDays": 2}}},
     f"leadgen:data.postgres.backupRetentionDays (2) must be at least 7 in production (the 7-day "
     f"point-in-time recovery window) {PF}"),
]


@pytest.mark.parametrize("overrides,message", CASES, ids=[f"{next(iter(c[0]))}#{i}" for i, c in enumerate(CASES)])
def test_bad_data_config_is_one_line_and_registers_nothing(overrides, message):
    run, exc, registered = run_program("production", overrides)
    assert run is None and isinstance(exc, ConfigError), exc
    assert str(exc) == message
    assert "\n" not in str(exc)
    assert registered == []


def test_dev_may_run_small():
    cfg = load("leadgen", "dev", stack_config("dev")).data
    assert (cfg.postgres.multi_az, cfg.postgres.backup_retention_days, cfg.redis.replicas) == (False, 3, 0)
    # ...but the same values are refused for production (cases above): the rule is per environment.


@pytest.mark.parametrize("version", ["17.9", "18.3"])
def test_postgres_17_and_18_are_allowed(version):
    raw = {**stack_config("production"), f"{D}.postgres.engineVersion": version}
    assert load("leadgen", "production", raw).data.postgres.engine_version == version


def test_stack_defaults():
    prod = load("leadgen", "production", stack_config("production")).data
    assert prod.backup.schedule == "0 2 * * *"  # the runbook's 02:00
    assert prod.backup.time_zone == "Etc/UTC"
    # Empty: the stack's own ECR repository (tests/foundation/test_first_deploy.py).
    assert (prod.backup.image, prod.backup.tag.partition("@sha256:")[0]) == ("", "1.0.0")  # by digest
    assert prod.postgres.multi_az and prod.postgres.backup_retention_days >= 7
    assert prod.postgres.database_name == "insurance_lead_gen"
    assert prod.redis.replicas >= 1
