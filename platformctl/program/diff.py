"""What an update would change: the program's new state against a `pulumi stack export`.

Both sides are export documents (the new one built from a program run by `export.to_export`), so
they compare as the engine compares state with goals: by URN (an alias names the URN a resource
had), inputs against inputs, secrets as their placeholder. Steps, as `pulumi preview` names them:
`create`, `update` (with the changed properties), `replace` (a changed property the provider
marks ForceNew, strict/forcenew.py, or one the program's `replaceOnChanges` names), `delete`. Replacing a protected resource is the engine's
error, so it is reported as one. Config-only changes (a failover, a weight, an image tag) show as
the steps they cause, since the mock engine resolves every output as the previous update did.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from platformctl.program.strict.forcenew import replaces

STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class Change:
    path: str
    old: Any
    new: Any


@dataclass
class Step:
    op: str  # create | update | replace | delete
    urn: str
    type: str
    changes: list[Change] = field(default_factory=list)
    replace_keys: list[str] = field(default_factory=list)
    protected: bool = False

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]


@dataclass
class Diff:
    steps: list[Step]
    outputs: list[Change]

    def by_op(self, op: str) -> list[Step]:
        return [s for s in self.steps if s.op == op]

    @property
    def errors(self) -> list[str]:
        """The engine's refusal to replace a protected resource, one line each."""
        return [f'unable to replace resource "{s.urn}" as it is currently marked for protection '
                f"(replacing: {', '.join(s.replace_keys)}). To unprotect the resource, remove the "
                "`protect` flag from the resource in your Pulumi program and run `pulumi up`"
                for s in self.steps if s.op == "replace" and s.protected]


def _changes(old: Any, new: Any, path: str = "") -> Iterator[Change]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in old:
                yield Change(sub, None, new[key])
            elif key not in new:
                yield Change(sub, old[key], None)
            else:
                yield from _changes(old[key], new[key], sub)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            yield from _changes(a, b, f"{path}[{i}]")
    elif old != new:
        yield Change(path, old, new)


def _ignored(path: str, ignore: list[str]) -> bool:
    return any(path == k or path.startswith(k + ".") or path.startswith(k + "[") for k in ignore)


def state_resources(path) -> list[dict]:
    """The resources of a `pulumi stack export` file, read by the audit's strict reader (one-line
    StateError on a bad file), secrets as "[secret]"."""
    from platformctl.statefile import StateFile

    return list(StateFile(path).resources())


def run_resources(run) -> list[dict]:
    """A program run as the same normalised resources: through the export the run would leave
    (default providers included), secrets as "[secret]"."""
    from platformctl.program.export import to_export
    from platformctl.statefile import redact

    doc = to_export(run.project, run.stack, run.resources, run.outputs)
    out = []
    for r in doc["deployment"]["resources"]:
        out.append({"urn": r["urn"], "type": r["type"], "inputs": redact(r.get("inputs") or {})[0],
                    "outputs": redact(r.get("outputs") or {})[0], "protect": bool(r.get("protect")),
                    "ignore_changes": list(r.get("ignoreChanges") or []),
                    "replace_on_changes": list(r.get("replaceOnChanges") or []),
                    "aliases": list(r.get("aliases") or [])})
    return out


def diff(old_resources: list[dict], new_resources: list[dict]) -> Diff:
    """Steps from the state `old_resources` to the goal `new_resources` (normalised as above)."""
    old = {r["urn"]: r for r in old_resources}
    steps: list[Step] = []
    seen: set[str] = set()
    outputs: list[Change] = []
    for r in new_resources:
        urn, typ = r["urn"], r["type"]
        before = old.get(urn) or next((old[a] for a in r.get("aliases") or [] if a in old), None)
        if typ == STACK_TYPE:
            if before is not None:
                seen.add(before["urn"])
                outputs = list(_changes(before.get("outputs") or {}, r.get("outputs") or {}))
            continue
        if before is None:
            steps.append(Step("create", urn, typ))
            continue
        seen.add(before["urn"])
        if typ.startswith("pulumi:providers:"):
            continue  # a provider's version or config: not a resource change of its own
        ignore = list(r.get("ignore_changes") or [])
        changes = [c for c in _changes(before.get("inputs") or {}, r.get("inputs") or {})
                   if not _ignored(c.path, ignore)]
        if not changes:
            continue
        # The engine replaces on a change the provider forces, or one the goal's replaceOnChanges names.
        forced = sorted({c.path for c in changes if replaces(typ, c.path)
                         or _ignored(c.path, list(r.get("replace_on_changes") or []))})
        steps.append(Step("replace" if forced else "update", urn, typ, changes, forced,
                          protected=bool(before.get("protect"))))
    for urn, r in old.items():
        if urn not in seen and r["type"] != STACK_TYPE and not r["type"].startswith("pulumi:providers:"):
            steps.append(Step("delete", urn, r["type"], protected=bool(r.get("protect"))))
    return Diff(steps, outputs)


def _short(value: Any, limit: int = 80) -> str:
    import json

    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def lines(d: Diff, shown=lambda s: s) -> list[str]:
    """The diff as `pulumi preview --diff` prints it: a sign per step, changed properties beneath."""
    sign = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}
    out = []
    for s in d.steps:
        flag = " [protected]" if s.protected else ""
        out.append(f" {sign[s.op]:>2} {shown(s.type)} {shown(s.name)} {s.op}{flag}")
        for c in s.changes:
            mark = " (forces replacement)" if c.path in s.replace_keys else ""
            out.append(f"      {shown(c.path)}: {shown(_short(c.old))} => {shown(_short(c.new))}{mark}")
    if d.outputs:
        out.append("Outputs:")
        out += [f"    ~ {shown(c.path)}: {shown(_short(c.old))} => {shown(_short(c.new))}" for c in d.outputs]
    counts = {op: len(d.by_op(op)) for op in ("create", "update", "replace", "delete")}
    out += ["", "Resources:"] + [f"    {sign[op]} {n} to {op}" for op, n in counts.items() if n]
    if not any(counts.values()):
        out.append("    no changes")
    return out
