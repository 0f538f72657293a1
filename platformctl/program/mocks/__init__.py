"""The mock provider: realistic outputs per resource type, as AWS and Kubernetes would return them.

Outputs are derived deterministically from the resource's type and name, so two previews of the
same program agree and golden files stay stable. Domains register the types they add with
`@outputs_for("aws:rds/instance:Instance")` in a module of this package listed in DOMAINS.
"""
from __future__ import annotations

import base64
import hashlib
from typing import Any, Callable

import pulumi

ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"

OutputFn = Callable[[str, dict, "Context"], dict]


class _Registry(dict):
    """Type token -> output function; any Kubernetes object type falls back to its inputs + uid."""

    def get(self, typ, default=None):  # type: ignore[override]
        fn = super().get(typ)
        if fn is None and typ.startswith("kubernetes:") and typ != "kubernetes:helm.sh/v3:Release":
            return _k8s_object
        return fn if fn is not None else default


_OUTPUTS: dict[str, OutputFn] = _Registry()
_INVOKES: dict[str, Callable[[dict, "Context"], dict]] = {}


class Context:
    """What a mock needs besides the resource: the region and a stable hash."""

    def __init__(self, region: str):
        self.region = region

    @staticmethod
    def hexid(*parts: str, n: int = 17) -> str:
        return hashlib.sha256("/".join(parts).encode()).hexdigest()[:n]

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return (f"arn:aws:{service}:{self.region if region else ''}:"
                f"{ACCOUNT_ID if account else ''}:{resource}")


def outputs_for(*types: str):
    def register(fn: OutputFn) -> OutputFn:
        for t in types:
            _OUTPUTS[t] = fn
        return fn
    return register


def invoke_for(token: str):
    def register(fn):
        _INVOKES[token] = fn
        return fn
    return register


def physical_name(name: str, inputs: dict, key: str = "name") -> str:
    """What Pulumi's auto-naming gives: the logical name and a random suffix (here: stable)."""
    return inputs.get(key) or f"{name}-{Context.hexid(name, n=7)}"


class PlatformMocks(pulumi.runtime.Mocks):
    def __init__(self, region: str = DEFAULT_REGION):
        self.ctx = Context(region)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        fn = _OUTPUTS.get(args.typ)
        extra = fn(args.name, args.inputs, self.ctx) if fn else _generic(args.typ, args.name, args.inputs, self.ctx)
        rid = extra.pop("id", None) or f"{args.name}-{Context.hexid(args.typ, args.name, n=8)}"
        return rid, {**args.inputs, **extra}

    def call(self, args: pulumi.runtime.MockCallArgs):
        fn = _INVOKES.get(args.token)
        if fn is None:
            raise NotImplementedError(f"the offline preview has no mock for invoke {args.token}")
        return fn(args.args, self.ctx)


def _generic(typ: str, name: str, inputs: dict, ctx: Context) -> dict:
    if typ.startswith("aws:"):
        service = typ.split(":")[1].split("/")[0]
        return {"arn": ctx.arn(service, f"{name}/{ctx.hexid(typ, name, n=12)}")}
    return {}


# --- invokes -------------------------------------------------------------------------------
@invoke_for("aws:index/getAvailabilityZones:getAvailabilityZones")
def _azs(args: dict, ctx: Context) -> dict:
    letters = "abcdef"
    return {"names": [f"{ctx.region}{c}" for c in letters],
            "zoneIds": [f"use1-az{i + 1}" for i in range(len(letters))], "id": ctx.region}


@invoke_for("aws:index/getCallerIdentity:getCallerIdentity")
def _identity(args: dict, ctx: Context) -> dict:
    return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:role/platform-deployer",
            "userId": "AROAEXAMPLEDEPLOYER", "id": ACCOUNT_ID}


@invoke_for("aws:index/getRegion:getRegion")
def _region(args: dict, ctx: Context) -> dict:
    region = args.get("region") or ctx.region
    return {"region": region, "name": region, "id": region,
            "endpoint": f"ec2.{region}.amazonaws.com", "description": region}


@invoke_for("aws:index/getPartition:getPartition")
def _partition(args: dict, ctx: Context) -> dict:
    return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}


