"""Monthly cost estimate of a stack from the dated price table `prices.yaml`.

Pure: `estimate(resources, config)` takes resource dicts (`type`, `urn` and `props`, or the
program's `inputs`/`outputs`) and returns every priced component with the basis of its figure.
Values unknown at preview leave that component out and are listed in `unpriced`, as are instance
classes missing from the table, so the estimate never pretends to be complete.
"""
from __future__ import annotations

import functools
import pathlib
import re
from typing import Any, Iterable, Mapping, NamedTuple, Union

import yaml

from . import config as gconfig
from .values import Unknown, get, is_unknown

PRICES_FILE = pathlib.Path(__file__).with_name("prices.yaml")


class CostLine(NamedTuple):
    component: str
    urn: str
    type: str
    usd: float
    basis: str


class CostEstimate(NamedTuple):
    total_usd: float
    lines: list[CostLine]
    unpriced: list[str]  # one line each: what could not be priced and why


@functools.lru_cache(maxsize=4)
def load_prices(path: Union[str, pathlib.Path] = PRICES_FILE) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def props_of(resource: Mapping[str, Any]) -> dict:
    if "props" in resource:
        return resource["props"] or {}
    return resource.get("inputs") or resource.get("outputs") or {}


_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|K|M|G|T|P)?$")
_GIB = {None: 1 / 2**30, "Ki": 1 / 2**20, "Mi": 1 / 2**10, "Gi": 1, "Ti": 2**10, "Pi": 2**20,
        "K": 1e3 / 2**30, "M": 1e6 / 2**30, "G": 1e9 / 2**30, "T": 1e12 / 2**30, "P": 1e15 / 2**30}


def quantity_gib(text: Any) -> float:
    """A Kubernetes storage quantity ("50Gi", "1Ti", "500M") in GiB."""
    match = _QUANTITY.match(str(text).strip())
    if not match:
        raise ValueError(f"not a storage quantity: {text!r}")
    return float(match.group(1)) * _GIB[match.group(2)]


def estimate(resources: Iterable[Mapping[str, Any]],
             config: Union[gconfig.GovernanceConfig, Mapping[str, Any], None] = None,
             prices: Union[dict, None] = None) -> CostEstimate:
    if config is None:
        config = gconfig.GovernanceConfig()
    elif not isinstance(config, gconfig.GovernanceConfig):
        config = gconfig.from_mapping(dict(config))
    prices = prices or load_prices()
    hours = float(prices["hours_per_month"])
    lines: list[CostLine] = []
    unpriced: list[str] = []
    resources = list(resources)
    buckets = [r for r in resources if r.get("type") == "aws:s3/bucket:Bucket"]

    def add(component: str, res: Mapping[str, Any], usd: float, basis: str) -> None:
        lines.append(CostLine(component, res.get("urn", ""), res.get("type", ""), round(usd, 2), basis))

    def hourly(table: str, key: str, res: Mapping[str, Any], what: str) -> Union[float, None]:
        price = prices[table].get(key)
        if price is None:
            unpriced.append(f"{res.get('urn', '')}: no price for {what} {key!r} in prices.yaml ({table})")
        return price

    for res in resources:
        typ, props = res.get("type", ""), props_of(res)
        try:
            if typ == "aws:eks/cluster:Cluster":
                add("eks-control-plane", res, prices["eks_cluster_hourly"] * hours,
                    f"{prices['eks_cluster_hourly']}/h x {hours:g} h")
            elif typ == "aws:eks/nodeGroup:NodeGroup":
                _node_group(res, props, prices, hours, add, hourly, unpriced)
            elif typ == "aws:ec2/natGateway:NatGateway":
                add("nat-gateway", res, prices["nat_gateway_hourly"] * hours,
                    f"{prices['nat_gateway_hourly']}/h x {hours:g} h, data processing not included")
            elif typ in ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"):
                kind = get(props, "loadBalancerType", "application")
                price = prices["load_balancer_hourly"].get(kind)
                if price is None:
                    unpriced.append(f"{res.get('urn', '')}: no price for load balancer type {kind!r}")
                else:
                    add("load-balancer", res, price * hours, f"{kind} {price}/h x {hours:g} h, LCUs not included")
            elif typ == "kubernetes:core/v1:Service" and get(props, "spec.type") == "LoadBalancer":
                # The AWS load balancer controller creates a network load balancer for it.
                price = prices["load_balancer_hourly"]["network"]
                add("load-balancer", res, price * hours, f"network (Service type LoadBalancer) {price}/h x {hours:g} h")
            elif typ == "aws:rds/instance:Instance":
                _rds(res, props, prices, hours, add, hourly)
            elif typ == "aws:rds/clusterInstance:ClusterInstance":
                cls = get(props, "instanceClass")
                price = hourly("rds_hourly", cls, res, "RDS instance class") if cls else None
                if price is not None:
                    add("rds", res, price * hours, f"{cls} {price}/h x {hours:g} h")
            elif typ == "aws:elasticache/replicationGroup:ReplicationGroup":
                node = get(props, "nodeType")
                count = get(props, "numCacheClusters")
                if count is None:
                    count = int(get(props, "numNodeGroups", 1)) * (int(get(props, "replicasPerNodeGroup", 0)) + 1)
                price = hourly("elasticache_hourly", node, res, "ElastiCache node type") if node else None
                if price is not None:
                    add("elasticache", res, price * hours * int(count), f"{int(count)} x {node} {price}/h x {hours:g} h")
            elif typ == "aws:elasticache/cluster:Cluster":
                node, count = get(props, "nodeType"), int(get(props, "numCacheNodes", 1))
                price = hourly("elasticache_hourly", node, res, "ElastiCache node type") if node else None
                if price is not None:
                    add("elasticache", res, price * hours * count, f"{count} x {node} {price}/h x {hours:g} h")
            elif typ == "aws:ebs/volume:Volume":
                kind, size = get(props, "type", "gp3"), float(get(props, "size", 0))
                price = prices["ebs_gb_month"].get(kind)
                if price is None:
                    unpriced.append(f"{res.get('urn', '')}: no price for EBS volume type {kind!r}")
                else:
                    add("ebs", res, price * size, f"{size:g} GB {kind} x {price}/GB-month")
            elif typ == "kubernetes:core/v1:PersistentVolumeClaim":
                size = quantity_gib(get(props, "spec.resources.requests.storage", "0"))
                price = prices["ebs_gb_month"]["gp3"]
                add("ebs", res, price * size, f"{size:g} GiB gp3 (PersistentVolumeClaim) x {price}/GB-month")
            elif typ == "aws:s3/bucket:Bucket" and config.s3_storage_gb > 0:
                share = config.s3_storage_gb / len(buckets)
                price = prices["s3_standard_gb_month"]
                add("s3", res, price * share,
                    f"{share:g} GB ({gconfig.setting_name(config, 's3_storage_gb')} {config.s3_storage_gb:g} over {len(buckets)} "
                    f"bucket(s)) x {price}/GB-month")
        except Unknown as unknown:
            unpriced.append(f"{res.get('urn', '')}: {unknown.args[0]} is unknown until the update runs")
        except (TypeError, ValueError) as err:
            unpriced.append(f"{res.get('urn', '')}: cannot price {typ} ({err})")
    total = round(sum(line.usd for line in lines), 2)
    return CostEstimate(total, lines, unpriced)


