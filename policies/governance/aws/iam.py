"""IAM guardrails: no "*" on "*", who may assume a role, service-wide wildcards, NotAction, and the
actions that let a principal grant itself more. Pure predicates over a resource's inputs; each
names the public check it mirrors."""
from __future__ import annotations

from typing import Iterator

from ..model import Context, Resource
from ..values import as_list, get
from .documents import is_star, statements


ROLE = "aws:iam/role:Role"
POLICY_TYPES = ("aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy", "aws:iam/userPolicy:UserPolicy",
                "aws:iam/groupPolicy:GroupPolicy", ROLE)
ATTACHMENT_TYPES = ("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
                    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
                    "aws:iam/policyAttachment:PolicyAttachment")
# checkov CKV_AWS_286 (privilege escalation): each of these on every resource lets the holder
# write or hand itself any permission.
ESCALATION_ACTIONS = frozenset(a.lower() for a in (
    "iam:AttachGroupPolicy", "iam:AttachRolePolicy", "iam:AttachUserPolicy", "iam:CreateAccessKey",
    "iam:CreateLoginProfile", "iam:CreatePolicyVersion", "iam:PassRole", "iam:PutGroupPolicy",
    "iam:PutRolePolicy", "iam:PutUserPolicy", "iam:SetDefaultPolicyVersion", "iam:UpdateAssumeRolePolicy",
    "iam:UpdateLoginProfile", "iam:AddUserToGroup", "iam:CreateUser", "iam:CreateRole",
    "lambda:UpdateFunctionCode", "sts:AssumeRole"))
ADMIN_MANAGED = ("arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/IAMFullAccess",
                 "arn:aws:iam::aws:policy/PowerUserAccess")


def _documents(r: Resource) -> Iterator[tuple[str, object]]:
    if r.type == ROLE:
        for i, inline in enumerate(as_list(get(r.props, "inlinePolicies"))):
            yield f"inlinePolicies[{i}]", get(inline, "policy")
    else:
        yield "policy", get(r.props, "policy")


def iam_no_admin(r: Resource, ctx: Context) -> list[str]:
    out = []
    for where, doc in _documents(r):
        for s in statements(doc):
            if s.get("Effect", "Allow") == "Allow" and is_star(s.get("Action")) and is_star(s.get("Resource")):
                out.append(f"{r.name}: {where} allows \"*\" on \"*\"; grant the actions on the resources it needs")
    return out


def _strings(value: object) -> list[str]:
    return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]


def _any_principal(principal: object) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return any("*" in _strings(v) for v in principal.values())
    return False


def trust_policy_restricted(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_AWS_60 / CKV_AWS_61, prancer PR-AWS-CFR-IAM-003: no role assumable by anyone."""
    out = []
    for i, s in enumerate(statements(get(r.props, "assumeRolePolicy"))):
        if s.get("Effect", "Allow") != "Allow" or s.get("Condition"):
            continue
        if _any_principal(s.get("Principal")) or "NotPrincipal" in s:
            out.append(f"{r.name}: assumeRolePolicy Statement[{i}] lets any principal assume the role; "
                       "name the service, account or OIDC provider (with its conditions)")
    return out


def _wildcards(actions: list[str]) -> list[str]:
    return [a for a in actions if a == "*" or a.endswith(":*")]


def no_wildcard_actions(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_AWS_63 / CKV2_AWS_40 (full IAM privileges), AWSGuard
    IAM_POLICY_NO_STATEMENTS_WITH_FULL_ACCESS: no `service:*` on every resource, and no Allow with
    NotAction (which grants everything it does not name)."""
    out = []
    for where, doc in _documents(r):
        for i, s in enumerate(statements(doc)):
            if s.get("Effect", "Allow") != "Allow":
                continue
            resources = _strings(s.get("Resource"))
            if "NotAction" in s:
                out.append(f"{r.name}: {where} Statement[{i}] allows with NotAction, which grants every action "
                           "it does not list; list the actions allowed")
                continue
            wild = [a for a in _wildcards(_strings(s.get("Action"))) if a != "*"]
            if wild and "*" in resources:
                out.append(f"{r.name}: {where} Statement[{i}] allows {wild[0]} on \"*\"; "
                           "grant the actions it needs on the resources it needs")
    return out


def no_privilege_escalation(r: Resource, ctx: Context) -> list[str]:
    """checkov CKV_AWS_286 (privilege escalation) and CKV_AWS_274 (AdministratorAccess attached)."""
    if r.type in ATTACHMENT_TYPES:
        arn = get(r.props, "policyArn")
        if arn in ADMIN_MANAGED:
            return [f"{r.name}: attaches {arn.rsplit('/', 1)[-1]}; grant the actions the role needs"]
        return []
    out = []
    for where, doc in _documents(r):
        for i, s in enumerate(statements(doc)):
            if s.get("Effect", "Allow") != "Allow" or "*" not in _strings(s.get("Resource")):
                continue
            risky = sorted(a for a in _strings(s.get("Action")) if a.lower() in ESCALATION_ACTIONS)
            if risky:
                out.append(f"{r.name}: {where} Statement[{i}] allows {', '.join(risky)} on \"*\", "
                           "which lets the holder grant itself more; scope it to named ARNs")
    return out
