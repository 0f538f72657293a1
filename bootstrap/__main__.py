"""What CI needs before it can deploy leadgen into an AWS account, run once per account by an admin.

- The GitHub Actions OIDC provider, so workflows get short-lived AWS credentials and no access key
  is ever stored.
- One deployer role per environment, which only a job of a named workflow file on `main` of this
  repository, running in that GitHub environment, can assume (`sub` =
  `repo:<owner>/<repo>:environment:<env>:job_workflow_ref:<owner>/<repo>/.github/workflows/<file>@refs/heads/main`,
  `aud` = `sts.amazonaws.com`): `up.yml` for every environment, plus `staging.yml` and `dev.yml` for
  their own. Environments are protected in GitHub (required reviewers, `main` only), so a pull
  request, a fork or another branch never gets these credentials, and the workflow binding means a
  second workflow given the `production` environment cannot either: `pulumi up` that skips the
  policy pack has no credentials unless it is the `up` workflow, which runs the pack.
- The service-linked roles the leadgen program's key policies name (service_linked_roles.py):
  KMS refuses a policy naming a role that does not exist, and a fresh account has none.
- The leadgen program grants the role cluster-admin through an EKS access entry
  (`leadgen:cluster.deployerRoleArn`), so `pulumi up` can use the Kubernetes API it creates.
- A read-only audit role for the `audit` and `weekly` workflows (`vars.AWS_AUDIT_ROLE_ARN`), trusted only by
  this repository's jobs on `main`.
- A break-glass role for what no workflow can do yet or any more: the first, AWS-only targeted
  update of a fresh account (no VPC, hence no runner) and emergencies. Assumed by a named
  administrator (tagged `leadgen-break-glass=allowed`) from their own machine, with MFA no older
  than an hour; it may do what a deployer may do in every environment's regions, no more, and
  CloudTrail records each session under the administrator's name.

Why not the leadgen program itself: the role must exist before the first `pulumi up` can run, and a
program must not be able to widen the trust of the identity it runs as.
"""
import json
import re

import pulumi
import pulumi_aws as aws

from service_linked_roles import SERVICE_LINKED_ROLES

GITHUB_OIDC = "token.actions.githubusercontent.com"
# A deploy of a fresh stack (EKS, Multi-AZ RDS, ElastiCache) runs past one hour.
MAX_SESSION_SECONDS = 3 * 3600

# Services the leadgen program creates and deletes resources of, and nothing else (a test keeps
# this list equal to the services of the resources the program declares). Pulumi names most of
# them only at create time, so these are scoped by region and service, not by ARN. Load balancers
# and the API's DNS records are made by the cluster's controllers with their own roles; route53,
# cloudwatch (alarms), sns and lambda are the recovery stack's failover records, health checks, alarms
# and its probe of the primary.
PLATFORM_SERVICES = ("ec2", "eks", "rds", "elasticache", "s3", "kms", "logs", "secretsmanager", "ecr",
                     "aps", "cloudwatch", "route53", "sns", "ses", "lambda")
# IAM the program needs: its roles (IRSA, nodes, the cluster, flow logs, RDS monitoring), their
# inline and attached policies, and the cluster's OIDC provider.
IAM_ACTIONS = (
    "iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:TagRole", "iam:UntagRole",
    "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:UpdateAssumeRolePolicy",
    "iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy", "iam:ListRolePolicies",
    "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole", "iam:PassRole",
    "iam:CreatePolicy", "iam:DeletePolicy", "iam:GetPolicy", "iam:GetPolicyVersion",
    "iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:ListPolicyVersions", "iam:TagPolicy",
    "iam:CreateOpenIDConnectProvider", "iam:DeleteOpenIDConnectProvider",
    "iam:GetOpenIDConnectProvider", "iam:TagOpenIDConnectProvider",
    "iam:UpdateOpenIDConnectProviderThumbprint", "iam:CreateServiceLinkedRole",
)
# Break-glass sessions: an hour, from an MFA sign-in no older than an hour, by tagged principals.
AUDIT_ROLE, BREAK_GLASS_ROLE = "leadgen-audit", "leadgen-break-glass"
BREAK_GLASS_TAG = "leadgen-break-glass"
BREAK_GLASS_MFA_MAX_AGE = 3600
# AWS's read-only view of every service's configuration, without reading data (no object or
# secret values): what the audit needs besides the Pulumi state.
SECURITY_AUDIT = "arn:aws:iam::aws:policy/SecurityAudit"
_REPOSITORY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+")
_ENVIRONMENT = re.compile(r"[a-z][a-z0-9-]{0,30}")
_REGION = re.compile(r"[a-z]{2}(-gov)?-[a-z]+-\d")