# --- AWS resources -------------------------------------------------------------------------
@outputs_for("aws:ec2/vpc:Vpc")
def _vpc(name, inputs, ctx):
    vid = f"vpc-{ctx.hexid(name)}"
    return {"id": vid, "arn": ctx.arn("ec2", f"vpc/{vid}"), "defaultSecurityGroupId": f"sg-{ctx.hexid(name, 'default')}",
            "mainRouteTableId": f"rtb-{ctx.hexid(name, 'main')}", "ownerId": ACCOUNT_ID}


def _ec2(prefix: str, kind: str):
    def fn(name, inputs, ctx):
        rid = f"{prefix}-{ctx.hexid(kind, name)}"
        return {"id": rid, "arn": ctx.arn("ec2", f"{kind}/{rid}"), "ownerId": ACCOUNT_ID}
    return fn


for _t, _p, _k in (("aws:ec2/subnet:Subnet", "subnet", "subnet"),
                   ("aws:ec2/internetGateway:InternetGateway", "igw", "internet-gateway"),
                   ("aws:ec2/routeTable:RouteTable", "rtb", "route-table"),
                   ("aws:ec2/securityGroup:SecurityGroup", "sg", "security-group"),
                   ("aws:ec2/flowLog:FlowLog", "fl", "vpc-flow-log"),
                   ("aws:ec2/natGateway:NatGateway", "nat", "natgateway")):
    outputs_for(_t)(_ec2(_p, _k))


@outputs_for("aws:ec2/eip:Eip")
def _eip(name, inputs, ctx):
    h = int(ctx.hexid(name, n=6), 16)
    return {"id": f"eipalloc-{ctx.hexid(name)}", "allocationId": f"eipalloc-{ctx.hexid(name)}",
            "publicIp": f"198.51.100.{h % 254 + 1}"}


@outputs_for("aws:ec2/launchTemplate:LaunchTemplate")
def _lt(name, inputs, ctx):
    lid = f"lt-{ctx.hexid(name)}"
    return {"id": lid, "arn": ctx.arn("ec2", f"launch-template/{lid}"), "latestVersion": 1,
            "defaultVersion": 1, "name": physical_name(name, inputs)}


@outputs_for("aws:kms/key:Key")
def _kms(name, inputs, ctx):
    kid = f"{ctx.hexid(name, n=8)}-{ctx.hexid(name, 'a', n=4)}-{ctx.hexid(name, 'b', n=4)}-" \
          f"{ctx.hexid(name, 'c', n=4)}-{ctx.hexid(name, 'd', n=12)}"
    return {"id": kid, "keyId": kid, "arn": ctx.arn("kms", f"key/{kid}")}


@outputs_for("aws:cloudwatch/logGroup:LogGroup")
def _log_group(name, inputs, ctx):
    n = physical_name(name, inputs)
    return {"id": n, "name": n, "arn": ctx.arn("logs", f"log-group:{n}")}


@outputs_for("aws:iam/role:Role")
def _role(name, inputs, ctx):
    n = physical_name(name, inputs)
    return {"id": n, "name": n, "arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{n}",
            "uniqueId": f"AROA{ctx.hexid(name, n=17).upper()}"}


@outputs_for("aws:iam/policy:Policy")
def _policy(name, inputs, ctx):
    n = physical_name(name, inputs)
    return {"id": f"arn:aws:iam::{ACCOUNT_ID}:policy/{n}", "name": n,
            "arn": f"arn:aws:iam::{ACCOUNT_ID}:policy/{n}"}


@outputs_for("aws:iam/serviceLinkedRole:ServiceLinkedRole")
def _service_linked_role(name, inputs, ctx):
    # IAM names it, not the caller: the name is the service's (bootstrap's table holds them).
    from platformctl.program.strict.principals import bootstrap_service_linked_roles

    service = str(inputs.get("awsServiceName", ""))
    n = bootstrap_service_linked_roles().get(service, f"AWSServiceRoleFor{service.split('.')[0].title()}")
    arn = f"arn:aws:iam::{ACCOUNT_ID}:role/aws-service-role/{service}/{n}"
    return {"id": arn, "arn": arn, "name": n, "path": f"/aws-service-role/{service}/",
            "uniqueId": f"AROA{ctx.hexid(name, n=17).upper()}"}


