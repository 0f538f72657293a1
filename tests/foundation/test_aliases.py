"""Components whose type token or place in the tree changed carry aliases, so a real stack moves
their state instead of deleting and recreating them (a replaced bucket or role loses data or trust).

Each component is registered under the SDK's mock engine with a monitor that keeps the alias specs
the SDK sends; the assertions read what the engine would receive.
"""
import pulumi
import pulumi_kubernetes as k8s
import pytest
from pulumi.runtime import settings
from pulumi.runtime.mocks import MockMonitor, Mocks, set_mocks
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from leadgen.naming import child_urn, retyped_urn

ACCOUNT = "123456789012"
STACK_PREFIX = "urn:pulumi:production::leadgen::"


class _Mocks(Mocks):
    def new_resource(self, args):
        return f"{args.name}_id", {**args.inputs, "arn": f"arn:aws:iam::{ACCOUNT}:role/{args.name}"}

    def call(self, args):
        return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/ci", "userId": "ci",
                "region": "us-east-1", "name": "us-east-1"}


class _AliasMonitor(MockMonitor):
    def __init__(self, mocks):
        super().__init__(mocks)
        self.registered: dict[tuple[str, str], dict] = {}

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        self.registered[(request.type, request.name)] = {
            "urn": response.urn,
            "types": [a.spec.type for a in request.aliases if a.HasField("spec")],
            "urns": [a.urn for a in request.aliases if a.HasField("urn")],
        }
        return response


def _register(build) -> dict[tuple[str, str], dict]:
    mocks = _Mocks()
    monitor = _AliasMonitor(mocks)
    settings.set_root_resource(None)
    set_mocks(mocks, project="leadgen", stack="production", preview=False, monitor=monitor)
    _sync_await(run_pulumi_func(build))
    return monitor.registered


def _irsa():
    from components.irsa import IrsaRole, IrsaRoleArgs
    IrsaRole("dns-irsa", IrsaRoleArgs(oidc_provider_arn=f"arn:aws:iam::{ACCOUNT}:oidc-provider/x",
                                      oidc_issuer="oidc.eks.us-east-1.amazonaws.com/id/X",
                                      namespace="external-dns", service_account="external-dns"))


def _workload():
    from components.workload import Workload, WorkloadArgs
    Workload("api", WorkloadArgs(namespace="production", image="registry.example.com/api:1.0.0", port=3000))


