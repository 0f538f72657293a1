"""Guardrails for AWS resources: pure predicates over a resource's inputs.

Each returns the violation messages (empty when compliant) and raises `Unknown` when a value it
needs is not known at preview, which the pack turns into a skip.
"""
from __future__ import annotations

import ipaddress
import functools
import json
from typing import Iterator

from .model import Context, Resource
from .taggable import load as load_taggable
from .values import Unknown, as_list, get, has_unknown, is_unknown, truthy

REQUIRED_TAGS = ("environment", "owner", "cost-center")
EKS_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
OPEN_CIDRS = ("0.0.0.0/0", "::/0")
PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")
GPU_FAMILIES = ("g", "gr", "p", "inf", "trn", "dl")
MIN_BACKUP_DAYS = 7  # the runbook keeps daily backups 7 days (30 days weekly, 7 years yearly)

RDS_TYPES = ("aws:rds/instance:Instance", "aws:rds/cluster:Cluster")
S3_BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
S3_SSE_TYPES = ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")
S3_PAB_TYPE = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
# The old provider set `acl` on the bucket itself; newer programs use a BucketAcl resource.
S3_ACL_TYPES = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2", *S3_BUCKET_TYPES)
LISTENER_TYPES = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
IAM_POLICY_TYPES = ("aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy", "aws:iam/userPolicy:UserPolicy",
                    "aws:iam/groupPolicy:GroupPolicy", "aws:iam/role:Role")
TAGGABLE_TYPES = load_taggable()


def _kms(props: dict, key: str = "kmsKeyId") -> bool:
    value = get(props, key)
    return isinstance(value, str) and bool(value.strip())


def rds_storage_encrypted(r: Resource, ctx: Context) -> list[str]:
    if not truthy(get(r.props, "storageEncrypted", False)):
        return [f"{r.name}: storageEncrypted must be true"]
    if not _kms(r.props):
        return [f"{r.name}: kmsKeyId must name the customer-managed KMS key (the AWS-managed default key cannot be audited or rotated by us)"]
    return []


def rds_not_public(r: Resource, ctx: Context) -> list[str]:
    if truthy(get(r.props, "publiclyAccessible", False)):
        return [f"{r.name}: publiclyAccessible must be false; databases are reached only from the private subnets"]
    return []


def rds_deletion_protection(r: Resource, ctx: Context) -> list[str]:
    if ctx.protected and not truthy(get(r.props, "deletionProtection", False)):
        return [f"{r.name}: deletionProtection must be true on stack {ctx.stack}"]
    return []


def rds_backup_retention(r: Resource, ctx: Context) -> list[str]:
    if not ctx.protected:
        return []
    days = get(r.props, "backupRetentionPeriod", 1 if r.type == "aws:rds/cluster:Cluster" else 0)
    if float(days) < MIN_BACKUP_DAYS:
        return [f"{r.name}: backupRetentionPeriod is {days:g} days; stack {ctx.stack} keeps at least {MIN_BACKUP_DAYS}"]
    return []


def elasticache_encrypted(r: Resource, ctx: Context) -> list[str]:
    if not truthy(get(r.props, "atRestEncryptionEnabled", False)):
        return [f"{r.name}: atRestEncryptionEnabled must be true"]
    if not _kms(r.props):
        return [f"{r.name}: kmsKeyId must name the customer-managed KMS key"]
    return []


def ebs_encrypted(r: Resource, ctx: Context) -> list[str]:
    if not truthy(get(r.props, "encrypted", False)):
        return [f"{r.name}: encrypted must be true"]
    if not _kms(r.props):
        return [f"{r.name}: kmsKeyId must name the customer-managed KMS key"]
    return []


def launch_template_imdsv2(r: Resource, ctx: Context) -> list[str]:
    if get(r.props, "metadataOptions.httpTokens") != "required":
        return [f"{r.name}: metadataOptions.httpTokens must be \"required\" (IMDSv2 only)"]
    return []


