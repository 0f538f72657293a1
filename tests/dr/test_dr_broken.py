"""`platformctl dr check` refuses each broken recovery configuration of issue 22 on its own.

Each case is the recovery stack's file with one thing wrong, run through the program as an update
sees it, and checked against production's stack file and `dr` output: the one check that owns the
fault fails, the verdict is NOT ready, and every other check still passes.
"""
from __future__ import annotations

import copy

import pytest

from leadgen.config import load
from platformctl import dr
from platformctl.program.mocks.dr import stack_outputs
from platformctl.project import stack_config
from tests.dr.conftest import STACK
from tests.helpers import run_program

G = "leadgen:cluster.nodeGroups.general"

BROKEN = {
    # SECONDARY -> api-use1...: failed-over clients would go back to the failed region.
    "recovery origin is the primary's": (
        {"leadgen:traffic.hostname": "api-use1.insurance-lead-gen.com"}, "origins",
        "this region's origin (leadgen:traffic.hostname) is api-use1.insurance-lead-gen.com, the primary's: "
        "SECONDARY would send clients back to the failed region"),
    "DR stack in the primary's region": (
        {"aws:region": "us-east-1", "leadgen:drRegion": "us-west-2"}, "site",
        "production-dr runs in us-east-1, the region of production: one regional outage takes both "
        "(set aws:region to another region)"),
    "half-size nodes": (
        {f"{G}.instanceTypes": '["m6i.large"]'}, "capacity",
        "node group general 20 vCPU at most (10 x m6i.large) < production's 40 (10 x m6i.xlarge)"),
    "maxSize 3 where production peaks at 10": (
        {f"{G}.maxSize": "3"}, "capacity",
        "node group general 12 vCPU at most (3 x m6i.xlarge) < production's 40 (10 x m6i.xlarge)"),
    "a micro Redis": (
        {"leadgen:data.redis.nodeType": "cache.t4g.micro"}, "capacity",
        "Redis after promotion cache.t4g.micro x 3 is not production's cache.r7g.large x 3"),
    "image tags that differ from production's": (
        {"leadgen:workloads.api.tag": "2.13.0"}, "versions",
        "workload api runs own ECR:2.13.0, production own ECR:" + stack_config("production")["leadgen:workloads.api.tag"]),
    "a different Kubernetes version": (
        {"leadgen:cluster.version": "1.36"}, "versions", "Kubernetes 1.36 is not production's 1.35"),
    "ready during failback's cutover, when no replica exists": (
        {"leadgen:dr.state": "handback"}, "replica",
        "leadgen-production-dr-postgres is the acting writer (leadgen:dr.state: handback): "
        "no replica stands by to take over"),
}


def checks(run) -> dict[str, dr.Check]:
    cfg = load("leadgen", run.stack, run.config)
    primary_cfg = load("leadgen", "production", stack_config("production"))
    return {c.name: c for c in dr.check_all(run, cfg, primary_cfg, stack_outputs("production")["outputs"]["dr"])}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_dr_check_refuses_each_broken_configuration(case):
    overrides, owner, detail = BROKEN[case]
    got = checks(run_program(STACK, overrides, preview=False))
    failed = [name for name, c in got.items() if not c.ok]
    # In the primary's region every alarm, the probe and the decision sit there too: those fail with it.
    also = {"site": ["paging", "health-check", "records"]}.get(owner, [])
    assert failed == [owner, *also], (case, [c.line() for c in got.values() if not c.ok])
    assert got[owner].detail == detail
    assert dr.summary(got.values()).startswith(f"NOT ready: {owner}")


def _without(run, typ):
    run = copy.deepcopy(run)
    run.resources = [r for r in run.resources if r["type"] != typ]
    return run


def test_an_unsubscribed_topic_pages_nobody(dr_runs):
    got = checks(_without(dr_runs("standby"), dr.SUBSCRIPTION))
    assert [n for n, c in got.items() if not c.ok] == ["paging"]
    assert got["paging"].detail.startswith("no ReplicaLag alarm pages from outside the primary's region (")
    assert "leadgen-production-dr-standby-replica-lag notifies no subscribed topic" in got["paging"].detail


def test_an_alarm_in_the_primary_region_pages_nobody_when_that_region_is_gone(dr_runs):
    run = copy.deepcopy(dr_runs("standby"))
    east = next(p["urn"] + "::" + p["id"] for p in run.resources
                if p["type"] == "pulumi:providers:aws" and p["name"].endswith("-primary-region"))
    run.one(dr.ALARM, "leadgen-production-dr-standby-replica-lag")["provider"] = east
    got = checks(run)
    assert [n for n, c in got.items() if not c.ok] == ["paging"]
    assert "is in us-east-1, the primary's region" in got["paging"].detail


def test_dns_that_fails_over_on_the_primarys_health_is_refused(dr_runs):
    run = copy.deepcopy(dr_runs("standby"))
    # The PRIMARY record on a probe of the primary's /health, as it was before the decision.
    run.one("aws:route53/healthCheck:HealthCheck", "leadgen-production-dr-failover-decision")["inputs"] = {
        "type": "HTTPS", "fqdn": "api-use1.insurance-lead-gen.com", "resourcePath": "/health",
        "requestInterval": 30, "failureThreshold": 3}
    got = checks(run)
    assert got["records"].line() == (
        "FAIL records: the PRIMARY record carries HTTPS health check, not the failover decision (a CloudWatch "
        "alarm outside the primary's region): a failed probe would send every client to a read-only database")


def test_the_declared_standby_passes_every_check_and_says_it_is_declared(dr_runs):
    got = checks(dr_runs("standby"))
    assert all(c.ok for c in got.values()), [c.line() for c in got.values() if not c.ok]
    assert dr.summary(got.values()) == "ready to take over, as declared"
    assert got["paging"].detail == (
        "leadgen-production-dr-standby-primary-health (us-west-2), leadgen-production-dr-standby-replica-lag "
        "(us-west-2) page through a subscribed topic")
    assert got["capacity"].detail.endswith("Redis cache.r7g.large once active)")
    assert "offline" in dr.SCOPE and "nothing in AWS is queried" in dr.SCOPE


@pytest.mark.parametrize("size, cpus", [("m6i.large", 2), ("m6i.xlarge", 4), ("m6i.2xlarge", 8), ("t3.medium", 2),
                                        ("g5.12xlarge", 48), ("m6i.metal", None)])
def test_vcpus_follow_the_size(size, cpus):
    assert dr.vcpus(size) == cpus
