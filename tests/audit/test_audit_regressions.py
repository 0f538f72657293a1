"""An auditor's scenario: start from an export of the production stack (the real program,
previewed offline), change one thing, audit. Each regression must be caught by the guardrail
that mirrors the public check for it, and nothing else may fire."""
from __future__ import annotations

import copy
import datetime as dt
import json
import subprocess
import sys

import pytest

from platformctl.pack import catalog, clock, config, model
from platformctl.project import ROOT, pack_config
from platformctl.statefile import StateFile
from tests.warm import PYTHON as WARM_PYTHON  # the worker's warm interpreter (tests/warm.py)

GUARDRAILS = [s for s in catalog.SPECS if s.group == "guardrail"]
# The one advisory the compliant program carries: the app contract passes the Redis token as an
# environment variable (checkov CKV_K8S_35; governance/kubernetes/checkov_parity.py).
CONTRACT_ADVISORY = {("kubernetes-container-secrets-as-files", name)
                     for name in ("api-deployment", "backend-deployment", "api-canary-deployment")}


@pytest.fixture(scope="module")
def production(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("prod") / "production.json"
    result = subprocess.run([*WARM_PYTHON, "-m", "platformctl", "preview", "--stack", "production", "--no-policy",
                             "--export", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(path.read_text())


def findings(document: dict, tmp_path) -> set[tuple[str, str]]:
    """(policy, resource name) for every guardrail finding, the export read by the audit's reader;
    resource policies judge inputs, stack policies outputs, as `pulumi policy analyze` does."""
    path = tmp_path / "state.json"
    path.write_text(json.dumps(document))
    records = list(StateFile(path).resources())

    def as_model(r: dict, side: str):
        provider = r.get("provider") or {}
        return model.Resource(r["type"], r["urn"], r["name"], r[side] if side == "inputs" else r["outputs"],
                              provider.get("properties"), tuple(r["dependencies"]), r.get("parent") or "")

    ctx = model.Context("production", "leadgen", config.from_mapping(pack_config("production")), ROOT,
                        clock.Clock(dt.datetime(2026, 11, 30, 12, tzinfo=dt.timezone.utc)))
    inputs = [as_model(r, "inputs") for r in records]
    outputs = [as_model(r, "outputs") for r in records]
    names = {r.urn: r.name for r in inputs}
    out = set()
    for spec in GUARDRAILS:
        if spec.kind == "resource":
            out |= {(spec.name, r.name) for r in inputs for _ in catalog.check_resource(spec, r, ctx)}
        else:
            out |= {(spec.name, names.get(urn, urn)) for _, urn in catalog.check_stack(spec, outputs, ctx)}
    return out


def edit(document: dict, typ: str, name: str, change) -> dict:
    """A copy with `change(props)` applied to the named resource's inputs and outputs."""
    document = copy.deepcopy(document)
    resources = document["deployment"]["resources"]
    target = next(r for r in resources if r["type"] == typ and r["urn"].endswith("::" + name))
    for side in ("inputs", "outputs"):
        target.setdefault(side, {})
        change(target[side])
    return document


def drop(document: dict, typ: str) -> dict:
    document = copy.deepcopy(document)
    document["deployment"]["resources"] = [r for r in document["deployment"]["resources"] if r["type"] != typ]
    return document


P = "leadgen-production"
WORLD_SSH = {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}
OPEN_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
PUBLIC_READ = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
               "Resource": "arn:aws:s3:::leadgen-production-obs-loki/*"}
POD = ("spec", "template", "spec")


def _statements(props: dict, *extra: dict) -> None:
    doc = json.loads(props["policy"])
    doc["Statement"] = list(doc["Statement"]) + list(extra)
    props["policy"] = json.dumps(doc)


def _pod(props: dict) -> dict:
    spec = props
    for key in POD:
        spec = spec[key]
    return spec


REGRESSIONS = [
    # (id, apply(document), the (policy, resource) findings it must cause)
    ("sg-world-ssh", lambda d: edit(d, "aws:ec2/securityGroup:SecurityGroup", f"{P}-endpoints",
                                    lambda p: p.update(ingress=[WORLD_SSH])),
     {("aws-ec2-security-group-no-world-ingress", f"{P}-endpoints")}),
    ("kms-rotation-off", lambda d: edit(d, "aws:kms/key:Key", f"{P}-postgres-key",
                                        lambda p: p.update(enableKeyRotation=False)),
     {("aws-kms-key-rotation-enabled", f"{P}-postgres-key")}),
    ("redis-transit-off", lambda d: edit(d, "aws:elasticache/replicationGroup:ReplicationGroup", f"{P}-redis",
                                         lambda p: (p.update(transitEncryptionEnabled=False),
                                                    p.pop("transitEncryptionMode", None))),
     {("aws-elasticache-transit-encryption", f"{P}-redis")}),
    ("db-single-az", lambda d: edit(d, "aws:rds/instance:Instance", f"{P}-postgres", lambda p: p.update(multiAz=False)),
     {("aws-rds-multi-az", f"{P}-postgres")}),
    ("db-iam-auth-and-pi-key", lambda d: edit(d, "aws:rds/instance:Instance", f"{P}-postgres",
                                              lambda p: (p.update(iamDatabaseAuthenticationEnabled=False),
                                                         p.pop("performanceInsightsKmsKeyId"))),
     {("aws-rds-iam-authentication", f"{P}-postgres"), ("aws-rds-performance-insights-encrypted", f"{P}-postgres")}),
    ("trust-any-principal", lambda d: edit(d, "aws:iam/role:Role", f"{P}-node-role",
                                           lambda p: p.update(assumeRolePolicy=OPEN_TRUST)),
     {("aws-iam-trust-policy-restricted", f"{P}-node-role")}),
    ("iam-star", lambda d: edit(d, "aws:iam/rolePolicy:RolePolicy", f"{P}-obs-loki-policy", lambda p: _statements(
        p, {"Effect": "Allow", "Action": "iam:*", "Resource": "*"})),
     {("aws-iam-no-wildcard-actions", f"{P}-obs-loki-policy")}),
    ("not-action", lambda d: edit(d, "aws:iam/rolePolicy:RolePolicy", f"{P}-obs-loki-policy", lambda p: _statements(
        p, {"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"})),
     {("aws-iam-no-wildcard-actions", f"{P}-obs-loki-policy")}),
    ("bucket-policy-public", lambda d: edit(d, "aws:s3/bucketPolicy:BucketPolicy", f"{P}-obs-loki-policy",
                                            lambda p: _statements(p, PUBLIC_READ)),
     {("aws-s3-bucket-policy-not-public", f"{P}-obs-loki-policy")}),
    ("versioning-suspended", lambda d: edit(d, "aws:s3/bucketVersioning:BucketVersioning", f"{P}-backups-versioning",
                                            lambda p: p.update(versioningConfiguration={"status": "Suspended"})),
     {("aws-s3-bucket-versioning-enabled", f"{P}-backups")}),
    ("log-group-plain-1-day", lambda d: edit(d, "aws:cloudwatch/logGroup:LogGroup", f"{P}-logs",
                                             lambda p: (p.pop("kmsKeyId"), p.update(retentionInDays=1))),
     {("aws-cloudwatch-log-group-encrypted", f"{P}-logs"), ("aws-cloudwatch-log-group-retention", f"{P}-logs")}),
    ("flow-log-removed", lambda d: drop(d, "aws:ec2/flowLog:FlowLog"),
     {("aws-ec2-vpc-flow-logs-enabled", f"{P}-vpc")}),
    ("secret-without-cmk", lambda d: edit(d, "aws:secretsmanager/secret:Secret", f"{P}-obs-grafana-database",
                                          lambda p: p.pop("kmsKeyId")),
     {("aws-secretsmanager-secret-cmk", f"{P}-obs-grafana-database")}),
    ("nodes-public-ip", lambda d: edit(d, "aws:ec2/launchTemplate:LaunchTemplate", f"{P}-general-lt",
                                       lambda p: p.update(networkInterfaces=[{"associatePublicIpAddress": "true"}])),
     {("aws-ec2-no-public-ip", f"{P}-general-lt")}),
    ("node-group-ssh", lambda d: edit(d, "aws:eks/nodeGroup:NodeGroup", f"{P}-general-ng",
                                      lambda p: p.update(remoteAccess={"ec2SshKey": "ops",
                                                                       "sourceSecurityGroupIds": []})),
     {("aws-eks-node-group-no-remote-access", f"{P}-general-ng")}),
    ("eks-1.23", lambda d: edit(d, "aws:eks/cluster:Cluster", f"{P}-eks", lambda p: p.update(version="1.23")),
     {("aws-eks-cluster-supported-version", f"{P}-eks")}),
    ("host-network-pid-sys-admin", lambda d: edit(d, "kubernetes:apps/v1:Deployment", "backend-deployment", lambda p: (
        _pod(p).update(hostNetwork=True, hostPID=True),
        _pod(p)["containers"][0].setdefault("securityContext", {}).update(capabilities={"add": ["SYS_ADMIN"]}))),
     {("kubernetes-pod-no-host-namespaces", "backend-deployment"),
      ("kubernetes-container-no-dangerous-capabilities", "backend-deployment")}),
    ("helm-values-privileged-root", lambda d: edit(
        d, "kubernetes:helm.sh/v3:Release", f"{P}-addons-metrics-server",
        lambda p: p["values"].update(securityContext={"privileged": True, "runAsUser": 0})),
     {("helm-release-values-pod-security", f"{P}-addons-metrics-server")}),
    ("load-balancer-open", lambda d: edit(d, "kubernetes:core/v1:Service", "api-service",
                                          lambda p: p["spec"].update(type="LoadBalancer")),
     {("kubernetes-service-load-balancer-restricted", "api-service")}),
]


def test_the_production_export_passes_every_guardrail(production, tmp_path):
    assert findings(production, tmp_path) == CONTRACT_ADVISORY


@pytest.mark.parametrize("apply,expected", [r[1:] for r in REGRESSIONS], ids=[r[0] for r in REGRESSIONS])
def test_each_regression_alone_is_caught(production, tmp_path, apply, expected):
    assert findings(apply(production), tmp_path) - CONTRACT_ADVISORY == expected


def test_every_helm_release_is_inspected(production, tmp_path):
    releases = [r["urn"].rsplit("::", 1)[-1] for r in production["deployment"]["resources"]
                if r["type"] == "kubernetes:helm.sh/v3:Release"]
    assert len(releases) >= 12
    for name in releases:
        changed = edit(production, "kubernetes:helm.sh/v3:Release", name,
                       lambda p: p.setdefault("values", {}).update(hostPID=True))
        assert findings(changed, tmp_path) - CONTRACT_ADVISORY == {("helm-release-values-pod-security", name)}
