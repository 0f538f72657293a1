"""CIDR maths for the network, done with `ipaddress` and checked up front."""
from __future__ import annotations

import ipaddress
from typing import Sequence


class CidrError(ValueError):
    """A CIDR problem; the message completes "leadgen:<key> ..."."""


def parse_network(text: str) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as e:
        raise CidrError(f"({text!r}) is not a valid IPv4 network: {e}") from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise CidrError(f"({text!r}) must be an IPv4 network")
    return net


def split_subnets(vpc: str, count: int, new_prefix: int, offset: int = 0) -> list[str]:
    """The `count` subnets of size /new_prefix starting at index `offset` inside `vpc`."""
    net = parse_network(vpc)
    if new_prefix < net.prefixlen:
        raise CidrError(f"/{new_prefix} is larger than the VPC {vpc}")
    subnets = list(net.subnets(new_prefix=new_prefix))
    if offset + count > len(subnets):
        raise CidrError(f"{vpc} has room for only {len(subnets)} /{new_prefix} subnets")
    return [str(s) for s in subnets[offset:offset + count]]


def check_subnets(vpc: str, subnets: Sequence[str]) -> list[ipaddress.IPv4Network]:
    """Every subnet valid, inside the VPC and overlapping no other; raises CidrError naming it."""
    vnet = parse_network(vpc)
    parsed: list[ipaddress.IPv4Network] = []
    for text in subnets:
        net = parse_network(text)
        if not net.subnet_of(vnet):
            raise CidrError(f"{text} is outside the VPC {vpc}")
        for other in parsed:
            if net.overlaps(other):
                raise CidrError(f"{text} overlaps {other}")
        parsed.append(net)
    return parsed


def check_disjoint(a: Sequence[str], b: Sequence[str]) -> None:
    """No subnet of `a` overlaps one of `b`."""
    for x in a:
        for y in b:
            if parse_network(x).overlaps(parse_network(y)):
                raise CidrError(f"{x} overlaps {y}")