def launch_template_ebs_encrypted(r: Resource, ctx: Context) -> list[str]:
    out = []
    for i, mapping in enumerate(as_list(get(r.props, "blockDeviceMappings"))):
        if get(mapping, "ebs") is None:
            continue
        if not truthy(get(mapping, "ebs.encrypted", False)):
            out.append(f"{r.name}: blockDeviceMappings[{i}].ebs.encrypted must be true")
        elif not _kms(mapping, "ebs.kmsKeyId"):
            out.append(f"{r.name}: blockDeviceMappings[{i}].ebs.kmsKeyId must name the customer-managed KMS key")
    return out


def node_group_launch_template(r: Resource, ctx: Context) -> list[str]:
    # Without our launch template a node group gets EKS's default one, which neither requires
    # IMDSv2 nor encrypts the root volume with our key.
    if get(r.props, "launchTemplate") is None:
        return [f"{r.name}: launchTemplate must be set so nodes require IMDSv2 and encrypt their volumes"]
    return []


def is_gpu_instance(instance_type: str) -> bool:
    """g4dn, g5, p4d, inf2, trn1...: an accelerator family letter followed by its generation."""
    family = instance_type.split(".", 1)[0]
    return any(family.startswith(p) and family[len(p):len(p) + 1].isdigit() for p in GPU_FAMILIES)


def node_group_gpu_tainted(r: Resource, ctx: Context) -> list[str]:
    types = [t for t in as_list(get(r.props, "instanceTypes"))]
    if any(is_unknown(t) for t in types):
        raise Unknown("instanceTypes")
    ami = str(get(r.props, "amiType", "") or "")
    if not (any(is_gpu_instance(t) for t in types) or "GPU" in ami.upper() or "NVIDIA" in ami.upper()):
        return []
    taints = as_list(get(r.props, "taints"))
    if not any(get(t, "effect") in ("NO_SCHEDULE", "NO_EXECUTE") for t in taints):
        return [f"{r.name}: a GPU node group needs a NO_SCHEDULE taint so only GPU workloads land on its nodes"]
    return []


def eks_secrets_encrypted(r: Resource, ctx: Context) -> list[str]:
    config = get(r.props, "encryptionConfig")
    if isinstance(config, list):  # older provider schemas used a one-element list
        config = config[0] if config else None
    if not config or "secrets" not in as_list(get(config, "resources")):
        return [f"{r.name}: encryptionConfig must encrypt \"secrets\" with a KMS key"]
    if not _kms(config, "provider.keyArn"):
        return [f"{r.name}: encryptionConfig.provider.keyArn must name the KMS key"]
    return []


def eks_control_plane_logs(r: Resource, ctx: Context) -> list[str]:
    enabled = set(as_list(get(r.props, "enabledClusterLogTypes")))
    missing = [t for t in EKS_LOG_TYPES if t not in enabled]
    if missing:
        return [f"{r.name}: enabledClusterLogTypes is missing {', '.join(missing)}"]
    return []


def eks_endpoint_restricted(r: Resource, ctx: Context) -> list[str]:
    # The provider's defaults are a public endpoint open to 0.0.0.0/0, so absence is a violation.
    if not truthy(get(r.props, "vpcConfig.endpointPublicAccess", True)):
        return []
    cidrs = as_list(get(r.props, "vpcConfig.publicAccessCidrs"))
    if not cidrs:
        return [f"{r.name}: vpcConfig.publicAccessCidrs must list the admin networks when the public endpoint is on"]
    if has_unknown(cidrs):
        raise Unknown("vpcConfig.publicAccessCidrs")
    open_ = [c for c in cidrs if c in OPEN_CIDRS]
    if open_:
        return [f"{r.name}: vpcConfig.publicAccessCidrs must not contain {open_[0]}"]
    why = _public_ranges_problem(cidrs)
    return [f"{r.name}: vpcConfig.publicAccessCidrs {why}"] if why else []


