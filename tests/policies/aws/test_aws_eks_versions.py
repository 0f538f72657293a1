"""EKS minors and their end of standard support, in one table (governance/aws/eks_versions.py) that
the program's config validation and the pack's version guardrail both read: which minor is the
oldest supported is computed from the dates and the day asked about, never a constant."""
import dataclasses
import datetime as dt

import pytest

from policy_baseline import context
from governance import catalog, clock
from governance.aws import eks_versions
from governance.model import Resource
from leadgen import versions
from leadgen.config import ConfigError, cluster, load

from tests.helpers import stack_config

SPEC = catalog.BY_NAME["aws-eks-cluster-supported-version"]


@pytest.mark.parametrize("day,oldest", [
    (dt.date(2026, 7, 28), "1.33"), (dt.date(2026, 7, 29), "1.34"), (dt.date(2026, 12, 1), "1.34"),
    # 1.34's standard support ends 2026-12-02: from that day the oldest supported minor is 1.35.
    (dt.date(2026, 12, 2), "1.35"), (dt.date(2027, 3, 27), "1.36")])
def test_the_oldest_supported_minor_follows_the_calendar(day, oldest):
    assert eks_versions.oldest_supported(day) == oldest
    assert eks_versions.supported(day)[0] == oldest


def test_every_minor_the_platform_pins_is_in_the_table():
    assert set(versions.KUBERNETES_MINORS) <= set(eks_versions.BY_MINOR)
    assert cluster.SUPPORTED_VERSIONS == versions.KUBERNETES_MINORS
    for row in eks_versions.VERSIONS:
        assert row.confirmed_by.startswith("https://") and dt.date.fromisoformat(row.checked), row


def _judge(version, day: dt.date):
    ctx = dataclasses.replace(context(), clock=clock.Clock(dt.datetime(day.year, day.month, day.day, 12,
                                                                       tzinfo=dt.timezone.utc)))
    r = Resource("aws:eks/cluster:Cluster", "urn:pulumi:production::leadgen::aws:eks/cluster:Cluster::leadgen",
                 "leadgen", {"version": version})
    return catalog.check_resource(SPEC, r, ctx)


def test_the_guardrail_refuses_a_minor_from_the_day_it_leaves_standard_support():
    assert _judge("1.34", dt.date(2026, 12, 1)) == []
    assert _judge("1.34", dt.date(2026, 12, 2)) == [
        "leadgen: Kubernetes 1.34 is past EKS standard support; run 1.35 or newer"]
    assert _judge("1.35", dt.date(2027, 3, 27)) == [
        "leadgen: Kubernetes 1.35 is past EKS standard support; run 1.36 or newer"]
    assert _judge("1.36", dt.date(2027, 3, 27)) == []
    assert _judge("one.35", dt.date(2026, 12, 2)) == ["leadgen: version 'one.35' is not a Kubernetes minor such as 1.35"]


def test_config_refuses_a_pinned_minor_once_it_leaves_standard_support(monkeypatch):
    raw = {**stack_config("production"), "leadgen:cluster.version": "1.35"}
    assert load("leadgen", "production", raw).cluster.version == "1.35"
    monkeypatch.setattr(eks_versions, "today", lambda: dt.date(2027, 3, 27))
    with pytest.raises(ConfigError) as err:
        load("leadgen", "production", raw)
    assert "leadgen:cluster.version ('1.35') left EKS standard support on 2027-03-27; run 1.36 or newer" in str(err.value)