def _addons():
    from components.cluster_addons import ClusterAddons, ClusterAddonsArgs
    provider = k8s.Provider("k8s", kubeconfig="{}")
    ClusterAddons("leadgen-production-addons", ClusterAddonsArgs(
        cluster_name="insurance-lead-gen-production", version="1.35", region="us-east-1",
        oidc_provider_arn=f"arn:aws:iam::{ACCOUNT}:oidc-provider/x",
        oidc_issuer="oidc.eks.us-east-1.amazonaws.com/id/X",
        kms_key_arn=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k", k8s_provider=provider, vpc_id="vpc-1"))


def _backup_jobs():
    from components.backup_jobs import BackupJobs, BackupJobsArgs
    BackupJobs("leadgen-production-pgbackup", BackupJobsArgs(
        namespace="production", image="registry.example.com/pgbackup:1.0.0", schedule="0 2 * * *",
        verify_schedule="0 5 * * 0", bucket_name="b", bucket_arn="arn:aws:s3:::b",
        bucket_kms_key_arn=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/b", prefix="postgres",
        db_address="db.internal", db_port=5432, db_name="leads",
        db_instance_arn=f"arn:aws:rds:us-east-1:{ACCOUNT}:db:leads", db_resource_id="db-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        oidc_provider_arn=f"arn:aws:iam::{ACCOUNT}:oidc-provider/x",
        oidc_issuer="oidc.eks.us-east-1.amazonaws.com/id/X", region="us-east-1"))


def _node_group():
    from components.node_group import NodeGroup, NodeGroupArgs
    NodeGroup("leadgen-production-general", NodeGroupArgs(
        cluster_name="insurance-lead-gen-production", node_role_arn=f"arn:aws:iam::{ACCOUNT}:role/node",
        subnet_ids=["subnet-a"], kms_key_arn=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k",
        node_group_name="general", instance_types=["m6i.large"], min_size=1, max_size=2,
        desired_size=1, capacity_type="ON_DEMAND", ami_type="AL2023_x86_64_STANDARD"))


def _backup_bucket():
    from components.backup_bucket import BackupBucket, BackupBucketArgs
    BackupBucket("leadgen-production-backups", BackupBucketArgs(object_lock_days=30, protect=False))


# (component, its token today, its token before tokens followed `leadgen:<module>:<Class>`)
RENAMED = [
    (_irsa, ("leadgen:irsa:IrsaRole", "dns-irsa"), "leadgen:iam:IrsaRole"),
    (_workload, ("leadgen:workload:Workload", "api"), "leadgen:workloads:Workload"),
    (_addons, ("leadgen:cluster_addons:ClusterAddons", "leadgen-production-addons"),
     "leadgen:cluster:ClusterAddons"),
    (_backup_jobs, ("leadgen:backup_jobs:BackupJobs", "leadgen-production-pgbackup"),
     "leadgen:backup:BackupJobs"),
    (_backup_bucket, ("leadgen:backup_bucket:BackupBucket", "leadgen-production-backups"),
     "leadgen:backup:BackupBucket"),
    (_node_group, ("leadgen:node_group:NodeGroup", "leadgen-production-general"),
     "leadgen:cluster:NodeGroup"),
]


@pytest.mark.parametrize("build, key, previous", RENAMED, ids=[r[2] for r in RENAMED])
def test_a_renamed_component_is_aliased_to_its_previous_type(build, key, previous):
    registered = _register(build)
    assert registered[key]["types"] == [previous], registered[key]


def test_a_component_passed_aliases_keeps_them_beside_its_own():
    from components.irsa import IrsaRole, IrsaRoleArgs

    def build():
        IrsaRole("moved", IrsaRoleArgs(oidc_provider_arn="arn", oidc_issuer="issuer", namespace="ns",
                                       service_account="sa"),
                 opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(name="old-name")]))

    assert sorted(_register(build)[("leadgen:irsa:IrsaRole", "moved")]["types"]) == ["", "leadgen:iam:IrsaRole"]


def test_backup_bucket_parts_keep_their_urns_under_the_hardened_bucket():
    registered = _register(_backup_bucket)
    name = "leadgen-production-backups"
    owner = registered[("leadgen:backup_bucket:BackupBucket", name)]["urn"]
    before = retyped_urn(owner, "leadgen:backup:BackupBucket")
    parts = {"aws:s3/bucket:Bucket": name,
             "aws:s3/bucketVersioning:BucketVersioning": f"{name}-versioning",
             "aws:s3/bucketPolicy:BucketPolicy": f"{name}-policy",
             "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": f"{name}-object-lock",
             "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": f"{name}-lifecycle"}
    for typ, part in parts.items():
        assert registered[(typ, part)]["urns"] == [child_urn(before, typ, part)], typ