# More public addresses than one /8 in all is "the internet", however it is split.
MAX_PUBLIC_ADDRESSES = {4: 2 ** 24, 6: 2 ** 104}


def _public_ranges_problem(cidrs: list) -> str | None:
    """Judged by the union of the ranges, not by their spelling: 0.0.0.0/1 + 128.0.0.0/1 is 0.0.0.0/0."""
    networks: dict[int, list] = {4: [], 6: []}
    for c in cidrs:
        try:
            net = ipaddress.ip_network(str(c), strict=False)
        except ValueError:
            return f"holds {c!r}, which is not a CIDR"
        networks[net.version].append(net)
    for version, nets in networks.items():
        union = list(ipaddress.collapse_addresses(nets))
        if any(n.prefixlen == 0 for n in union):
            return f"together cover every IPv{version} address ({', '.join(map(str, union))})"
        if sum(n.num_addresses for n in union) > MAX_PUBLIC_ADDRESSES[version]:
            return f"together cover more than a /{8 if version == 4 else 24} ({', '.join(map(str, union))})"
    return None


def s3_acl_not_public(r: Resource, ctx: Context) -> list[str]:
    acl = get(r.props, "acl")
    if acl in PUBLIC_ACLS:
        return [f"{r.name}: acl {acl} makes the bucket public"]
    return []


def listener_tls(r: Resource, ctx: Context) -> list[str]:
    protocol = str(get(r.props, "protocol", "HTTP")).upper()
    if protocol in ("HTTPS", "TLS"):
        if not get(r.props, "certificateArn"):
            return [f"{r.name}: a {protocol} listener needs certificateArn"]
        return []
    # A plain HTTP listener is allowed only to redirect to HTTPS (it never serves content).
    actions = as_list(get(r.props, "defaultActions"))
    if protocol == "HTTP" and actions and all(
            get(a, "type") == "redirect" and str(get(a, "redirect.protocol", "")).upper() == "HTTPS"
            for a in actions):
        return []
    return [f"{r.name}: protocol {protocol} must be HTTPS or TLS (HTTP only to redirect to HTTPS)"]


@functools.lru_cache(maxsize=1024)
def _parsed(text: str) -> object:
    """A policy document parsed once: several IAM rules read the same document."""
    try:
        return json.loads(text)
    except ValueError:
        return None


def _statements(document: object) -> Iterator[dict]:
    if isinstance(document, str):
        if is_unknown(document):
            raise Unknown("policy")
        document = _parsed(document)
    if isinstance(document, dict):
        statements = document.get("Statement", [])
        for s in statements if isinstance(statements, list) else [statements]:
            if isinstance(s, dict):
                yield s


def _is_star(value: object) -> bool:
    return value == "*" or (isinstance(value, list) and "*" in value)


def iam_no_admin(r: Resource, ctx: Context) -> list[str]:
    documents = []
    if r.type == "aws:iam/role:Role":
        for i, inline in enumerate(as_list(get(r.props, "inlinePolicies"))):
            documents.append((f"inlinePolicies[{i}]", get(inline, "policy")))
    else:
        documents.append(("policy", get(r.props, "policy")))
    out = []
    for where, doc in documents:
        for s in _statements(doc):
            if s.get("Effect", "Allow") == "Allow" and _is_star(s.get("Action")) and _is_star(s.get("Resource")):
                out.append(f"{r.name}: {where} allows \"*\" on \"*\"; grant the actions on the resources it needs")
    return out


def required_tags(r: Resource, ctx: Context) -> list[str]:
    tags = get(r.props, "tags") or {}
    defaults = get(r.provider or {}, "defaultTags.tags") or {}
    if has_unknown(tags) or has_unknown(defaults):
        raise Unknown("tags")
    merged = {**defaults, **tags}
    missing = [k for k in REQUIRED_TAGS if not str(merged.get(k) or "").strip()]
    if missing:
        return [f"{r.name}: missing tags {', '.join(missing)}"]
    return []


