"""The stack's own ECR repositories: one per workload (leadgen/workloads.py) and the backup tool's."""
from __future__ import annotations

import pulumi

from components.registry import ImageRepositories, ImageRepositoriesArgs
from leadgen import workloads as derived
from leadgen.config import StackConfig
from leadgen.config.workloads import pinned_by_digest

BACKUP_IMAGE = "pgbackup"


def pull_policy(tag: str) -> str:
    """How the kubelet gets an image of this tag value. A digest names one image for ever, so a
    node's cached copy is that image and pods still start while the registry is unreachable; a
    tag is looked up at every start (Always costs a manifest request, layers stay cached), so a
    node never runs what a tag used to name and every pod's pull is authorised."""
    return "IfNotPresent" if pinned_by_digest(tag) else "Always"


class Images:
    """`repository:tag[@sha256:...]` for an image: the configured repository, else the stack's own."""

    def __init__(self, cfg: StackConfig):
        self.registry = ImageRepositories(f"{cfg.prefix}-images", ImageRepositoriesArgs(
            prefix=cfg.prefix, images=(*derived.images(cfg.workloads), BACKUP_IMAGE), tags=cfg.tags))
        pulumi.export("imageRepositories", self.registry.urls)

    def image(self, repository: str, own: str, tag: str) -> pulumi.Input[str]:
        if repository:
            return f"{repository}:{tag}"
        if own not in self.registry.urls:
            raise ValueError(f"workload {own} has no image repository: set leadgen:workloads.{own}.image "
                             "or let the stack own one")
        return pulumi.Output.concat(self.registry.urls[own], ":", tag)


def build(cfg: StackConfig) -> Images:
    return Images(cfg)
