"""Production Deployments are resilient: an HPA with at least three replicas and a
PodDisruptionBudget each. Stack predicates, linear in the stack's size."""
from __future__ import annotations

from typing import Iterator, Optional

from ..model import Context, Resource
from ..values import Unknown, get, has_unknown, is_unknown
from .objects import DEPLOYMENT, name_of, namespace_of


PRODUCTION_NAMESPACE = "production"  # the runbook's namespace for deployment/api and its peers
PRODUCTION_ENVIRONMENT = "production"
# A canary runs a small fixed replica count by design (traffic weight, not an HPA, sizes its share),
# so it is recognised by what it is - its track label - rather than by an exemption for its URN.
CANARY_TRACK = "canary"
MIN_REPLICAS = 3
HPA_TYPES = ("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "kubernetes:autoscaling/v1:HorizontalPodAutoscaler")
PDB_TYPE = "kubernetes:policy/v1:PodDisruptionBudget"


def production_deployments_autoscaled(resources: list[Resource], ctx: Context) -> Iterator[tuple[str, str]]:
    """Every Deployment in the production namespace has an HPA with minReplicas >= 3."""
    # HPAs grouped once by the Deployment they target, so the check is linear in the stack size
    # (scanning every HPA for every Deployment took seconds over 10,000 resources).
    targets: dict[tuple[str, str], list[Resource]] = {}
    for h in resources:
        if h.type not in HPA_TYPES:
            continue
        try:
            if get(h.props, "spec.scaleTargetRef.kind") != "Deployment":
                continue
            key = (namespace_of(h), get(h.props, "spec.scaleTargetRef.name"))
        except Unknown:
            continue  # the target is decided later: it neither covers nor fails a Deployment yet
        if not all(isinstance(part, str) for part in key):
            continue  # a malformed target names no Deployment
        targets.setdefault(key, []).append(h)
    verdicts: dict[tuple[str, str], Optional[str]] = {}
    for d in production_deployments(resources, ctx):
        if _track(d) == CANARY_TRACK:
            continue
        name, ns = name_of(d), namespace_of(d)
        if (ns, name) not in verdicts:
            verdicts[(ns, name)] = _autoscaling_problem(name, targets.get((ns, name), []))
        if verdicts[(ns, name)]:
            yield verdicts[(ns, name)], d.urn


def _autoscaling_problem(name: str, targeting: list[Resource]) -> Optional[str]:
    if not targeting:
        return f"{name}: no HorizontalPodAutoscaler targets this production Deployment"
    lows = []
    for h in targeting:
        try:
            minimum = get(h.props, "spec.minReplicas", 1)
        except Unknown:
            continue
        if float(minimum) < MIN_REPLICAS:
            lows.append((h, minimum))
    if lows and len(lows) == len(targeting):
        h, minimum = lows[0]
        return f"{name}: HorizontalPodAutoscaler {name_of(h)} has minReplicas {minimum:g}, needs at least {MIN_REPLICAS}"
    return None


def production_deployments_disruption_budget(resources: list[Resource], ctx: Context) -> Iterator[tuple[str, str]]:
    """Every Deployment in the production namespace is selected by a PodDisruptionBudget."""
    pdbs = [r for r in resources if r.type == PDB_TYPE]
    for d in production_deployments(resources, ctx):
        labels = get(d.props, "spec.template.metadata.labels") or {}
        if has_unknown(labels):
            continue
        covered = False
        for p in pdbs:
            try:
                selector = get(p.props, "spec.selector.matchLabels") or {}
                if has_unknown(selector) or is_unknown(get(p.props, "metadata.namespace")):
                    covered = True  # cannot tell yet: skip rather than fail
                    break
                if (namespace_of(p) == namespace_of(d) and selector
                        and all(labels.get(k) == v for k, v in selector.items())):
                    covered = True
                    break
            except Unknown:
                covered = True
                break
        if not covered:
            yield f"{name_of(d)}: no PodDisruptionBudget selects this production Deployment's pods", d.urn


def _track(r: Resource) -> Optional[str]:
    try:
        track = get(r.props, "metadata.labels.track") or get(r.props, "spec.template.metadata.labels.track")
    except Unknown:
        return None
    return track if isinstance(track, str) else None


def is_production(ctx: Optional[Context]) -> bool:
    """Whether the stack is of the production environment: its `leadgen:environment`, or, when the
    config does not say, its name. A dev or staging stack runs the same namespaces at a smaller
    size, so the namespace name says nothing about the environment."""
    if ctx is None:
        return True
    environment = ctx.config.environment or ctx.stack
    return environment.strip().lower() == PRODUCTION_ENVIRONMENT


def production_deployments(resources: list[Resource], ctx: Optional[Context] = None) -> Iterator[Resource]:
    if not is_production(ctx):
        return
    for r in resources:
        if r.type != DEPLOYMENT:
            continue
        try:
            ns = get(r.props, "metadata.namespace")
            name = get(r.props, "metadata.name")
        except Unknown:
            continue
        if ns == PRODUCTION_NAMESPACE and name:
            yield r