class bucket_index:
    """S3 sub-resources (encryption, public-access blocks, versioning) grouped once by the bucket
    they belong to, so a stack check is linear in the stack's size: by dependency (their `bucket`
    is usually the bucket's id, unknown at preview) or by the bucket's known name."""

    def __init__(self, resources: list[Resource], types: tuple[str, ...] | str):
        types = (types,) if isinstance(types, str) else tuple(types)
        self.by_urn: dict[str, list[Resource]] = {}
        self.by_name: dict[str, list[Resource]] = {}
        self.pending = False  # a child whose bucket is not known yet may belong to any bucket
        for child in resources:
            if child.type not in types:
                continue
            for dep in child.dependencies:
                self.by_urn.setdefault(dep, []).append(child)
            name = child.props.get("bucket")
            if is_unknown(name):
                self.pending = self.pending or not child.dependencies
            elif isinstance(name, str):
                self.by_name.setdefault(name, []).append(child)

    def attached(self, bucket: Resource) -> list[Resource] | None:
        """The bucket's children, or None when there are none yet but an unlinked one may be its."""
        found: dict[str, Resource] = {c.urn: c for c in self.by_urn.get(bucket.urn, ())}
        for key in {bucket.props.get("bucket"), bucket.props.get("id"), bucket.name}:
            if isinstance(key, str):
                found.update((c.urn, c) for c in self.by_name.get(key, ()))
        if not found and self.pending:
            return None
        return list(found.values())


def _sse_problem(rules: list) -> str | None:
    for rule in rules:
        algorithm = get(rule, "applyServerSideEncryptionByDefault.sseAlgorithm")
        if algorithm not in ("aws:kms", "aws:kms:dsse"):
            return f"sseAlgorithm is {algorithm!r}, must be aws:kms"
        if not _kms(rule, "applyServerSideEncryptionByDefault.kmsMasterKeyId"):
            return "kmsMasterKeyId must name the customer-managed KMS key"
    return None


def s3_buckets_kms(resources: list[Resource], ctx: Context) -> Iterator[tuple[str, str]]:
    """Every bucket encrypts with aws:kms and our key: through its encryption-configuration
    resource or the inline `serverSideEncryptionConfiguration` older programs set on the bucket
    itself (checkov CKV_AWS_145). One finding a bucket."""
    index = bucket_index(resources, S3_SSE_TYPES)
    for bucket in (r for r in resources if r.type in S3_BUCKET_TYPES):
        inline = get(bucket.props, "serverSideEncryptionConfiguration.rule")
        rule_sets = [as_list(get(c.props, "rules")) for c in index.attached(bucket) or ()]
        if inline is not None:
            rule_sets.append(as_list(inline))
        if not rule_sets:
            if index.attached(bucket) is None:
                continue  # cannot tell which bucket an unlinked config belongs to yet
            yield f"{bucket.name}: no server-side encryption configuration with aws:kms", bucket.urn
            continue
        problems = [p for p in (_sse_problem(rules) for rules in rule_sets) if p]
        if problems:
            yield f"{bucket.name}: {problems[0]}", bucket.urn


PAB_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def s3_buckets_public_access_blocked(resources: list[Resource], ctx: Context) -> Iterator[tuple[str, str]]:
    """Every bucket has a public access block with all four flags on (checkov CKV_AWS_53-56,
    CKV2_AWS_6). One finding a bucket, however many blocks it pairs with."""
    index = bucket_index(resources, S3_PAB_TYPE)
    for bucket in (r for r in resources if r.type in S3_BUCKET_TYPES):
        attached = index.attached(bucket)
        if attached is None:
            continue
        if not attached:
            yield f"{bucket.name}: no public access block", bucket.urn
            continue
        # The bucket is as open as its most open block: a flag any block leaves off.
        off = [f for f in PAB_FLAGS if not all(truthy(get(b.props, f, False)) for b in attached)]
        if off:
            yield f"{bucket.name}: public access block leaves {', '.join(off)} off", bucket.urn