class BootstrapConfigError(pulumi.RunError):
    """One line naming the key and the stack file; the CLI prints it without a traceback."""


def _error(key: str, why: str) -> BootstrapConfigError:
    return BootstrapConfigError(f"leadgen-bootstrap:{key} {why} in Pulumi.{pulumi.get_stack()}.yaml")


# AWS evaluates only a GitHub token's `sub` and `aud`, so which workflow may assume a role is bound
# through `sub`: the repository's OIDC subject template must list these claims (bootstrap/README.md,
# `PUT /repos/{owner}/{repo}/actions/oidc/customization/sub`), after which `sub` ends in
# `:job_workflow_ref:<owner>/<repo>/.github/workflows/<file>@<ref>`.
SUBJECT_CLAIMS = ("repo", "context", "job_workflow_ref")
# The workflow files on `main` that may assume each environment's deployer role: `up.yml` (the
# dispatched, gated update, which runs the policy pack) for every environment, and the automatic
# deploys of staging and dev for their own. A job of any other workflow gets no credentials.
UP_WORKFLOW = "up.yml"
DEPLOY_WORKFLOWS = {"staging": ("staging.yml", UP_WORKFLOW), "dev": ("dev.yml", UP_WORKFLOW)}
AUDIT_WORKFLOWS = ("audit.yml", "weekly.yml")  # the weekly review reads what the audit reads


def subjects(repository: str, context: str, workflows: tuple[str, ...]) -> list[str]:
    """The `sub` of a job of each workflow file on main of `repository` in `context`."""
    return [f"repo:{repository}:{context}:job_workflow_ref:{repository}/.github/workflows/{w}@refs/heads/main"
            for w in workflows]


def trust_policy(provider_arn: str, repository: str, environment: str) -> str:
    """Only jobs of the deploying workflows on main of `repository`, in its GitHub environment `environment`."""
    workflows = DEPLOY_WORKFLOWS.get(environment, (UP_WORKFLOW,))
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {
            f"{GITHUB_OIDC}:aud": "sts.amazonaws.com",
            f"{GITHUB_OIDC}:sub": subjects(repository, f"environment:{environment}", workflows),
        }},
    }]})


def audit_trust_policy(provider_arn: str, repository: str) -> str:
    """Only jobs of the audit workflow of `repository` running from `main` (its schedule and dispatch)."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {
            f"{GITHUB_OIDC}:aud": "sts.amazonaws.com",
            f"{GITHUB_OIDC}:sub": subjects(repository, "ref:refs/heads/main", AUDIT_WORKFLOWS),
        }},
    }]})


def break_glass_trust_policy(account: str) -> str:
    """Principals of this account tagged for break-glass, signed in with MFA in the last hour."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
        "Condition": {
            "Bool": {"aws:MultiFactorAuthPresent": "true"},
            "NumericLessThan": {"aws:MultiFactorAuthAge": str(BREAK_GLASS_MFA_MAX_AGE)},
            "StringEquals": {f"aws:PrincipalTag/{BREAK_GLASS_TAG}": "allowed"},
        },
    }]})


