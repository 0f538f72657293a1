"""What a policy sees: a plain resource record and the evaluation context."""
from __future__ import annotations

import pathlib
from dataclasses import dataclass, field
from typing import Any, Optional

from .clock import Clock
from .config import GovernanceConfig, is_protected


@dataclass(frozen=True)
class Resource:
    type: str
    urn: str
    name: str
    props: dict
    provider: Optional[dict] = None  # the provider resource's properties, when known
    dependencies: tuple[str, ...] = ()
    parent: str = ""


@dataclass(frozen=True)
class Context:
    stack: str
    project: str
    config: GovernanceConfig
    project_root: pathlib.Path
    clock: Clock
    env: dict = field(default_factory=dict)
    # The pack's configured protected stacks (None: the declared default), see pack_settings.
    pack_stacks: Optional[tuple[str, ...]] = None
    # A preview (PULUMI_DRY_RUN=true) forecasts what the update will meet; anything else is held to
    # it now. The default is the strict one, so a caller that does not say is judged as an update.
    dry_run: bool = False
    # Where the git facts come from (source.Facts): None is git in project_root; a published pack
    # gets them from the change evidence, and `source_problem` says why that evidence is unusable.
    facts: Optional[Any] = None
    source_problem: str = ""

    @property
    def protected(self) -> bool:
        return is_protected(self.stack, self.config, self.pack_stacks)

    @property
    def stack_urn(self) -> str:
        return f"urn:pulumi:{self.stack}::{self.project}::pulumi:pulumi:Stack::{self.project}-{self.stack}"


def display(resource: Resource) -> str:
    return f"'{resource.name}'"


def props_get(resource: Resource, path: str, default: Any = None) -> Any:
    from .values import get
    return get(resource.props, path, default)
