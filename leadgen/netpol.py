"""Whether a network flow gets through: Kubernetes NetworkPolicy semantics and the AWS security
groups beside them, as pure functions over rendered manifests and plain rule records.

NetworkPolicy (https://kubernetes.io/docs/concepts/services-networking/network-policies/):
- a pod is isolated for a direction when some policy of its namespace selects it with that
  direction in `policyTypes` (absent: Ingress, plus Egress when the spec has `egress`); an isolated
  pod takes only what the union of those policies' rules admits, so `default-deny` adds nothing;
- a rule with no `from`/`to` admits every peer, with no `ports` every port; `port` is a number or a
  name looked up among the destination pod's container ports, `endPort` widens a number to a range,
  `protocol` defaults to TCP;
- `podSelector` alone picks pods of the policy's namespace, `namespaceSelector` alone every pod of
  the matching namespaces, both together the matching pods of the matching namespaces; `ipBlock`
  admits addresses in `cidr` outside every `except`;
- a flow needs the source's egress AND the destination's ingress; policies do not apply to
  host-network pods, which (like the API server's ENIs) are reached and seen only as addresses.
The VPC CNI's policy agent matches `ipBlock` against pod addresses too (they are VPC addresses),
which is how the API server's calls to a webhook are admitted (aws/amazon-vpc-cni-k8s#2967).

An endpoint may sit at any address of a set of ranges (a pod anywhere in the private subnets, an
interface endpoint in any of its subnets): a flow is allowed only when EVERY address is admitted.
Security groups are stateful: the source's egress and the destination's ingress must admit the
flow; a rule admits a peer by CIDR (every possible address covered) or by group reference.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional, Sequence, Union

Net = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
NAME_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every namespace


@dataclass(frozen=True)
class Endpoint:
    """One end of a flow. `namespace` set and `host_network` false: a pod, subject to policies."""
    name: str
    addresses: tuple[str, ...]  # CIDRs its address may be in
    namespace: Optional[str] = None
    labels: Mapping[str, str] = field(default_factory=dict)
    ports: Mapping[str, int] = field(default_factory=dict)  # named container ports
    host_network: bool = False
    security_groups: tuple[str, ...] = ()

    @property
    def is_pod(self) -> bool:
        return self.namespace is not None and not self.host_network


@dataclass(frozen=True)
class Flow:
    source: Endpoint
    destination: Endpoint
    port: int
    why: str
    protocol: str = "TCP"

    @property
    def label(self) -> str:
        return f"{self.source.name} -> {self.destination.name}:{self.port}/{self.protocol} ({self.why})"


@dataclass(frozen=True)
class SgRule:
    protocol: str  # "tcp", "udp" or "-1" (all)
    from_port: int
    to_port: int
    cidrs: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()  # referenced security group ids (a group's own id for `self`)


@dataclass(frozen=True)
class SecurityGroup:
    id: str
    name: str
    ingress: tuple[SgRule, ...] = ()
    egress: tuple[SgRule, ...] = ()


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""


# --- label selectors -------------------------------------------------------------------------------
def selector_matches(selector: Optional[Mapping], labels: Mapping[str, str]) -> bool:
    """A LabelSelector: `{}` selects everything; matchLabels and matchExpressions are ANDed."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise ValueError(f"selector operator {op!r} is not one Kubernetes knows")
    return True


def policy_types(spec: Mapping) -> tuple[str, ...]:
    if spec.get("policyTypes"):
        return tuple(spec["policyTypes"])
    return ("Ingress", "Egress") if "egress" in spec else ("Ingress",)


# --- address sets ----------------------------------------------------------------------------------
def _nets(cidrs: Iterable[str]) -> list[Net]:
    return [ipaddress.ip_network(c, strict=False) for c in cidrs]


def _minus(nets: list[Net], cut: Net) -> list[Net]:
    out: list[Net] = []
    for n in nets:
        if n.version != cut.version or not n.overlaps(cut):
            out.append(n)
        elif not n.subnet_of(cut):  # cut sits inside n: keep the rest of n
            out.extend(n.address_exclude(cut))
    return out


def _intersect(nets: list[Net], cidr: Net) -> list[Net]:
    out: list[Net] = []
    for n in nets:
        if n.version != cidr.version or not n.overlaps(cidr):
            continue
        out.append(n if n.subnet_of(cidr) else cidr)
    return out


def ip_block_covers(block: Mapping, addresses: list[Net]) -> list[Net]:
    """The part of `addresses` an ipBlock admits: inside `cidr`, outside every `except`."""
    covered = _intersect(addresses, ipaddress.ip_network(block["cidr"], strict=False))
    for ex in block.get("except") or []:
        for cut in _nets([ex]):
            covered = _minus(covered, cut)
    return covered


# --- ports -----------------------------------------------------------------------------------------
def port_matches(rule_ports: Optional[Sequence[Mapping]], port: int, protocol: str,
                 destination: Endpoint) -> bool:
    if not rule_ports:
        return True
    for p in rule_ports:
        if (p.get("protocol") or "TCP") != protocol:
            continue
        want = p.get("port")
        if want is None:
            return True
        if isinstance(want, str) and not want.isdigit():
            # A named port is the destination pod's container port of that name.
            if destination.is_pod and destination.ports.get(want) == port:
                return True
            continue
        low = int(want)
        high = int(p["endPort"]) if p.get("endPort") is not None else low
        if low <= port <= high:
            return True
    return False


