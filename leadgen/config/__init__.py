"""The stack's configuration, read once and validated up front into typed values.

`load()` is the only place the program reads config. It raises `ConfigError` (one line naming
the key and the stack file) before any resource exists, so an invalid config registers nothing.
Sections register below: a module with `KEYS` and `build(values)`.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from leadgen.config import cluster, core, governance, network, observability, traffic, validate, workloads
from leadgen import naming
from leadgen.config import dr
from leadgen.config import data as data_section
from leadgen.config.base import NAMESPACE, ConfigError, Key, Values, _Known

# Every section's keys, in the order Pulumi.yaml and the README list them.
SECTION_MODULES = {
    "core": core,
    "network": network,
    "cluster": cluster,
    "workloads": workloads,
    "traffic": traffic,
    "governance": governance,
    "data": data_section,
    "observability": observability,
    "dr": dr,
}


def all_keys() -> list[Key]:
    return [k for m in SECTION_MODULES.values() for k in m.KEYS]


@dataclass(frozen=True, kw_only=True)
class StackConfig:
    project: str
    stack: str
    core: core.Core
    network: network.NetworkConfig
    cluster: cluster.ClusterConfig
    workloads: workloads.WorkloadsConfig
    governance: governance.GovernanceConfig
    # Sections added by later domains register here with a default of None until built.
    traffic: Any = None
    data: Any = None
    observability: Any = None
    dr: Any = None

    @property
    def tags(self) -> dict[str, str]:
        return self.core.tags

    @property
    def cluster_name(self) -> str:
        return naming.cluster_name(self.stack)

    @property
    def prefix(self) -> str:
        """Physical-name prefix: `leadgen-production`."""
        return f"{self.project}-{self.stack}"


def declared_key(path: str) -> Optional[Key]:
    """The declared key a dotted path (`cluster.nodeGroups.arm.capacityType`) reads, if any."""
    keys = {k.path: k for k in all_keys()}
    if path in keys:
        return keys[path]
    template = _Known(keys).template_of(path)
    return keys[template] if template else None


def load_values(stack: str, raw: Mapping[str, Any]) -> Values:
    values = Values(stack, raw, all_keys())
    unknown = values.unknown_keys()
    if unknown:
        raise values.error(unknown[0], _unknown_reason(unknown[0]))
    return values


def load(project: str, stack: str, raw: Mapping[str, Any]) -> StackConfig:
    """Validate `raw` (full keys to values, as the engine passes them) into a StackConfig."""
    values = load_values(stack, raw)
    region = raw.get("aws:region")
    if not region:
        raise ConfigError(f"aws:region is required but not set in {values.stack_file}")
    why = validate.region_error(str(region))
    if why:
        raise ConfigError(f"aws:region {why} in {values.stack_file}")
    why = validate.stack_name_error(stack)
    if why:
        raise ConfigError(f"{why} ({values.stack_file})")
    # Every declared key is typed before any section reads it, so a bad value is refused even
    # where a section reads its key only in some cases (a canary tag at weight 0, a router's
    # namespace it does not use).
    for key in all_keys():
        for path in (values.set_paths(key.path) if key.is_template else [key.path]):
            values.get(path)
    built: dict[str, Any] = {}
    for name, module in SECTION_MODULES.items():
        built[name] = module.build(values, region) if name == "core" else module.build(values)
    return StackConfig(project=project, stack=stack, **built)


def load_from_pulumi() -> StackConfig:
    """Read the running program's config, exactly as the engine handed it over."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    raw: dict[str, Any] = {}
    raw.update(runtime_config.get_config_env())
    raw.update(runtime_config.CONFIG.get())
    return load(pulumi.get_project(), pulumi.get_stack(), raw)


def _unknown_reason(path: str) -> str:
    parts = path.split(".")
    if path.startswith("cluster.nodeGroups.") and len(parts) >= 3:
        # Any name declares a group, so only the field can be wrong.
        return f"is not a node group field (known: {', '.join(cluster.NODE_GROUP_FIELDS)})"
    if path.startswith("workloads.") and len(parts) >= 3:
        # Any name declares a workload, so only the field can be wrong.
        return f"is not a workload field (known: {', '.join(workloads.WORKLOAD_FIELDS)})"
    known = [k.path for k in all_keys()]
    close = difflib.get_close_matches(path, known, n=1)
    hint = f"; did you mean {NAMESPACE}:{close[0]}?" if close else ""
    return f"is not a known key{hint}"


__all__ = ["ConfigError", "Key", "StackConfig", "Values", "all_keys", "load", "load_from_pulumi",
           "load_values", "SECTION_MODULES", "declared_key"]
