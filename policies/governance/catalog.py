"""Every policy of the leadgen-governance pack: name, description, severity, enforcement level,
group, the exact type tokens it matches and the pure predicate behind it. `policies/__main__.py`
wraps these in pulumi_policy objects; tests and the benchmark call them directly."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Optional

from . import aws, gates, kubernetes as k8s
from .model import Context, Resource
from .values import Unknown


# What a policy judges, which decides where it runs. Every list of policies by purpose (the
# checks `platformctl gate` runs, the ones an audit of standing state leaves off) derives from this.
GROUPS = {
    "gate": "the update about to run: its change request, window, error budget and the clock it "
            "reads; `platformctl gate` runs exactly these, an audit of standing state leaves them off",
    "governance": "the protected stack as a whole, standing or changing: its cost against the budget "
                  "and the pack's own settings",
    "guardrail": "how each resource is built, on every stack",
}


@dataclass(frozen=True)
class Spec:
    name: str
    description: str
    severity: str  # low | medium | high | critical
    enforcement: str  # mandatory | advisory
    kind: str  # resource (inputs, per resource) | stack (outputs, whole stack)
    check: Callable
    types: Optional[frozenset[str]] = None  # resource policies: exact type tokens matched
    group: str = "guardrail"  # a key of GROUPS


def _r(name, description, severity, types, check, enforcement="mandatory", group="guardrail") -> Spec:
    return Spec(name, description, severity, enforcement, "resource", check, frozenset(types), group)


def _s(name, description, severity, check, enforcement="mandatory", group="guardrail") -> Spec:
    return Spec(name, description, severity, enforcement, "stack", check, None, group)


WORKLOADS = k8s.WORKLOAD_TYPES
SPECS: tuple[Spec, ...] = (
    # --- protected stacks: the gates on the update, the budget and the pack's settings
    _s("change-request-required", "A protected stack changes only with a complete, approved change request "
       "(runbook: CAB process).", "high", gates.change_request_required, group="gate"),
    _s("change-window", "A protected stack changes only inside its change request's scheduled window.",
       "high", gates.change_window, group="gate"),
    _s("error-budget-gate", "The runbook's error-budget decision matrix, applied to the lowest "
       "slo_error_budget_remaining.", "high", gates.error_budget_gate, group="gate"),
    _s("cost-budget-gate", "The estimated monthly cost stays within leadgen:governance.monthlyBudgetUsd.",
       "medium", gates.cost_over_budget, group="governance"),
    _s("cost-budget-warning", "The estimated monthly cost is at 80 % of the budget or more, or could not "
       "be fully priced.", "low", gates.cost_near_budget, "advisory", group="governance"),
    _s("update-forecast", "In a preview: what `pulumi up` will meet and the preview does not block on (a window "
       "still ahead, approvals not yet given or signed, the error budget's approval).", "medium",
       gates.update_forecast, "advisory", group="gate"),
    _s("governance-emergency-change", "An emergency change is in use: flagged in every report until it expires.",
       "high", gates.emergency_in_use, "advisory", group="gate"),
    _s("governance-clock-override", "The change-window clock was fixed through LEADGEN_GOVERNANCE_NOW "
       "(honoured in a preview, ignored by an update).", "medium", gates.clock_override, "advisory", group="gate"),
    _s("governance-config-valid", "The pack's leadgen:governance.* settings are usable.", "high",
       gates.config_valid, group="governance"),
    # --- AWS guardrails (every stack)
    _r("aws-rds-storage-encrypted", "RDS storage is encrypted with the customer-managed KMS key.", "high",
       aws.RDS_TYPES, aws.rds_storage_encrypted),
    _r("aws-rds-not-publicly-accessible", "Databases are never publicly accessible.", "critical",
       ("aws:rds/instance:Instance", "aws:rds/clusterInstance:ClusterInstance"), aws.rds_not_public),
    _r("aws-rds-deletion-protection-enabled", "Databases of protected stacks have deletion protection.",
       "high", aws.RDS_TYPES, aws.rds_deletion_protection),
    _r("aws-rds-backup-retention", "Databases of protected stacks keep automated backups at least 7 days.",
       "high", aws.RDS_TYPES, aws.rds_backup_retention),
    _r("aws-elasticache-replication-group-encrypted", "ElastiCache encrypts at rest with the customer-managed "
       "KMS key.", "high", ("aws:elasticache/replicationGroup:ReplicationGroup",), aws.elasticache_encrypted),
    _r("aws-ebs-volume-encrypted", "EBS volumes are encrypted with the customer-managed KMS key.", "high",
       ("aws:ebs/volume:Volume",), aws.ebs_encrypted),
    _r("aws-ec2-launch-template-imdsv2", "Instances require IMDSv2.", "high",
       ("aws:ec2/launchTemplate:LaunchTemplate",), aws.launch_template_imdsv2),
    _r("aws-ec2-launch-template-ebs-encrypted", "Node volumes are encrypted with the customer-managed KMS key.",
       "high", ("aws:ec2/launchTemplate:LaunchTemplate",), aws.launch_template_ebs_encrypted),
    _r("aws-eks-node-group-launch-template", "Node groups use our launch template (IMDSv2, encrypted volumes).",
       "high", ("aws:eks/nodeGroup:NodeGroup",), aws.node_group_launch_template),
    _r("aws-eks-node-group-gpu-tainted", "GPU node groups are tainted so only GPU workloads use them.",
       "medium", ("aws:eks/nodeGroup:NodeGroup",), aws.node_group_gpu_tainted),
    _r("aws-eks-cluster-secrets-encrypted", "EKS encrypts Kubernetes secrets with a KMS key.", "high",
       ("aws:eks/cluster:Cluster",), aws.eks_secrets_encrypted),
    _r("aws-eks-cluster-control-plane-logging", "EKS sends every control-plane log type to CloudWatch.",
       "medium", ("aws:eks/cluster:Cluster",), aws.eks_control_plane_logs),
    _r("aws-eks-cluster-endpoint-restricted", "A public EKS endpoint is limited to listed networks.",
       "high", ("aws:eks/cluster:Cluster",), aws.eks_endpoint_restricted),
    _r("aws-s3-bucket-acl-not-public", "No bucket ACL grants public access.", "critical",
       aws.S3_ACL_TYPES, aws.s3_acl_not_public),
    _s("aws-s3-bucket-kms-encrypted", "Every bucket encrypts with aws:kms and the customer-managed key.",
       "high", aws.s3_buckets_kms),
    _s("aws-s3-bucket-public-access-blocked", "Every bucket blocks public access (all four flags).",
       "critical", aws.s3_buckets_public_access_blocked),
    _r("aws-lb-listener-tls", "Load balancer listeners use TLS (plain HTTP only to redirect to HTTPS).",
       "high", aws.LISTENER_TYPES, aws.listener_tls),
    _r("aws-iam-no-admin-statement", "No IAM statement allows \"*\" on \"*\".", "critical",
       aws.IAM_POLICY_TYPES, aws.iam_no_admin),
    _r("aws-resource-required-tags", "Taggable AWS resources carry environment, owner and cost-center.",
       "low", aws.TAGGABLE_TYPES, aws.required_tags),
    # --- Kubernetes guardrails
    _r("kubernetes-container-resources", "Containers set cpu and memory requests and limits.", "medium",
       WORKLOADS, k8s.container_resources),
    _r("kubernetes-container-non-root", "Containers run as non-root.", "high", WORKLOADS, k8s.container_non_root),
    _r("kubernetes-container-no-privilege-escalation", "Containers cannot escalate privileges.", "high",
       WORKLOADS, k8s.container_no_privilege_escalation),
    _r("kubernetes-container-image-tag-pinned", "Container images are pinned (no latest, no missing tag).",
       "medium", WORKLOADS, k8s.container_image_pinned),
    _s("kubernetes-deployment-hpa-min-replicas", "Every production Deployment has an HPA with at least 3 "
       "replicas.", "high", k8s.production_deployments_autoscaled),
    _s("kubernetes-deployment-pod-disruption-budget", "Every production Deployment has a "
       "PodDisruptionBudget.", "high", k8s.production_deployments_disruption_budget),
    _s("kubernetes-listener-tls", "Gateway listeners and Ingresses use TLS.", "high", k8s.listeners_tls),
)
BY_NAME = {spec.name: spec for spec in SPECS}
RESOURCE_SPECS = tuple(s for s in SPECS if s.kind == "resource")
STACK_SPECS = tuple(s for s in SPECS if s.kind == "stack")


def names_in_group(group: str) -> tuple[str, ...]:
    """The names of the group's policies, in catalog order."""
    if group not in GROUPS:
        raise ValueError(f"unknown policy group {group!r} (groups: {', '.join(GROUPS)})")
    return tuple(spec.name for spec in SPECS if spec.group == group)