def weekly_review_policy(account: str, regions: list[str]) -> str:
    """What the weekly review reads besides SecurityAudit's view of configuration: the backups'
    manifests and verification records (never a dump), the SLO store, the week's spend, image scans
    and add-on versions. tests/foundation/test_bootstrap.py replays the report and checks that every
    AWS call it makes is allowed here."""
    backups = "arn:aws:s3:::leadgen-*-backups-*"
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "BackupCatalogue", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": backups},
        {"Sid": "BackupRecordsNotDumps", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": [f"{backups}/*/manifest.json", f"{backups}/*/verification.json",
                      f"{backups}/*/verifications/*.json"]},
        # The records are encrypted with the bucket's key: decrypting through S3 only, for those buckets.
        {"Sid": "BackupRecordsKey", "Effect": "Allow", "Action": "kms:Decrypt",
         "Resource": f"arn:aws:kms:*:{account}:key/*",
         "Condition": {"StringEquals": {"kms:ViaService": [f"s3.{r}.amazonaws.com" for r in regions]},
                       "StringLike": {"kms:EncryptionContext:aws:s3:arn": f"{backups}*"}}},
        {"Sid": "SloStore", "Effect": "Allow", "Action": "aps:QueryMetrics",
         "Resource": f"arn:aws:aps:*:{account}:workspace/*"},
        {"Sid": "ImageScans", "Effect": "Allow", "Action": "ecr:DescribeImageScanFindings",
         "Resource": f"arn:aws:ecr:*:{account}:repository/leadgen-*"},
        {"Sid": "Clusters", "Effect": "Allow", "Action": "eks:DescribeCluster",
         "Resource": f"arn:aws:eks:*:{account}:cluster/*"},
        # No resource-level permissions exist for these; none of them returns a secret value.
        {"Sid": "AccountWide", "Effect": "Allow",
         "Action": ["ce:GetCostAndUsage", "eks:DescribeAddonVersions", "secretsmanager:ListSecrets"],
         "Resource": "*"},
    ]})


def deployer_policy(account: str, regions: list[str]) -> str:
    # The deployers, the audit and break-glass roles: no deployer may widen any of their trust.
    protected = [f"arn:aws:iam::{account}:role/leadgen-deployer-*",
                 f"arn:aws:iam::{account}:role/{AUDIT_ROLE}",
                 f"arn:aws:iam::{account}:role/{BREAK_GLASS_ROLE}",
                 f"arn:aws:iam::{account}:oidc-provider/{GITHUB_OIDC}"]
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "PlatformServicesInItsRegions", "Effect": "Allow",
         "Action": [f"{s}:*" for s in PLATFORM_SERVICES], "Resource": "*",
         "Condition": {"StringEquals": {"aws:RequestedRegion": regions}}},
        {"Sid": "Identity", "Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"},
        {"Sid": "PlatformIam", "Effect": "Allow", "Action": list(IAM_ACTIONS),
         "Resource": [f"arn:aws:iam::{account}:role/*", f"arn:aws:iam::{account}:policy/*",
                      f"arn:aws:iam::{account}:oidc-provider/oidc.eks.*"]},
        # The deployer never changes its own trust or that of its siblings, never makes long-lived
        # credentials, and never touches the account's audit trail.
        {"Sid": "NotTheDeployersOwn", "Effect": "Deny", "Action": "iam:*", "Resource": protected},
        {"Sid": "NoLongLivedCredentials", "Effect": "Deny",
         "Action": ["iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile",
                    "iam:UpdateLoginProfile", "iam:AttachUserPolicy", "iam:PutUserPolicy"],
         "Resource": "*"},
        {"Sid": "AuditTrailStays", "Effect": "Deny",
         "Action": ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "cloudtrail:UpdateTrail",
                    "organizations:*", "account:*"],
         "Resource": "*"},
    ]})


config = pulumi.Config()
repository = config.require("githubRepository")
if not _REPOSITORY.fullmatch(repository):
    raise _error("githubRepository", f"({repository!r}) must be owner/name")
