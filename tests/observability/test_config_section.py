"""The observability config section: defaults build, bad input is one line naming the key."""
from __future__ import annotations

import json

import pytest

from leadgen.config import observability as section
from leadgen.config.base import ConfigError, Values


def build(**overrides):
    raw = {f"leadgen:observability.{k}": (json.dumps(v) if isinstance(v, (list, dict)) else v)
           for k, v in overrides.items()}
    return section.build(Values("production", raw, section.KEYS))


def test_defaults_build_the_runbook_slos():
    cfg = build()
    # Each workload's own SLOs come from its entry (leadgen/workloads.py); none beyond them by default.
    assert cfg.slos == ()
    from leadgen import workloads as derived
    from leadgen.config import load
    from platformctl.project import stack_config
    slos = derived.all_slos(load("leadgen", "production", stack_config("production")).workloads)
    assert [(s.name, str(s.objective), s.window, str(s.threshold)) for s in slos[:2]] == [
        ("api-availability", "99.9", "28d", "None"), ("api-latency", "99", "28d", "0.5")]
    assert cfg.prometheus_retention == "15d" and cfg.loki_retention == "720h"
    assert cfg.alerting.slack_channel == "#alerts"
    assert cfg.grafana_secret("production") == "insurance-lead-gen/production/grafana-admin"
    assert cfg.postgres_monitoring_secret("production") == "insurance-lead-gen/production/postgres-monitoring"
    assert cfg.replicas == 2 and cfg.long_term_retention_days >= 365


@pytest.mark.parametrize("overrides, message", [
    ({"slos": [{"name": "a", "service": "api", "objective": 100, "sli": "availability"}]},
     "leadgen:observability.slos[0].objective (100) must be above 0 and below 100 (percent) in Pulumi.production.yaml"),
    ({"slos": [{"name": "a", "service": "api", "objective": 99, "sli": "errors"}]},
     "leadgen:observability.slos[0].sli ('errors') must be one of: availability, latency in Pulumi.production.yaml"),
    ({"slos": [{"name": "a", "service": "api", "objective": 99, "sli": "availability", "window": "a month"}]},
     "leadgen:observability.slos[0].window ('a month') is not a duration, e.g. 28d in Pulumi.production.yaml"),
    ({"slos": [{"name": "a", "service": "api", "objective": 99, "sli": "availability"},
               {"name": "a", "service": "web", "objective": 99, "sli": "availability"}]},
     "leadgen:observability.slos[1].name ('a') duplicates observability.slos[0].name in Pulumi.production.yaml"),
    ({"slos": "not json"}, "leadgen:observability.slos (\"not json\") must be a list of mappings in Pulumi.production.yaml"),
    ({"prometheusRetention": "two weeks"},
     "leadgen:observability.prometheusRetention ('two weeks') is not a duration, e.g. 15d in Pulumi.production.yaml"),
    ({"maintenanceWindows": [{"name": "w", "start": "02:00", "end": "01:00"}]},
     "leadgen:observability.maintenanceWindows[0].end ('01:00') must be after start ('02:00'); split a window that crosses midnight in Pulumi.production.yaml"),
    ({"runbookBaseUrl": "http://wiki/runbooks"},
     "leadgen:observability.runbookBaseUrl ('http://wiki/runbooks') must be an https repository URL ending in /blob/<ref>/docs/runbooks in Pulumi.production.yaml"),
    ({"slackChannel": "alerts"}, "leadgen:observability.slackChannel ('alerts') must start with # in Pulumi.production.yaml"),
    ({"longTermRetentionDays": 150},
     "leadgen:observability.longTermRetentionDays (150) must be between 365 (a year of history) and 1095 (the store's maximum) in Pulumi.production.yaml"),
    ({"replicas": 0}, "leadgen:observability.replicas (0) must be between 1 and 5 in Pulumi.production.yaml"),
    # The chart's default chunks cache: no node of this platform holds it.
    ({"lokiChunksCacheMb": 8192},
     "leadgen:observability.lokiChunksCacheMb (8192) must be between 64 and 4096 MiB (it must fit one node with room to spare) in Pulumi.production.yaml"),
    ({"smtpSmarthost": "email-smtp.us-east-1.amazonaws.com"},
     "leadgen:observability.smtpSmarthost ('email-smtp.us-east-1.amazonaws.com') must be host:port, e.g. email-smtp.us-east-1.amazonaws.com:587 in Pulumi.production.yaml"),
])
def test_bad_config_is_one_line_naming_the_key(overrides, message):
    with pytest.raises(ConfigError) as err:
        build(**overrides)
    assert str(err.value) == message


def _url_keys():
    """Every string key of every config section whose default is a URL."""
    from leadgen.config import all_keys
    return sorted(k.path for k in all_keys() if k.type == "string" and isinstance(k.default, str) and "://" in k.default)


@pytest.mark.parametrize("path", _url_keys())
@pytest.mark.parametrize("userinfo", ["ops:S3cretPass@", "S3cretPass@", "ops:p@ss:S3cretPass@"])
def test_credentials_in_any_url_key_are_refused_without_repeating_them(path, userinfo):
    from leadgen.config import all_keys
    keys = all_keys()
    key = next(k for k in keys if k.path == path)
    scheme, rest = key.default.split("://", 1)
    raw = {f"leadgen:{path}": f"{scheme}://{userinfo}{rest}"}
    with pytest.raises(ConfigError) as err:
        Values("production", raw, keys).get(path)
    message = str(err.value)
    assert message.startswith(f"leadgen:{path} holds a user name or password in its URL")
    assert "S3cretPass" not in message and "\n" not in message