# --- peers -----------------------------------------------------------------------------------------
def peer_covers(peer: Mapping, policy_namespace: str, other: Endpoint,
                namespace_labels: Mapping[str, Mapping[str, str]]) -> list[Net]:
    """The addresses of `other` a `from`/`to` peer admits."""
    addresses = _nets(other.addresses)
    if "ipBlock" in peer:
        return ip_block_covers(peer["ipBlock"], addresses)
    if not other.is_pod:  # selectors pick pods; host-network pods and machines are addresses
        return []
    ns_sel, pod_sel = peer.get("namespaceSelector"), peer.get("podSelector")
    if ns_sel is None:
        in_namespace = other.namespace == policy_namespace
    else:
        labels = {NAME_LABEL: other.namespace, **namespace_labels.get(other.namespace, {})}
        in_namespace = selector_matches(ns_sel, labels)
    if not in_namespace:
        return []
    if pod_sel is not None and not selector_matches(pod_sel, other.labels):
        return []
    return addresses


def _direction(policies: Sequence[Mapping], subject: Endpoint, other: Endpoint, destination: Endpoint,
               direction: str, port: int, protocol: str,
               namespace_labels: Mapping[str, Mapping[str, str]]) -> tuple[bool, list[str]]:
    """(allowed, names of the policies isolating `subject`) for one direction at `subject`."""
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    isolating = [p for p in policies
                 if (p.get("metadata") or {}).get("namespace") == subject.namespace
                 and direction in policy_types(p["spec"])
                 and selector_matches(p["spec"].get("podSelector", {}), subject.labels)]
    if not isolating:
        return True, []
    remaining = _nets(other.addresses)
    for policy in isolating:
        ns = policy["metadata"]["namespace"]
        for rule in policy["spec"].get(key) or []:
            if not port_matches(rule.get("ports"), port, protocol, destination):
                continue
            peers = rule.get(peers_key)
            if not peers:
                return True, []
            for peer in peers:
                for cut in peer_covers(peer, ns, other, namespace_labels):
                    remaining = _minus(remaining, cut)
            if not remaining:
                return True, []
    return False, [p["metadata"]["name"] for p in isolating]


def decide_policies(flow: Flow, policies: Sequence[Mapping],
                    namespace_labels: Mapping[str, Mapping[str, str]]) -> Verdict:
    src, dst = flow.source, flow.destination
    if src.is_pod:
        ok, names = _direction(policies, src, dst, dst, "Egress", flow.port, flow.protocol, namespace_labels)
        if not ok:
            return Verdict(False, f"egress of {src.namespace}/{src.name} is limited to what "
                                  f"{', '.join(sorted(names))} admit, and none admits it")
    if dst.is_pod:
        ok, names = _direction(policies, dst, src, dst, "Ingress", flow.port, flow.protocol, namespace_labels)
        if not ok:
            return Verdict(False, f"ingress of {dst.namespace}/{dst.name} is limited to what "
                                  f"{', '.join(sorted(names))} admit, and none admits it")
    return Verdict(True)


# --- security groups -------------------------------------------------------------------------------
def _sg_rule_admits(rule: SgRule, port: int, protocol: str, peer: Endpoint) -> list[Net]:
    """The addresses of `peer` one rule admits (all of them for a group reference it carries)."""
    if rule.protocol != "-1" and (rule.protocol.lower() != protocol.lower()
                                  or not rule.from_port <= port <= rule.to_port):
        return []
    addresses = _nets(peer.addresses)
    if set(rule.groups) & set(peer.security_groups):
        return addresses
    covered: list[Net] = []
    for cidr in _nets(rule.cidrs):
        covered += _intersect(addresses, cidr)
    return covered


def _sg_side(groups: Sequence[SecurityGroup], rules_of: str, port: int, protocol: str, peer: Endpoint) -> bool:
    remaining = _nets(peer.addresses)
    for group in groups:
        for rule in getattr(group, rules_of):
            for cut in _sg_rule_admits(rule, port, protocol, peer):
                remaining = _minus(remaining, cut)
            if not remaining:
                return True
    return False


def decide_security_groups(flow: Flow, groups: Mapping[str, SecurityGroup]) -> Verdict:
    src, dst = flow.source, flow.destination
    for end in (src, dst):
        missing = [g for g in end.security_groups if g not in groups]
        if missing:
            return Verdict(False, f"{end.name}'s security group {missing[0]} is not declared")
    src_groups = [groups[g] for g in src.security_groups]
    dst_groups = [groups[g] for g in dst.security_groups]
    if src_groups and not _sg_side(src_groups, "egress", flow.port, flow.protocol, dst):
        return Verdict(False, f"no egress rule of {', '.join(g.name for g in src_groups)} admits it")
    if dst_groups and not _sg_side(dst_groups, "ingress", flow.port, flow.protocol, src):
        return Verdict(False, f"no ingress rule of {', '.join(g.name for g in dst_groups)} admits it")
    return Verdict(True)


def decide(flow: Flow, policies: Sequence[Mapping], namespace_labels: Mapping[str, Mapping[str, str]],
           groups: Mapping[str, SecurityGroup]) -> Verdict:
    verdict = decide_policies(flow, policies, namespace_labels)
    return verdict if not verdict.allowed else decide_security_groups(flow, groups)