environments = config.require_object("environments")
if not isinstance(environments, dict) or not environments:
    raise _error("environments", "must map each environment to its regions")
for env, regions in environments.items():
    if not _ENVIRONMENT.fullmatch(str(env)):
        raise _error(f"environments.{env}", "is not an environment name (lowercase, digits, -)")
    if not isinstance(regions, list) or not regions or not all(
            isinstance(r, str) and _REGION.fullmatch(r) for r in regions):
        raise _error(f"environments.{env}", f"({json.dumps(regions)}) must list AWS regions like us-east-1")

tags = {"owner": "platform-team@insurance-lead-gen.com", "cost-center": "leadgen-platform",
        "environment": "shared"}
account = aws.get_caller_identity_output().account_id

# One per account: GitHub's issuer. AWS no longer checks the thumbprint for this issuer, but the
# API still asks for one.
github = aws.iam.OpenIdConnectProvider(
    "github-actions", url=f"https://{GITHUB_OIDC}", client_id_lists=["sts.amazonaws.com"],
    thumbprint_lists=["6938fd4d98bab03faadb97b34396831e3780aea1"], tags=tags)

roles = {}
for env, regions in environments.items():
    role = aws.iam.Role(
        f"deployer-{env}",
        # A fixed name: the leadgen stack file names it (leadgen:cluster.deployerRoleArn) and the
        # deny statement above protects every `leadgen-deployer-*`.
        name=f"leadgen-deployer-{env}",
        description=f"pulumi up of the leadgen {env} stack, from GitHub environment {env} only",
        assume_role_policy=github.arn.apply(lambda arn, e=env: trust_policy(arn, repository, e)),
        max_session_duration=MAX_SESSION_SECONDS,
        tags={**tags, "environment": env})
    aws.iam.RolePolicy(f"deployer-{env}", role=role.id,
                       policy=account.apply(lambda a, r=regions: deployer_policy(a, r)))
    roles[env] = role.arn

all_regions = sorted({r for regions in environments.values() for r in regions})
audit = aws.iam.Role(
    "audit", name=AUDIT_ROLE,
    description="the audit and weekly-review workflows' read-only access, from main of this repository only",
    assume_role_policy=github.arn.apply(lambda arn: audit_trust_policy(arn, repository)), tags=tags)
aws.iam.RolePolicyAttachment("audit-security-audit", role=audit.name, policy_arn=SECURITY_AUDIT)
aws.iam.RolePolicy("audit-weekly-review", role=audit.id,
                   policy=account.apply(lambda a: weekly_review_policy(a, all_regions)))

break_glass = aws.iam.Role(
    "break-glass", name=BREAK_GLASS_ROLE,
    description="first AWS-only update of a fresh account and emergencies: tagged admins with MFA",
    assume_role_policy=account.apply(break_glass_trust_policy),
    max_session_duration=BREAK_GLASS_MFA_MAX_AGE, tags=tags)
aws.iam.RolePolicy("break-glass", role=break_glass.id,
                   policy=account.apply(lambda a: deployer_policy(a, all_regions)))

# Deleting one breaks every Auto Scaling group of the account, so state never deletes it. In an
# account where the role exists already, import it instead of creating it (README).
service_linked = {
    service: aws.iam.ServiceLinkedRole(
        f"service-linked-{service.split('.')[0]}", aws_service_name=service,
        description=f"{role}: named by the leadgen program's key policies", tags=tags,
        opts=pulumi.ResourceOptions(retain_on_delete=True)).arn
    for service, role in SERVICE_LINKED_ROLES.items()}

pulumi.export("githubOidcProviderArn", github.arn)
pulumi.export("serviceLinkedRoleArns", service_linked)
pulumi.export("deployerRoleArns", roles)
pulumi.export("auditRoleArn", audit.arn)
pulumi.export("breakGlassRoleArn", break_glass.arn)
