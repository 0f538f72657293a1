"""Every principal a resource policy names must exist when the policy is written.

KMS (key policies), IAM (trust policies), S3 (bucket policies) and SNS (topic policies) refuse a
policy whose AWS principal is a role, user or identity provider that does not exist:
`MalformedPolicyDocumentException: Policy contains a statement with one or more invalid
principals`. So a principal here must be: an account (`arn:...:root` or an account id), a role,
user or OIDC provider this stack declares, one bootstrap/ declares (its deployer roles, its GitHub
provider, its service-linked roles), or a service principal (`<service>.amazonaws.com`).
"""
from __future__ import annotations

import importlib.util
import json
import re
from functools import lru_cache
from typing import Iterator

from platformctl.project import ROOT

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

# Type -> the inputs holding a policy document with principals.
POLICY_INPUTS: dict[str, tuple[str, ...]] = {
    "aws:kms/key:Key": ("policy",),
    "aws:iam/role:Role": ("assumeRolePolicy",),
    "aws:s3/bucketPolicy:BucketPolicy": ("policy",),
    "aws:sns/topic:Topic": ("policy",),
    "aws:sns/topicPolicy:TopicPolicy": ("policy",),
    "aws:ecr/repositoryPolicy:RepositoryPolicy": ("policy",),
    "aws:secretsmanager/secretPolicy:SecretPolicy": ("policy",),
}
SERVICE = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)*\.amazonaws\.com(\.cn)?")
ACCOUNT = re.compile(r"\d{12}|arn:aws[a-z-]*:iam::\d{12}:root")
SERVICE_LINKED = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/aws-service-role/([^/]+)/([^/]+)")
IAM_NAMED = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:(role|user|oidc-provider)/(.+)")


@lru_cache(maxsize=1)
def bootstrap_service_linked_roles() -> dict[str, str]:
    """bootstrap/service_linked_roles.py's table (service -> role name): the one list of them."""
    path = ROOT / "bootstrap" / "service_linked_roles.py"
    spec = importlib.util.spec_from_file_location("_bootstrap_service_linked_roles", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return dict(module.SERVICE_LINKED_ROLES)


@lru_cache(maxsize=1)
def bootstrap_identities() -> frozenset[str]:
    """What bootstrap/ declares by name: `role/leadgen-deployer-<env>` for each environment of its
    stack file, and its GitHub OIDC provider."""
    import yaml

    names = {"oidc-provider/token.actions.githubusercontent.com"}
    for path in (ROOT / "bootstrap").glob("Pulumi.*.yaml"):
        if path.name == "Pulumi.yaml":
            continue
        config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
        for env in config.get("leadgen-bootstrap:environments") or {}:
            names.add(f"role/leadgen-deployer-{env}")
    return frozenset(names)


def _declared(resources: list[dict]) -> set[str]:
    """`role/<name>`, `user/<name>`, `oidc-provider/<url>` of what the stack declares."""
    out: set[str] = set()
    for r in resources:
        outputs, inputs = r.get("outputs") or {}, r.get("inputs") or {}
        arn = outputs.get("arn") if isinstance(outputs.get("arn"), str) else ""
        m = IAM_NAMED.fullmatch(arn)
        if m:
            out.add(f"{m.group(1)}/{m.group(2).rsplit('/', 1)[-1] if m.group(1) != 'oidc-provider' else m.group(2)}")
        if r["type"] == "aws:iam/role:Role" and isinstance(inputs.get("name"), str):
            out.add(f"role/{inputs['name']}")
    return out


def _principals(doc: dict) -> Iterator[tuple[str, str]]:
    statements = doc.get("Statement") or []
    for s in statements if isinstance(statements, list) else [statements]:
        p = s.get("Principal") if isinstance(s, dict) else None
        if p == "*" or p is None:
            continue
        if isinstance(p, str):
            p = {"AWS": p}
        for kind, values in p.items():
            for v in values if isinstance(values, list) else [values]:
                if isinstance(v, str):
                    yield kind, v


def check(resources: list[dict], project: str, stack: str) -> list[str]:
    declared = _declared(resources)
    linked = bootstrap_service_linked_roles()
    findings = []
    for r in resources:
        for key in POLICY_INPUTS.get(r["type"], ()):
            text = (r.get("inputs") or {}).get(key)
            if not isinstance(text, str) or UNKNOWN in text:
                continue
            try:
                doc = json.loads(text)
            except ValueError:
                findings.append(f"{r['type']} resource '{r['name']}' has a problem: {key} is not JSON "
                                f"(MalformedPolicyDocument)")
                continue
            for kind, value in _principals(doc):
                why = _refused(kind, value, declared, linked)
                if why:
                    findings.append(f"{r['type']} resource '{r['name']}' has a problem: {key}: "
                                    f"MalformedPolicyDocumentException: invalid principal {kind} {value}: {why}")
    return findings


def _refused(kind: str, value: str, declared: set[str], linked: dict[str, str]) -> str:
    if kind == "Service":
        return "" if SERVICE.fullmatch(value) else "not a service principal (<service>.amazonaws.com)"
    if kind in ("AWS", "Federated"):
        if ACCOUNT.fullmatch(value):
            return ""
        m = SERVICE_LINKED.fullmatch(value)
        if m:
            service, role = m.groups()
            if linked.get(service) == role:
                return ""
            return (f"the service-linked role {role} exists only once created; declare it in "
                    "bootstrap/service_linked_roles.py")
        m = IAM_NAMED.fullmatch(value)
        if m:
            entity = f"{m.group(1)}/{m.group(2) if m.group(1) == 'oidc-provider' else m.group(2).rsplit('/', 1)[-1]}"
            if entity in declared or entity in bootstrap_identities():
                return ""
            return "neither this stack nor bootstrap/ declares it"
        return "not an account, role, user or identity provider ARN"
    return ""
