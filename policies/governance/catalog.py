"""Every policy of the leadgen-governance pack: name, description, severity, enforcement level,
group, the exact type tokens it matches and the pure predicate behind it. `policies/__main__.py`
wraps these in pulumi_policy objects; tests and the benchmark call them directly."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Optional

from . import binding, gates, promotion
from .aws import cloudwatch, ec2, ecr, eks, elasticache, iam, kms, lb, rds, s3, secretsmanager, tags
from .kubernetes import cluster, deployments, helm_values, objects, pods, traffic
from .readiness import rules as readiness
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
    "deploy-readiness": "the whole resource graph as a first `pulumi up` on a fresh account meets it: what "
                        "must exist before what and what each pod needs; mandatory on protected stacks, "
                        "a forecast elsewhere",
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


def _ready(name, description, severity) -> Spec:
    """A deploy-readiness rule (governance/readiness/rules.py), mandatory where it reports: protected stacks."""
    return _s(name, description, severity, readiness.mandatory(name), group="deploy-readiness")


WORKLOADS = objects.WORKLOAD_TYPES
SPECS: tuple[Spec, ...] = (
    # --- protected stacks: the gates on the update, the budget and the pack's settings
    _s("change-request-required", "A protected stack changes only with a complete, approved change request "
       "(runbook: CAB process).", "high", gates.change_request_required, group="gate"),
    _s("change-window", "A protected stack changes only inside its change request's scheduled window.",
       "high", gates.change_window, group="gate"),
    _s("error-budget-gate", "The runbook's error-budget decision matrix, applied to the lowest "
       "slo_error_budget_remaining.", "high", gates.error_budget_gate, group="gate"),
    _s("cost-budget-gate", "The estimated monthly cost stays within the monthly budget (governance/gates.yaml's "
       "for a protected stack, leadgen:governance.monthlyBudgetUsd for others).",
       "medium", gates.cost_over_budget, group="governance"),
    _s("cost-budget-warning", "The estimated monthly cost is at governance/gates.yaml's cost_warning_percent of the budget or more, or could not "
       "be fully priced.", "low", gates.cost_near_budget, "advisory", group="governance"),
    _s("update-forecast", "In a preview: what `pulumi up` will meet and the preview does not block on (a window "
       "still ahead, approvals not yet given or signed, the error budget's approval).", "medium",
       gates.update_forecast, "advisory", group="gate"),
    _s("governance-emergency-change", "An emergency change is in use: flagged in every report until it expires.",
       "high", gates.emergency_in_use, "advisory", group="gate"),
    _s("governance-clock-override", "The change-window clock was fixed through LEADGEN_GOVERNANCE_NOW "
       "(honoured in a preview, ignored by an update).", "medium", gates.clock_override, "advisory", group="gate"),
    _s("governance-gate-settings", "A protected stack's gate settings (SLO store, budgets, protection) come from "
       "governance/gates.yaml; its own stack file sets none of them.", "high", gates.gate_settings_owned,
       group="gate"),
    _s("approval-binding", "Every approval that counts signed the commit that runs (or an ancestor changed only "
       "in changes/ and attestations/) and the stack's resolved config.", "high", binding.binding_gate,
       group="gate"),
    _s("approval-binding-forecast", "In a preview: what approval-binding will refuse at update time.", "medium",
       binding.binding_forecast, "advisory", group="gate"),
    _s("promotion-gate", "A protected stack takes only a program version (git commit) the promotion stack "
       "applied with its smoke tests passing at least the soak time before, by signed attestation "
       "(governance/approvers.yaml: promotion).", "high", promotion.promotion_gate, group="gate"),
    _s("promotion-forecast", "In a preview: what the promotion gate will refuse at update time (no, a stale, "
       "an unsigned or a too-fresh attestation).", "medium", promotion.promotion_forecast, "advisory",
       group="gate"),
    _s("governance-config-valid", "The pack's leadgen:governance.* settings are usable.", "high",
       gates.config_valid, group="governance"),
    # --- AWS guardrails (every stack)
    _r("aws-rds-storage-encrypted", "RDS storage is encrypted with the customer-managed KMS key.", "high",
       rds.TYPES, rds.rds_storage_encrypted),
    _r("aws-rds-not-publicly-accessible", "Databases are never publicly accessible.", "critical",
       (rds.RDS_INSTANCE, rds.CLUSTER_INSTANCE), rds.rds_not_public),
    _r("aws-rds-deletion-protection-enabled", "Databases of protected stacks have deletion protection.",
       "high", rds.TYPES, rds.rds_deletion_protection),
    _r("aws-rds-backup-retention", "Databases of protected stacks keep automated backups at least 7 days.",
       "high", rds.TYPES, rds.rds_backup_retention),
    _r("aws-elasticache-replication-group-encrypted", "ElastiCache encrypts at rest with the customer-managed "
       "KMS key.", "high", (elasticache.REPLICATION_GROUP,), elasticache.elasticache_encrypted),
    _r("aws-ebs-volume-encrypted", "EBS volumes are encrypted with the customer-managed KMS key.", "high",
       (ec2.EBS_VOLUME,), ec2.ebs_encrypted),
    _r("aws-ec2-launch-template-imdsv2", "Instances require IMDSv2.", "high",
       (ec2.LAUNCH_TEMPLATE,), ec2.launch_template_imdsv2),
    _r("aws-ec2-launch-template-ebs-encrypted", "Node volumes are encrypted with the customer-managed KMS key.",
       "high", (ec2.LAUNCH_TEMPLATE,), ec2.launch_template_ebs_encrypted),
    _r("aws-eks-node-group-launch-template", "Node groups use our launch template (IMDSv2, encrypted volumes).",
       "high", (eks.NODE_GROUP,), eks.node_group_launch_template),
    _r("aws-eks-node-group-gpu-tainted", "GPU node groups are tainted so only GPU workloads use them.",
       "medium", (eks.NODE_GROUP,), eks.node_group_gpu_tainted),
    _r("aws-eks-cluster-secrets-encrypted", "EKS encrypts Kubernetes secrets with a KMS key.", "high",
       (eks.EKS_CLUSTER,), eks.eks_secrets_encrypted),
    _r("aws-eks-cluster-control-plane-logging", "EKS sends every control-plane log type to CloudWatch.",
       "medium", (eks.EKS_CLUSTER,), eks.eks_control_plane_logs),
    _r("aws-eks-cluster-endpoint-restricted", "A public EKS endpoint is limited to listed networks.",
       "high", (eks.EKS_CLUSTER,), eks.eks_endpoint_restricted),
    _r("aws-s3-bucket-acl-not-public", "No bucket ACL grants public access.", "critical",
       s3.S3_ACL_TYPES, s3.s3_acl_not_public),
    _s("aws-s3-bucket-kms-encrypted", "Every bucket encrypts with aws:kms and the customer-managed key.",
       "high", s3.s3_buckets_kms),
    _s("aws-s3-bucket-public-access-blocked", "Every bucket blocks public access (all four flags).",
       "critical", s3.s3_buckets_public_access_blocked),
    _r("aws-lb-listener-tls", "Load balancer listeners use TLS (plain HTTP only to redirect to HTTPS).",
       "high", lb.LISTENER_TYPES, lb.listener_tls),
    _r("aws-iam-no-admin-statement", "No IAM statement allows \"*\" on \"*\".", "critical",
       iam.POLICY_TYPES, iam.iam_no_admin),
    _r("aws-resource-required-tags", "Taggable AWS resources carry environment, owner and cost-center.",
       "low", tags.TAGGABLE_TYPES, tags.required_tags),
    # --- Kubernetes guardrails
    _r("kubernetes-container-resources", "Containers set cpu and memory requests and limits.", "medium",
       WORKLOADS, pods.container_resources),
    _r("kubernetes-container-non-root", "Containers run as non-root.", "high", WORKLOADS, pods.container_non_root),
    _r("kubernetes-container-no-privilege-escalation", "Containers cannot escalate privileges.", "high",
       WORKLOADS, pods.container_no_privilege_escalation),
    _r("kubernetes-container-image-tag-pinned", "Container images are pinned (no latest, no missing tag).",
       "medium", WORKLOADS, pods.container_image_pinned),
    _s("kubernetes-deployment-hpa-min-replicas", "Every production Deployment has an HPA with at least 3 "
       "replicas.", "high", deployments.production_deployments_autoscaled),
    _s("kubernetes-deployment-pod-disruption-budget", "Every production Deployment has a "
       "PodDisruptionBudget.", "high", deployments.production_deployments_disruption_budget),
    _s("kubernetes-listener-tls", "Gateway listeners and Ingresses use TLS.", "high", traffic.listeners_tls),
    # --- deploy readiness: the stack's graph as a first `pulumi up` meets it
    _ready("kubernetes-custom-resource-after-crd", "Every custom resource waits for what installs its CRD.", "high"),
    _ready("kubernetes-references-declared", "Every Secret, ConfigMap, ServiceAccount and Secrets Manager entry "
           "a pod, Helm release, ExternalSecret or SecretStore refers to is declared in the stack or listed in "
           "governance/prerequisites.yaml.", "high"),
    _ready("kubernetes-volume-claim-storage-class", "Every volume claim names a StorageClass the stack declares, "
           "or a default StorageClass exists.", "high"),
    _ready("aws-eks-node-group-after-cni", "Node groups wait for the vpc-cni add-on their nodes need.", "high"),
    _ready("kubernetes-after-cluster-access", "Kubernetes resources wait for the deployer's EKS access entry or "
           "access policy association.", "critical"),
    _ready("aws-eks-gpu-node-group-device-plugin", "GPU node groups come with a device plugin.", "medium"),
    _ready("kubernetes-network-policy-enforced", "NetworkPolicies come with a CNI that enforces them.", "high"),
    _ready("backup-job-pg-client-supports-server", "The backup job's PostgreSQL client major is at least the "
           "database's (CronJob annotation leadgen.io/pg-client-major).", "high"),
    _ready("container-image-registry-owned", "Images come from the stack's own ECR repositories and account, or "
           "a public registry the pack allows.", "high"),
    _s(readiness.FORECAST, "On a stack that is not protected: what each deploy-readiness rule says its first "
       "`pulumi up` would meet.", "medium", readiness.forecast, "advisory", group="deploy-readiness"),
    # --- guardrails mirroring checkov / AWSGuard checks (the id each mirrors is in its description)
    _r("aws-ec2-security-group-no-world-ingress", "Security groups open only 80/443 to 0.0.0.0/0 or ::/0 "
       "(checkov CKV_AWS_24, CKV_AWS_25, CKV_AWS_277; AWSGuard INCOMING_SSH_DISABLED).", "critical",
       ec2.SECURITY_GROUP_TYPES, ec2.security_group_no_world_ingress),
    _r("aws-ec2-subnet-no-public-ip-on-launch", "Subnets do not give instances public IPs (checkov CKV_AWS_130).",
       "medium", (ec2.SUBNET,), ec2.subnet_no_public_ip),
    _r("aws-ec2-no-public-ip", "Instances and node launch templates get no public IP (checkov CKV_AWS_88).",
       "high", (ec2.LAUNCH_TEMPLATE, ec2.INSTANCE), ec2.instance_no_public_ip),
    _r("aws-eks-node-group-no-remote-access", "Node groups allow no SSH remote access (checkov CKV_AWS_100).",
       "high", (eks.NODE_GROUP,), eks.node_group_no_remote_access),
    _r("aws-eks-cluster-supported-version", "EKS runs a Kubernetes minor in standard support (checkov "
       "CKV_AWS_339; AWS Config EKS_CLUSTER_SUPPORTED_VERSION).", "high", (eks.EKS_CLUSTER,),
       eks.eks_supported_version),
    _s("aws-ec2-vpc-flow-logs-enabled", "Every VPC has a flow log (checkov CKV2_AWS_11; AWSGuard "
       "VPC_FLOW_LOGS_ENABLED).", "high", ec2.vpc_flow_logs),
    _r("aws-kms-key-rotation-enabled", "Symmetric KMS keys rotate (checkov CKV_AWS_7; AWSGuard "
       "CMK_BACKING_KEY_ROTATION_ENABLED).", "high", (kms.KMS_KEY,), kms.kms_rotation),
    _r("aws-elasticache-transit-encryption", "ElastiCache encrypts in transit, TLS required (checkov CKV_AWS_30).",
       "high", (elasticache.REPLICATION_GROUP,), elasticache.elasticache_transit),
    _r("aws-rds-multi-az", "Databases of protected stacks are Multi-AZ (checkov CKV_AWS_157; AWSGuard "
       "RDS_MULTI_AZ_SUPPORT).", "high", (rds.RDS_INSTANCE,), rds.rds_multi_az),
    _r("aws-rds-iam-authentication", "Databases accept IAM authentication (checkov CKV_AWS_161).", "medium",
       rds.TYPES, rds.rds_iam_auth),
    _r("aws-rds-performance-insights-encrypted", "Performance Insights data is encrypted with the "
       "customer-managed key (checkov CKV_AWS_354).", "medium", rds.TYPES,
       rds.rds_performance_insights_kms),
    _r("aws-cloudwatch-log-group-encrypted", "Log groups are encrypted with the customer-managed key (checkov "
       "CKV_AWS_158).", "high", (cloudwatch.LOG_GROUP,), cloudwatch.log_group_encrypted),
    _r("aws-cloudwatch-log-group-retention", "Log groups keep logs at least a year (checkov CKV_AWS_338).",
       "medium", (cloudwatch.LOG_GROUP,), cloudwatch.log_group_retention),
    _r("aws-secretsmanager-secret-cmk", "Secrets are encrypted with the customer-managed key (checkov "
       "CKV_AWS_149).", "high", (secretsmanager.SECRET,), secretsmanager.secret_cmk),
    _r("aws-iam-trust-policy-restricted", "No role can be assumed by any principal (checkov CKV_AWS_60, "
       "CKV_AWS_61).", "critical", (iam.ROLE,), iam.trust_policy_restricted),
    _r("aws-iam-no-wildcard-actions", "No IAM statement allows service:* on every resource or uses Allow with "
       "NotAction (checkov CKV_AWS_63, CKV2_AWS_40; AWSGuard IAM_POLICY_NO_STATEMENTS_WITH_FULL_ACCESS).",
       "critical", iam.POLICY_TYPES, iam.no_wildcard_actions),
    _r("aws-iam-no-privilege-escalation", "No IAM statement allows privilege-escalation actions on every "
       "resource, no admin managed policy attached (checkov CKV_AWS_286, CKV_AWS_274).", "critical",
       iam.POLICY_TYPES + iam.ATTACHMENT_TYPES, iam.no_privilege_escalation),
    _r("aws-s3-bucket-policy-not-public", "No bucket policy allows any principal (checkov CKV_AWS_70; AWSGuard "
       "S3_BUCKET_PUBLIC_READ_PROHIBITED).", "critical", (s3.BUCKET_POLICY,), s3.bucket_policy_not_public),
    _r("aws-s3-object-acl-not-public", "No object ACL makes an object public (checkov CKV_AWS_20 applied to "
       "objects).", "critical", s3.OBJECT_TYPES, s3.object_acl_not_public),
    _s("aws-s3-bucket-versioning-enabled", "Every bucket keeps versions (checkov CKV_AWS_21; AWSGuard "
       "S3_BUCKET_VERSIONING_ENABLED).", "medium", s3.buckets_versioned),
    _r("kubernetes-pod-no-host-namespaces", "Pods do not share the node's network, PID or IPC namespace "
       "(checkov CKV_K8S_17, CKV_K8S_18, CKV_K8S_19).", "critical", WORKLOADS, pods.pod_no_host_namespaces),
    _r("kubernetes-container-no-dangerous-capabilities", "Containers add no SYS_ADMIN, NET_ADMIN or other "
       "node-level capability (checkov CKV_K8S_39, CKV_K8S_25).", "critical", WORKLOADS,
       pods.container_no_dangerous_capabilities),
    _r("kubernetes-container-image-digest-pinned", "Production containers run images pinned by digest, "
       "<repository>:<tag>@sha256:<digest> (checkov CKV_K8S_43).", "high", WORKLOADS,
       pods.container_image_digest_pinned),
    _r("kubernetes-container-image-pull-policy", "A container image named by tag alone is pulled Always "
       "(checkov CKV_K8S_15).", "medium", WORKLOADS, pods.container_image_pull_policy),
    _r("kubernetes-container-high-uid", "Containers run as a UID of 10000 or more, set in the pod or container "
       "securityContext (checkov CKV_K8S_40).", "medium", WORKLOADS, pods.container_high_uid),
    _r("kubernetes-container-secrets-as-files", "Containers read Secrets from mounted files, not environment "
       "variables (checkov CKV_K8S_35; CIS Kubernetes 5.4.1).", "medium", WORKLOADS,
       pods.container_secrets_as_files, "advisory"),
    _r("kubernetes-service-load-balancer-restricted", "A LoadBalancer Service is internal or limited to listed "
       "source ranges (CIS EKS 5.4.5; checkov has no equivalent).", "high", (traffic.SERVICE,),
       traffic.load_balancer_restricted),
    _r("helm-release-values-pod-security", "Values handed to a Helm release set no host namespace, privileged, "
       "root, privilege escalation or dangerous capability (checkov CKV_K8S_16-20, CKV_K8S_23, CKV_K8S_39 "
       "applied to chart values).", "critical", helm_values.RELEASE_TYPES, helm_values.release_values_pod_security),
    _r("aws-s3-bucket-ownership-enforced", "Bucket ACLs are disabled: objects are owned by the bucket owner "
       "(checkov CKV2_AWS_65; AWSGuard S3_BUCKET_ACL_PROHIBITED).", "high", (s3.OWNERSHIP,),
       s3.ownership_enforced),
    _r("aws-ecr-repository-hardened", "Image repositories scan on push, keep tags immutable and encrypt with "
       "the customer-managed key (checkov CKV_AWS_163, CKV_AWS_51, CKV_AWS_136).", "medium",
       (ecr.ECR_REPOSITORY,), ecr.ecr_repository_hardened),
    _r("kubernetes-namespace-pod-security", "Each namespace enforces a Pod Security level; a privileged one still "
       "audits at baseline or restricted (CIS EKS 4.2).", "high", (cluster.NAMESPACE,), cluster.namespace_pod_security),
    _r("kubernetes-service-account-no-token-automount", "Service accounts mount no API token unless a pod asks "
       "(checkov CKV_K8S_38).", "medium", (cluster.SERVICE_ACCOUNT,), cluster.service_account_no_automount),
    _r("kubernetes-storage-class-encrypted", "EBS storage classes encrypt volumes with the customer-managed key "
       "(checkov CKV_AWS_3 / CKV_AWS_189 for the volumes they create).", "high", (cluster.STORAGE_CLASS,),
       cluster.storage_class_encrypted),
    _s("kubernetes-namespace-default-deny", "Every namespace the stack creates has a default-deny NetworkPolicy "
       "(CIS Kubernetes 5.3.2).", "high", cluster.namespaces_default_deny),
)
# What each stack policy judges, by type token: with the resource policies' types, the types an
# audit counts as covered (a resource of any other type is reported as not covered by any policy).
STACK_POLICY_TYPES = {
    "aws-s3-bucket-kms-encrypted": s3.S3_BUCKET_TYPES + s3.S3_SSE_TYPES,
    "aws-s3-bucket-public-access-blocked": s3.S3_BUCKET_TYPES + (s3.S3_PAB_TYPE,),
    "aws-s3-bucket-versioning-enabled": s3.S3_BUCKET_TYPES + s3.VERSIONING_TYPES,
    "aws-ec2-vpc-flow-logs-enabled": (ec2.VPC, ec2.FLOW_LOG),
    "kubernetes-deployment-hpa-min-replicas": (objects.DEPLOYMENT,) + deployments.HPA_TYPES,
    "kubernetes-deployment-pod-disruption-budget": (objects.DEPLOYMENT, deployments.PDB_TYPE),
    "kubernetes-listener-tls": (traffic.GATEWAY_TYPE, traffic.HTTPROUTE_TYPE, traffic.INGRESS_TYPE),
    "kubernetes-namespace-default-deny": (cluster.NAMESPACE, cluster.NETWORK_POLICY),
}
BY_NAME = {spec.name: spec for spec in SPECS}
# Mandatory policies no policy config may lower (policies/__main__.py restores them in Configure):
# what decides whether an update of a protected stack may run at all.
LOCKED = frozenset(s.name for s in SPECS if s.group in ("gate", "governance") and s.enforcement == "mandatory")
RESOURCE_SPECS = tuple(s for s in SPECS if s.kind == "resource")
STACK_SPECS = tuple(s for s in SPECS if s.kind == "stack")


def family(spec: Spec) -> str:
    """The pack module a policy's predicate lives in (`aws/rds`, `kubernetes/pods`, `readiness/rules`,
    `gates`): one module per resource family, so a new rule has one place to go. Derived from the
    predicate itself, so the layout and the catalog cannot disagree."""
    module = spec.check.__module__
    return module.split(".", 1)[1].replace(".", "/") if "." in module else module


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


def covered_types() -> frozenset[str]:
    """Type tokens at least one guardrail judges."""
    return frozenset(SPECS_BY_TYPE) | frozenset(t for types in STACK_POLICY_TYPES.values() for t in types)


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
