"""The declared network flows (`leadgen.flows`) decided against what a stack renders.

The NetworkPolicies and Namespaces are the manifests `platformctl render` writes (the render
library's `manifest`); addresses and security groups come from the stack's subnets, VPC endpoints,
node groups, cluster, database and cache as the program declares them. `check` returns one line
per flow that does not get through, and per webhook with no flow; nothing means all are proven.
As a render extension it writes every flow with its verdict to `network/flows.txt`.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from leadgen import flows as spec
from leadgen.netpol import Endpoint, Flow, SecurityGroup, SgRule, decide
from platformctl.render import HELM_RELEASE, is_k8s_object, manifest

# EKS creates the cluster security group itself (not in the program's state): it admits all
# traffic from members of the group and lets them send anywhere, and EKS puts it on the control
# plane's ENIs and on managed node groups' nodes
# (https://docs.aws.amazon.com/eks/latest/userguide/sec-group-reqs.html).
EKS_CLUSTER_GROUP = "EKS cluster security group"
OUTSIDE = "0.0.0.0/0"


class FlowModelError(ValueError):
    """The stack lacks something a flow needs to be decided (no VPC, no cluster)."""


@dataclass
class Model:
    vpc_cidr: str
    policies: list[dict]
    namespace_labels: dict[str, dict[str, str]]
    groups: dict[str, SecurityGroup]
    releases: dict[str, tuple[str, str]]  # release -> (chart, namespace)
    pod_cidrs: tuple[str, ...]
    api_server: Endpoint
    nodes: Endpoint
    services: dict[str, Endpoint]  # aws service -> endpoint as pods resolve it
    stores: dict[str, Endpoint]  # database, redis
    workloads: dict[str, list[Endpoint]] = field(default_factory=dict)  # namespace -> pods
    deployments: dict[str, list[Endpoint]] = field(default_factory=dict)
    cronjobs: dict[str, list[Endpoint]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)  # config:<key> -> port

    @property
    def outside(self) -> tuple[str, ...]:
        vpc = ipaddress.ip_network(self.vpc_cidr)
        return tuple(str(n) for n in ipaddress.ip_network(OUTSIDE).address_exclude(vpc))


def _by_type(resources: Iterable[dict], typ: str) -> list[dict]:
    return [r for r in resources if r["type"] == typ]


def _int(v) -> int:
    return int(float(v))


def _groups(resources: list[dict], cluster_group: str) -> dict[str, SecurityGroup]:
    rules: dict[str, dict[str, list[SgRule]]] = {}
    names: dict[str, str] = {cluster_group: EKS_CLUSTER_GROUP}
    everything = SgRule(protocol="-1", from_port=0, to_port=65535, cidrs=(OUTSIDE,))
    rules[cluster_group] = {"ingress": [SgRule(protocol="-1", from_port=0, to_port=65535, groups=(cluster_group,))],
                            "egress": [everything]}
    for r in _by_type(resources, "aws:ec2/securityGroup:SecurityGroup"):
        gid, i = r["id"], r["inputs"]
        names[gid] = r["name"]
        mine = rules.setdefault(gid, {"ingress": [], "egress": []})
        for direction in ("ingress", "egress"):
            for rule in i.get(direction) or []:
                refs = tuple(rule.get("securityGroups") or ()) + ((gid,) if rule.get("self") else ())
                mine[direction].append(SgRule(
                    protocol=str(rule.get("protocol", "-1")), from_port=_int(rule.get("fromPort", 0)),
                    to_port=_int(rule.get("toPort", 0)), cidrs=tuple(rule.get("cidrBlocks") or ()), groups=refs))
    for typ, direction in (("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "ingress"),
                           ("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "egress")):
        for r in _by_type(resources, typ):
            i = r["inputs"]
            protocol = str(i.get("ipProtocol", "-1"))
            rules.setdefault(i["securityGroupId"], {"ingress": [], "egress": []})[direction].append(SgRule(
                protocol=protocol, from_port=_int(i.get("fromPort", 0)) if protocol != "-1" else 0,
                to_port=_int(i.get("toPort", 65535)) if protocol != "-1" else 65535,
                cidrs=tuple(c for c in (i.get("cidrIpv4"),) if c),
                groups=tuple(g for g in (i.get("referencedSecurityGroupId"),) if g)))
    return {gid: SecurityGroup(id=gid, name=names.get(gid, gid), ingress=tuple(r["ingress"]),
                               egress=tuple(r["egress"])) for gid, r in rules.items()}


def _pod(name: str, namespace: str, template: dict, cidrs: tuple[str, ...], group: str) -> Endpoint:
    pod_spec = template.get("spec") or {}
    ports = {p["name"]: _int(p["containerPort"]) for c in pod_spec.get("containers") or []
             for p in c.get("ports") or [] if p.get("name")}
    return Endpoint(name=name, addresses=cidrs, namespace=namespace,
                    labels=dict((template.get("metadata") or {}).get("labels") or {}), ports=ports,
                    host_network=bool(pod_spec.get("hostNetwork")), security_groups=(group,))


def build(resources: list[dict]) -> Model:
    manifests = [manifest(r) for r in resources if is_k8s_object(r)]
    vpcs = _by_type(resources, "aws:ec2/vpc:Vpc")
    clusters = _by_type(resources, "aws:eks/cluster:Cluster")
    if len(vpcs) != 1 or len(clusters) != 1:
        raise FlowModelError(f"flows need one VPC and one EKS cluster; the stack has {len(vpcs)} and {len(clusters)}")
    vpc_cidr = vpcs[0]["inputs"]["cidrBlock"]
    subnets = {r["id"]: r["inputs"]["cidrBlock"] for r in _by_type(resources, "aws:ec2/subnet:Subnet")}

    def cidrs(ids) -> tuple[str, ...]:
        return tuple(sorted({subnets[i] for i in ids or () if i in subnets})) or (vpc_cidr,)

    cluster = clusters[0]
    cluster_group = ((cluster["outputs"].get("vpcConfig") or {}).get("clusterSecurityGroupId")
                     or "eks-cluster-sg")
    control_plane = cidrs((cluster["inputs"].get("vpcConfig") or {}).get("subnetIds"))
    node_subnets = tuple(sorted({c for g in _by_type(resources, "aws:eks/nodeGroup:NodeGroup")
                                 for c in cidrs(g["inputs"].get("subnetIds"))})) or control_plane
    services: dict[str, Endpoint] = {}
    for r in _by_type(resources, "aws:ec2/vpcEndpoint:VpcEndpoint"):
        i = r["inputs"]
        service = i["serviceName"].split(".", 3)[-1]  # com.amazonaws.<region>.<service>
        if i.get("vpcEndpointType") == "Interface" and i.get("privateDnsEnabled"):
            services[service] = Endpoint(name=f"aws:{service} (interface endpoint, private DNS)",
                                         addresses=cidrs(i.get("subnetIds")),
                                         security_groups=tuple(i.get("securityGroupIds") or ()))
    stores: dict[str, Endpoint] = {}
    subnet_groups = {}
    for typ in ("aws:rds/subnetGroup:SubnetGroup", "aws:elasticache/subnetGroup:SubnetGroup"):
        for r in _by_type(resources, typ):
            subnet_groups[r["id"]] = subnet_groups[r["inputs"].get("name") or r["id"]] = r["inputs"].get("subnetIds")
    ports: dict[str, int] = {}
    for r in _by_type(resources, "aws:rds/instance:Instance"):
        i = r["inputs"]
        stores["database"] = Endpoint(name="database", addresses=cidrs(subnet_groups.get(i.get("dbSubnetGroupName"))),
                                      security_groups=tuple(i.get("vpcSecurityGroupIds") or ()))
        ports["database"] = _int(i.get("port") or 5432)
    for r in _by_type(resources, "aws:elasticache/replicationGroup:ReplicationGroup"):
        i = r["inputs"]
        stores["redis"] = Endpoint(name="redis", addresses=cidrs(subnet_groups.get(i.get("subnetGroupName"))),
                                   security_groups=tuple(i.get("securityGroupIds") or ()))
    for m in manifests:
        text = str(m.get("spec") or "")
        found = re.search(r"smtp_smarthost:\s*\S+:(\d+)", text)
        if found:
            ports["smtp"] = int(found.group(1))

    model = Model(
        vpc_cidr=vpc_cidr,
        policies=[m for m in manifests if m["kind"] == "NetworkPolicy"],
        namespace_labels={m["metadata"]["name"]: dict(m["metadata"].get("labels") or {})
                          for m in manifests if m["kind"] == "Namespace"},
        groups=_groups(resources, cluster_group),
        releases={r["inputs"]["name"]: (r["inputs"]["chart"].rsplit("/", 1)[-1], r["inputs"]["namespace"])
                  for r in _by_type(resources, HELM_RELEASE)},
        pod_cidrs=node_subnets,
        api_server=Endpoint(name="api-server", addresses=control_plane, security_groups=(cluster_group,)),
        nodes=Endpoint(name="nodes", addresses=node_subnets, security_groups=(cluster_group,)),
        services=services, stores=stores, ports=ports)
    for m in manifests:
        ns, name = (m["metadata"].get("namespace"), m["metadata"]["name"])
        if m["kind"] == "Deployment":
            pod = _pod(f"deployment/{name}", ns, m["spec"]["template"], node_subnets, cluster_group)
            model.workloads.setdefault(ns, []).append(pod)
            model.deployments.setdefault(ns, []).append(pod)
        elif m["kind"] == "CronJob":
            pod = _pod(f"cronjob/{name}", ns, m["spec"]["jobTemplate"]["spec"]["template"], node_subnets, cluster_group)
            model.workloads.setdefault(ns, []).append(pod)
            model.cronjobs.setdefault(ns, []).append(pod)
    return model


def _chart_pods(model: Model, ref: str) -> list[Endpoint]:
    chart, component = ref.split("/", 1)
    pod = spec.CHART_PODS[ref]
    if chart == "coredns":
        return [Endpoint(name="kube-system/coredns", addresses=model.pod_cidrs, namespace="kube-system",
                         labels=dict(pod.labels), ports=dict(pod.ports), security_groups=model.nodes.security_groups)]
    return [Endpoint(name=f"{release} {component}",
                     addresses=model.nodes.addresses if pod.host_network else model.pod_cidrs,
                     namespace=namespace, labels=spec.pod_labels(pod, release), ports=dict(pod.ports),
                     host_network=pod.host_network, security_groups=model.nodes.security_groups)
            for release, (c, namespace) in sorted(model.releases.items()) if c == chart]


def resolve(model: Model, ref: str) -> list[Endpoint]:
    """The endpoints a flow reference names in this stack (none: the stack does not run it)."""
    kind, _, rest = ref.partition(":")
    if ref == "api-server":
        return [model.api_server]
    if ref == "nodes":
        return [model.nodes]
    if ref in ("database", "redis"):
        return [model.stores[ref]] if ref in model.stores else []
    if ref == "internet":
        return [Endpoint(name="internet", addresses=model.outside)]
    if kind == "aws":
        return [model.services.get(rest) or Endpoint(name=f"aws:{rest} (outside the VPC)", addresses=model.outside)]
    if kind == "pod":
        return _chart_pods(model, rest)
    if kind == "workloads":
        return list(model.workloads.get(rest, []))
    if kind == "deployments":
        return list(model.deployments.get(rest, []))
    if kind == "cronjobs":
        return list(model.cronjobs.get(rest, []))
    raise KeyError(f"flow endpoint {ref!r} is not one leadgen.flows describes")


def _port(model: Model, port, destination: Endpoint) -> Optional[int]:
    if isinstance(port, int):
        return port
    kind, _, key = port.partition(":")
    if kind == "config":
        return model.ports.get(key)
    if kind == "named":
        return destination.ports.get(key)
    raise KeyError(f"flow port {port!r} is neither a number, config:<key> nor named:<name>")


def flows(model: Model, specs: Iterable[spec.FlowSpec] = spec.FLOWS) -> tuple[list[Flow], list[str]]:
    """The concrete flows of this stack, and a line for each flow that cannot be made concrete."""
    out: list[Flow] = []
    problems: list[str] = []
    for s in specs:
        for src in resolve(model, s.source):
            for dst in resolve(model, s.destination):
                port = _port(model, s.port, dst)
                if port is None:
                    problems.append(f"flow {s.source} -> {s.destination}: port {s.port} is unknown in this stack")
                    continue
                out.append(Flow(source=src, destination=dst, port=port, protocol=s.protocol, why=s.why))
    return out, problems


def unflowed_webhooks(model: Model, specs: Iterable[spec.FlowSpec] = spec.FLOWS) -> list[str]:
    """A line for each chart the stack installs with no WEBHOOKS entry, and each webhook that no
    flow from the API server reaches on its port."""
    lines = []
    reached = {(s.destination, s.port) for s in specs if s.source == "api-server"}
    for release, (chart, namespace) in sorted(model.releases.items()):
        if chart not in spec.WEBHOOKS:
            lines.append(f"release {namespace}/{release}: chart {chart} is not in leadgen.flows.WEBHOOKS "
                         f"(list its admission webhooks, or none)")
            continue
        for h in spec.WEBHOOKS[chart]:
            if (f"pod:{chart}/{h.component}", h.port) not in reached:
                lines.append(f"webhook {h.configuration} of release {namespace}/{release}: no flow from the "
                             f"API server to {h.component}:{h.port}")
    return lines


def check(resources: list[dict], specs: Iterable[spec.FlowSpec] = spec.FLOWS) -> list[str]:
    """One line per flow blocked (naming it and what blocks it) and per webhook with no flow."""
    specs = tuple(specs)
    model = build(resources)
    concrete, lines = flows(model, specs)
    for f in concrete:
        verdict = decide(f, model.policies, model.namespace_labels, model.groups)
        if not verdict.allowed:
            lines.append(f"blocked: {f.label}: {verdict.reason}")
    return lines + unflowed_webhooks(model, specs)


def render(resources: list[dict], out_dir: Path) -> list[Path]:
    """`network/flows.txt`: every declared flow of the stack with its verdict, for a reviewer to
    read beside the NetworkPolicies it was decided against."""
    model = build(resources)
    concrete, problems = flows(model)
    lines = [f"unresolved: {p}" for p in problems]
    for f in concrete:
        verdict = decide(f, model.policies, model.namespace_labels, model.groups)
        lines.append(f"allowed: {f.label}" if verdict.allowed else f"blocked: {f.label}: {verdict.reason}")
    lines += unflowed_webhooks(model)
    target = out_dir / "network"
    target.mkdir(parents=True, exist_ok=True)
    path = target / "flows.txt"
    path.write_text("\n".join(lines) + "\n")
    return [path]