@outputs_for("aws:iam/rolePolicy:RolePolicy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
def _role_policy(name, inputs, ctx):
    return {"id": f"{name}-{ctx.hexid(name, n=8)}"}


@outputs_for("aws:eks/cluster:Cluster")
def _cluster(name, inputs, ctx):
    n = physical_name(name, inputs)
    oidc = ctx.hexid(n, "oidc", n=32).upper()
    vpc = dict(inputs.get("vpcConfig") or {})
    vpc.update({"clusterSecurityGroupId": f"sg-{ctx.hexid(n, 'cluster')}",
                "vpcId": f"vpc-{ctx.hexid(n, 'vpc')}"})
    ca = base64.b64encode(f"-----BEGIN CERTIFICATE-----\nmock CA of {n}\n-----END CERTIFICATE-----\n".encode()).decode()
    return {"id": n, "name": n, "arn": ctx.arn("eks", f"cluster/{n}"),
            "endpoint": f"https://{oidc}.gr7.{ctx.region}.eks.amazonaws.com",
            "certificateAuthority": {"data": ca},
            "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{ctx.region}.amazonaws.com/id/{oidc}"}]}],
            "vpcConfig": vpc, "status": "ACTIVE", "platformVersion": "eks.3",
            "clusterId": ctx.hexid(n, "id", n=36)}


@outputs_for("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
def _oidc(name, inputs, ctx):
    url = str(inputs.get("url", "")).removeprefix("https://")
    arn = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{url}"
    return {"id": arn, "arn": arn, "thumbprintLists": ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"]}


@outputs_for("aws:eks/nodeGroup:NodeGroup")
def _node_group(name, inputs, ctx):
    group = inputs.get("nodeGroupName") or name
    cluster = inputs.get("clusterName", "cluster")
    return {"id": f"{cluster}:{group}", "arn": ctx.arn("eks", f"nodegroup/{cluster}/{group}/{ctx.hexid(name, n=8)}"),
            "status": "ACTIVE", "nodeGroupName": group,
            "resources": [{"autoscalingGroups": [{"name": f"eks-{group}-{ctx.hexid(name, n=8)}"}]}]}


@outputs_for("aws:eks/addon:Addon")
def _addon(name, inputs, ctx):
    return {"id": f"{inputs.get('clusterName')}:{inputs.get('addonName')}",
            "arn": ctx.arn("eks", f"addon/{inputs.get('clusterName')}/{inputs.get('addonName')}/{ctx.hexid(name, n=8)}")}


@outputs_for("aws:eks/accessEntry:AccessEntry")
def _access_entry(name, inputs, ctx):
    return {"id": f"{inputs.get('clusterName')}:{inputs.get('principalArn')}",
            "accessEntryArn": ctx.arn("eks", f"access-entry/{inputs.get('clusterName')}/{ctx.hexid(name, n=8)}")}


# --- Kubernetes ----------------------------------------------------------------------------
def _k8s_object(name, inputs, ctx):
    meta = dict(inputs.get("metadata") or {})
    meta.setdefault("uid", ctx.hexid("uid", name, n=32))
    ns = meta.get("namespace")
    rid = f"{ns}/{meta.get('name')}" if ns else meta.get("name") or name
    return {"id": rid, "metadata": meta}


@outputs_for("kubernetes:helm.sh/v3:Release")
def _release(name, inputs, ctx):
    return {"id": f"{inputs.get('namespace', 'default')}/{inputs.get('name', name)}",
            "status": {"name": inputs.get("name", name), "namespace": inputs.get("namespace", "default"),
                       "chart": inputs.get("chart"), "version": inputs.get("version"),
                       "revision": 1, "status": "deployed"}}


@outputs_for("pulumi:providers:kubernetes", "pulumi:providers:aws")
def _provider(name, inputs, ctx):
    return {"id": ctx.hexid("provider", name, n=36)}


# Each domain's mocks register the types that domain adds, on import. Listed here rather than
# discovered, so a module is a mock because it is named here, not because of its file name.
DOMAINS = ("platformctl.program.mocks.data", "platformctl.program.mocks.traffic",
           "platformctl.program.mocks.dr")


def load_domains() -> None:
    import importlib

    for module in DOMAINS:
        importlib.import_module(module)