def test_observability_bucket_parts_keep_their_urns_under_the_hardened_bucket():
    from components.monitoring import observability_bucket

    def build():
        owner = pulumi.ComponentResource("leadgen:monitoring:Monitoring", "leadgen-production-obs")
        observability_bucket(owner, "leadgen-production-obs-loki",
                             kms_key_arn=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/obs", expire_days=30, tags={})

    registered = _register(build)
    obs = registered[("leadgen:monitoring:Monitoring", "leadgen-production-obs")]["urn"]
    old_bucket = child_urn(obs, "aws:s3/bucket:Bucket", "leadgen-production-obs-loki-bucket")
    n = "leadgen-production-obs-loki"
    assert registered[("aws:s3/bucket:Bucket", n)]["urns"] == [old_bucket]
    assert registered[("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                       f"{n}-encryption")]["urns"] == [
        child_urn(old_bucket, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                  f"{n}-sse")]
    assert registered[("aws:s3/bucketPolicy:BucketPolicy", f"{n}-policy")]["urns"] == [
        child_urn(old_bucket, "aws:s3/bucketPolicy:BucketPolicy", f"{n}-tls-only")]
    # Versioning is new to these buckets: nothing to move.
    assert registered[("aws:s3/bucketVersioning:BucketVersioning", f"{n}-versioning")]["urns"] == []


def test_urns_follow_the_engine_rule():
    stack_child = f"{STACK_PREFIX}leadgen:monitoring:Monitoring::obs"
    assert child_urn(stack_child, "aws:s3/bucket:Bucket", "obs-loki-bucket") == \
        f"{STACK_PREFIX}leadgen:monitoring:Monitoring$aws:s3/bucket:Bucket::obs-loki-bucket"
    grandchild = child_urn(child_urn(stack_child, "aws:s3/bucket:Bucket", "b"), "aws:s3/bucketPolicy:BucketPolicy", "p")
    assert grandchild == (f"{STACK_PREFIX}leadgen:monitoring:Monitoring$aws:s3/bucket:Bucket"
                          "$aws:s3/bucketPolicy:BucketPolicy::p")
    # The stack itself is never part of a child's type chain.
    assert child_urn(f"{STACK_PREFIX}pulumi:pulumi:Stack::leadgen-production", "leadgen:network:Network", "n") == \
        f"{STACK_PREFIX}leadgen:network:Network::n"
    assert retyped_urn(f"{STACK_PREFIX}a:b:C$leadgen:backup_bucket:BackupBucket::x", "leadgen:backup:BackupBucket") == \
        f"{STACK_PREFIX}a:b:C$leadgen:backup:BackupBucket::x"
    with pytest.raises(ValueError, match="not a Pulumi URN: 'leadgen-production'"):
        child_urn("leadgen-production", "t", "n")


def test_the_add_ons_moved_before_the_nodes_keep_their_state_from_under_cluster_addons():
    # vpc-cni, kube-proxy and the Pod Identity agent moved from ClusterAddons to NodeAddons (of the
    # same name) so nodes can wait for them; replacing the vpc-cni add-on would delete aws-node.
    from components.node_addons import BEFORE_COMPUTE, NodeAddons, NodeAddonsArgs

    def build():
        NodeAddons("leadgen-production-addons", NodeAddonsArgs(
            cluster_name="insurance-lead-gen-production", version="1.35",
            oidc_provider_arn=f"arn:aws:iam::{ACCOUNT}:oidc-provider/x",
            oidc_issuer="oidc.eks.us-east-1.amazonaws.com/id/X"))

    registered = _register(build)
    for token in ("leadgen:cluster_addons:ClusterAddons", "leadgen:cluster:ClusterAddons"):
        old = f"{STACK_PREFIX}{token}"
        for addon in BEFORE_COMPUTE:
            name = f"leadgen-production-addons-{addon}"
            assert f"{old}$aws:eks/addon:Addon::{name}" in registered[("aws:eks/addon:Addon", name)]["urns"]
    cni_role = registered[("leadgen:irsa:IrsaRole", "leadgen-production-addons-vpc-cni")]["urns"]
    assert (f"{STACK_PREFIX}leadgen:cluster_addons:ClusterAddons$leadgen:irsa:IrsaRole::"
            "leadgen-production-addons-vpc-cni") in cni_role
    assert (f"{STACK_PREFIX}leadgen:cluster:ClusterAddons$leadgen:iam:IrsaRole::"
            "leadgen-production-addons-vpc-cni") in cni_role
