"""The order in which the engine could create a stack's resources: its dependency waves.

The engine starts a resource once everything it waits for exists: its dependencies, its parent and
its provider. Wave 0 holds what waits for nothing; a resource is one wave after the latest thing it
waits for. A component the program defines (`leadgen:...`) is only a name in the tree, registered
at once with nothing to create, so it adds no wave of its own: its children and dependants wait for
what it waits for. A component a provider implements (`kubernetes:yaml/v2:ConfigFile`, a Helm v4
chart) does create objects, so it counts as a step like any custom resource.

Read this way a first `pulumi up` shows as "the cluster, then the CNI and the deployer's access,
then the nodes, then ...", which is what a reviewer checks before the change window.
"""
from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


class CycleError(ValueError):
    """The records wait for one another: no order exists (the engine refuses such a program)."""


@dataclass(frozen=True)
class Wave:
    number: int
    resources: tuple[Mapping, ...]

    def by_type(self) -> list[tuple[str, list[str]]]:
        """(type, names) for the wave, types in order of first appearance, names sorted."""
        groups: dict[str, list[str]] = collections.defaultdict(list)
        for r in self.resources:
            groups[r["type"]].append(r["name"])
        return [(typ, sorted(names)) for typ, names in groups.items()]


def is_step(r: Mapping, project: str) -> bool:
    """Whether creating `r` is a step of its own (a provider call), not only a name in the tree."""
    if r.get("custom"):
        return True
    package = str(r.get("type", "")).split(":", 1)[0]
    return r.get("type") != ROOT_STACK_TYPE and package not in (project, "pulumi")


def _waits_for(r: Mapping) -> Iterable[str]:
    yield from r.get("dependencies") or ()
    if r.get("parent"):
        yield r["parent"]
    provider = r.get("provider") or ""
    if provider:
        # `<provider urn>::<provider id>`, as the engine writes the reference.
        yield provider.rsplit("::", 1)[0] if provider.count("::") > 3 else provider


def wave_numbers(resources: Sequence[Mapping], project: str) -> dict[str, int]:
    """URN -> wave for every record. Raises CycleError when the records wait for one another."""
    by_urn = {r["urn"]: r for r in resources}
    # Each record's "finish" is its wave plus one when it is a step, so what waits for it comes after.
    finish: dict[str, int] = {}
    wave: dict[str, int] = {}
    for start in by_urn:
        if start in finish:
            continue
        # Iterative depth-first walk: a stack can be thousands of records deep in dependencies.
        stack: list[tuple[str, bool]] = [(start, False)]
        on_path: set[str] = set()
        while stack:
            urn, children_done = stack.pop()
            if children_done:
                r = by_urn[urn]
                w = max((finish[u] for u in _waits_for(r) if u in finish), default=0)
                wave[urn] = w
                finish[urn] = w + (1 if is_step(r, project) else 0)
                on_path.discard(urn)
                continue
            if urn in finish:
                continue
            if urn in on_path:
                raise CycleError(f"dependency cycle through {urn}")
            on_path.add(urn)
            stack.append((urn, True))
            for u in _waits_for(by_urn[urn]):
                if u in by_urn and u not in finish:
                    if u in on_path:
                        raise CycleError(f"dependency cycle through {u}")
                    stack.append((u, False))
    return wave


def waves(resources: Sequence[Mapping], project: str) -> list[Wave]:
    """The steps of a stack grouped by wave, in record order within a wave."""
    numbers = wave_numbers(resources, project)
    grouped: dict[int, list[Mapping]] = collections.defaultdict(list)
    for r in resources:
        if is_step(r, project):
            grouped[numbers[r["urn"]]].append(r)
    # Components add no wave, so numbers can skip: renumber densely for the reader.
    return [Wave(i, tuple(grouped[n])) for i, n in enumerate(sorted(grouped))]
