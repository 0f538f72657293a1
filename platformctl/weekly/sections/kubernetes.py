"""Kubernetes versions: the cluster's version (EKS DescribeCluster) against the EKS release
calendar kept once (`governance/aws/eks_versions.py`, the table config validation and the
`aws-eks-cluster-supported-version` guardrail read), the days left in standard support, the next
minor, and the EKS add-on pins (`leadgen/versions.py`) behind the newest version EKS offers for
the cluster's minor (DescribeAddonVersions).

action needed: the minor is out of standard support (extended support is billed, or EKS upgrades
it outside any window) or not in the calendar at all. attention: under UPGRADE_NOTICE_DAYS left,
the cluster runs another minor than the stack declares, or an add-on pin is behind.
"""
from __future__ import annotations

import re

from platformctl.weekly.model import ACTION_NEEDED, ATTENTION, OK, Context, Finding, Section, Unreachable

KEY = "kubernetes"
TITLE = "Kubernetes versions"
# An upgrade goes through staging, its soak and a change window: a quarter's notice.
UPGRADE_NOTICE_DAYS = 90
ACTION = "aws eks describe-addon-versions --kubernetes-version {minor}; leadgen/versions.py; leadgen:cluster.version"


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", text))


def _cluster_version(ctx: Context) -> tuple[str, str]:
    outputs = ctx.fetch("pulumi", "stack-output", {})
    name = outputs.get("clusterName") if isinstance(outputs, dict) else None
    if not isinstance(name, str) or not name:
        raise Unreachable("the stack exports no clusterName (pulumi stack output)")
    answer = ctx.fetch("eks", "DescribeCluster", {"name": name})
    version = answer.get("cluster", {}).get("version") if isinstance(answer, dict) else None
    if not isinstance(version, str) or not re.fullmatch(r"\d+\.\d+", version):
        raise Unreachable(f"EKS DescribeCluster {name}: no cluster version in the answer")
    return name, version


def _newest_addon(ctx: Context, addon: str, minor: str) -> str | None:
    answer = ctx.fetch("eks", "DescribeAddonVersions", {"addonName": addon, "kubernetesVersion": minor})
    addons = answer.get("addons") if isinstance(answer, dict) else None
    if not isinstance(addons, list):
        raise Unreachable(f"EKS DescribeAddonVersions {addon}: no addons list in the answer")
    found = [v.get("addonVersion") for a in addons if isinstance(a, dict) and a.get("addonName") == addon
             for v in a.get("addonVersions") or [] if isinstance(v, dict) and isinstance(v.get("addonVersion"), str)]
    return max(found, key=_version_key) if found else None


def assess(ctx: Context) -> Section:
    from leadgen import versions
    from leadgen.config.cluster import eks_versions as calendar  # the table config validation reads
    declared = ctx.config.cluster.version
    name, running = _cluster_version(ctx)
    today = ctx.now.date()
    rows, statuses = [], []
    end = calendar.end_of_standard_support(running)
    if end is None:
        status, support = ACTION_NEEDED, f"{running} is not in the EKS calendar ({calendar.CALENDAR})"
    else:
        days = (end - today).days
        status = ACTION_NEEDED if days <= 0 else ATTENTION if days <= UPGRADE_NOTICE_DAYS else OK
        support = (f"standard support ended {end.isoformat()}" if days <= 0
                   else f"{days} days of standard support left (until {end.isoformat()})")
    rows.append(Finding(name=f"cluster {name}", figure=f"Kubernetes {running}: {support}", status=status))
    statuses.append(status)
    if running != declared:
        rows.append(Finding(name="declared version", figure=f"the stack declares {declared}, the cluster runs {running}",
                            status=ATTENTION))
        statuses.append(ATTENTION)
    newer = sorted((v for v in calendar.VERSIONS if calendar.parse_minor(v.minor) > calendar.parse_minor(running)
                    and today < v.end_of_standard_support), key=lambda v: calendar.parse_minor(v.minor))
    if newer:
        nxt = newer[0]
        pinned = "add-ons pinned" if nxt.minor in versions.KUBERNETES_MINORS else "no add-on pins yet"
        rows.append(Finding(name="next version", figure=f"{nxt.minor} (standard support until "
                                                        f"{nxt.end_of_standard_support.isoformat()}; {pinned})", status=OK))
    behind = 0
    for addon, pin in versions.eks_addons(running).items():
        newest = _newest_addon(ctx, addon, running)
        if newest is None:
            rows.append(Finding(name=f"add-on {addon}", figure=f"pinned {pin}; EKS offers no version for {running}",
                                status=ATTENTION))
            statuses.append(ATTENTION)
        elif _version_key(newest) > _version_key(pin):
            behind += 1
            rows.append(Finding(name=f"add-on {addon}", figure=f"pinned {pin}, newest {newest}", status=ATTENTION))
            statuses.append(ATTENTION)
        else:
            rows.append(Finding(name=f"add-on {addon}", figure=f"pinned {pin}, the newest", status=OK))
    worst = max(statuses, key=(OK, ATTENTION, ACTION_NEEDED).index)
    figure = f"Kubernetes {running}: {support}; {behind} add-on pin{'s' if behind != 1 else ''} behind"
    return Section(key=KEY, title=TITLE, status=worst, figure=figure, action=ACTION.format(minor=running),
                   rows=tuple(rows))