def _index() -> dict[str, tuple[Spec, ...]]:
    index: dict[str, list[Spec]] = {}
    for spec in RESOURCE_SPECS:
        for token in spec.types or ():
            index.setdefault(token, []).append(spec)
    return {k: tuple(v) for k, v in index.items()}


SPECS_BY_TYPE = _index()


def check_resource(spec: Spec, resource: Resource, ctx: Context) -> list[str]:
    """Messages from one resource policy; a value unknown at preview skips the check."""
    if resource.type not in (spec.types or ()):
        return []
    try:
        return list(spec.check(resource, ctx))
    except Unknown:
        return []


def check_stack(spec: Spec, resources: list[Resource], ctx: Context) -> list[tuple[str, str]]:
    """(message, urn) from one stack policy; gates report against the stack's URN."""
    stack_urn = next((r.urn for r in resources if r.type == "pulumi:pulumi:Stack"), ctx.stack_urn)
    out = []
    try:
        for item in spec.check(resources, ctx):
            out.append(item if isinstance(item, tuple) else (item, stack_urn))
    except Unknown:
        pass
    return out


def evaluate(resources: Iterable[Resource], ctx: Context) -> list[tuple[str, str, str]]:
    """(policy, urn, message) for every violation, without gRPC: what the pack reports."""
    resources = list(resources)
    out = []
    for r in resources:
        for spec in SPECS_BY_TYPE.get(r.type, ()):
            out.extend((spec.name, r.urn, m) for m in check_resource(spec, r, ctx))
    for spec in STACK_SPECS:
        out.extend((spec.name, urn, m) for m, urn in check_stack(spec, resources, ctx))
    return out