def _node_group(res, props, prices, hours, add, hourly, unpriced) -> None:
    types = get(props, "instanceTypes") or []
    if is_unknown(types) or any(is_unknown(t) for t in types):
        raise Unknown("instanceTypes")
    if not types:
        unpriced.append(f"{res.get('urn', '')}: node group has no instanceTypes (launch template types are not priced)")
        return
    desired = int(get(props, "scalingConfig.desiredSize", 0))
    spot = str(get(props, "capacityType", "ON_DEMAND")).upper() == "SPOT"
    table = "ec2_spot_hourly" if spot else "ec2_hourly"
    # The first listed type is what the group launches when capacity allows; others are fallbacks.
    price = hourly(table, types[0], res, "spot instance type" if spot else "instance type")
    if price is not None:
        label = "spot" if spot else "on-demand"
        add("node-group", res, price * hours * desired, f"{desired} x {types[0]} {label} {price}/h x {hours:g} h")
    disk = get(props, "diskSize")
    if disk and desired:
        gb_price = prices["ebs_gb_month"]["gp3"]
        add("ebs", res, gb_price * float(disk) * desired, f"{desired} x {float(disk):g} GB node disk x {gb_price}/GB-month")


def _rds(res, props, prices, hours, add, hourly) -> None:
    cls = get(props, "instanceClass")
    multi = bool(get(props, "multiAz", False))
    factor = prices["rds_multi_az_factor"] if multi else 1
    price = hourly("rds_hourly", cls, res, "RDS instance class") if cls else None
    az = "Multi-AZ" if multi else "Single-AZ"
    if price is not None:
        add("rds", res, price * hours * factor, f"{cls} {az} {price}/h x {factor} x {hours:g} h")
    size = float(get(props, "allocatedStorage", 0))
    kind = get(props, "storageType", "gp3")
    gb_price = prices["rds_storage_gb_month"].get(kind)
    if size and gb_price is not None:
        add("rds-storage", res, gb_price * size * factor, f"{size:g} GB {kind} {az} x {gb_price}/GB-month x {factor}")
