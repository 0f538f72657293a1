"""The pack's guardrails over a stack's standing state: what `platformctl audit --state` runs, and
what the weekly report's security and cost sections read, so both judge state the same way.

Semantics follow `pulumi policy analyze`: resources marked for deletion are skipped, each
resource's inputs go through Remediate and Analyze as they stream out of the export, and the
outputs of all resources go to AnalyzeStack once at the end. Only the outputs are kept for that
last call (inputs are dropped after Analyze), so the export is never held in memory twice.

Every audit says what it could not judge: the resources of a type no policy covers, counted by
type. A stack whose resources are mostly of such types (another cloud's, say) is "not assessed",
never a PASS (the mandatory finding `audit-not-assessed`).
"""
from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import json
import pathlib
import tempfile
from typing import Any, Callable, Iterable, Mapping, Optional, Protocol, Sequence

from platformctl import exemptions as exemptions_mod
from platformctl import reports
from platformctl.costs import cost_view
from platformctl.errors import InputError
from platformctl.exemptions import Finding
from platformctl.project import ROOT, pack_config
from platformctl.statefile import StateError, StateFile

PENDING_POLICY = "audit-pending-operation"
NOT_ASSESSED = reports.EXIT_NOT_ASSESSED  # nothing mandatory found, but too little was judged
COVERAGE_POLICY = reports.NOT_ASSESSED_POLICY
# A stack is assessed when policies cover more than this share of its resources.
MIN_COVERED_SHARE = 0.5


@dataclasses.dataclass
class Coverage:
    """Which of the stack's resources some guardrail judges. Components, providers and the stack
    itself hold no configuration of their own and are not counted."""

    judged: int = 0
    uncovered: collections.Counter = dataclasses.field(default_factory=collections.Counter)

    @property
    def total(self) -> int:
        return self.judged + sum(self.uncovered.values())

    @property
    def assessed(self) -> bool:
        return self.total > 0 and self.judged / self.total > MIN_COVERED_SHARE

    def notes(self) -> list[str]:
        if not self.uncovered:
            return []
        listed = ", ".join(f"{t} ({n})" for t, n in sorted(self.uncovered.items(), key=lambda kv: (-kv[1], kv[0])))
        return [f"not covered by any policy: {sum(self.uncovered.values())} of {self.total} resources: {listed}"]

    def finding(self, stack_urn: str) -> Optional[Finding]:
        """A mandatory finding when the stack is not assessed: every format then says so where it
        gives its verdict (never "PASS"), and the exit code is NOT_ASSESSED when it is the only one."""
        if self.assessed:
            return None
        why = ("the stack has no resources" if self.total == 0 else
               f"policies judge only {self.judged} of its {self.total} resources (more than half are needed)")
        return Finding(policy=COVERAGE_POLICY, level="mandatory", severity="high", urn=stack_urn,
                       message=f"NOT ASSESSED: {why}; this is not a PASS (exit {NOT_ASSESSED})")


def covered_types() -> frozenset[str]:
    from platformctl.pack import catalog

    return catalog.covered_types()


def countable(resource: dict) -> bool:
    rtype = resource["type"]
    return bool(resource.get("custom")) and not rtype.startswith("pulumi:providers:") and rtype != "pulumi:pulumi:Stack"


def update_gates() -> tuple[str, ...]:
    """The catalog's gates judge an update about to run (its change request, window, error budget,
    the clock it reads), which an audit of standing state does not have; the period's changes are
    judged from `--history` instead. Left on, every production audit would fail on "no change
    request"."""
    from platformctl.pack import catalog

    return catalog.names_in_group("gate")


class Analyzer(Protocol):
    def analyze(self, resource: dict) -> Sequence[Any]: ...
    def analyze_stack(self, resources: list[dict]) -> Sequence[Any]: ...
    def close(self) -> None: ...


AnalyzerFactory = Callable[[str, str, dict], Analyzer]


class PackAnalyzer:
    """The leadgen-governance pack, started over gRPC as the Pulumi CLI starts it.

    `policy_client.PolicyClient.analyze` takes the whole list at once (it runs Analyze per
    resource, then AnalyzeStack), so this adapter buffers the streamed resources and calls it once.
    The state is still parsed once, never held as text and objects together; a per-resource entry
    point in the client would let audit drop inputs as it goes (asked of the governance engineer).
    """

    def __init__(self, stack: str, project: str, config: dict):
        from platformctl import policy_client
        from platformctl.pack import PACK_DIR

        # The gates cannot be switched off through the pack's config (it restores them to mandatory,
        # so a `--policy-pack-config` cannot lower them for an update): they run, and their findings,
        # which judge an update this audit does not have, are left out here instead.
        self._gates = frozenset(update_gates())
        self._client = policy_client.PolicyClient(PACK_DIR, project=project, stack=stack,
                                                  config=config, dry_run=False)
        self._error = policy_client.PolicyPackError
        self._buffer: list[dict] = []
        try:
            self._client.__enter__()
        except self._error as exc:
            raise InputError(str(exc)) from None

    def analyze(self, resource: dict) -> Sequence[Any]:
        provider = resource.get("provider")
        # The client resolves providers itself from the list, by URN.
        self._buffer.append(dict(resource, provider=provider["urn"] if isinstance(provider, dict) else provider))
        return []

    def analyze_stack(self, resources: list[dict]) -> Sequence[Any]:
        try:
            return [v for v in self._client.analyze(self._buffer) if v.policy not in self._gates]
        except self._error as exc:
            raise InputError(str(exc)) from None

    def close(self) -> None:
        self._client.close()


def pack_analyzer(stack: str, project: str, config: dict) -> Analyzer:
    return PackAnalyzer(stack, project, config)


class CatalogAnalyzer:
    """The pack's catalog run in this process: the same predicates, specs, levels and severities
    the pack's thin pulumi_policy wrappers run (policies/__main__.py), without a gRPC round trip
    and a protobuf copy per resource, so an audit keeps pace with a large export. Resource policies
    judge each resource's inputs as it streams by; stack policies judge every resource's outputs
    once at the end, as AnalyzeStack does. `--engine pack` runs the real pack instead; the two
    give the same findings (tests/audit/test_audit_engines.py)."""

    def __init__(self, stack: str, project: str, config: dict):
        from platformctl.pack import catalog, clock, model

        self._catalog, self._model = catalog, model
        skip = set(update_gates())
        self._by_type = {t: tuple(s for s in specs if s.name not in skip) for t, specs in catalog.SPECS_BY_TYPE.items()}
        self._stack_specs = tuple(s for s in catalog.STACK_SPECS if s.name not in skip)
        settings = governance_settings(stack, config, ROOT)
        self._ctx = model.Context(stack, project, settings, ROOT,
                                  clock.read(honour_override=False))
        self._providers: dict[str, dict] = {}

    def _resource(self, r: dict, props: dict):
        provider = r.get("provider")
        return self._model.Resource(r["type"], r["urn"], r["name"], props,
                                    provider.get("properties") if isinstance(provider, dict) else None,
                                    tuple(r.get("dependencies") or ()), r.get("parent") or "")

    def analyze(self, resource: dict) -> Sequence[Any]:
        specs = self._by_type.get(resource["type"])
        if not specs:
            return []
        model = self._resource(resource, resource.get("inputs") or {})
        return [Finding(policy=spec.name, level=spec.enforcement, severity=spec.severity, urn=resource["urn"],
                        message=message)
                for spec in specs for message in self._catalog.check_resource(spec, model, self._ctx)]

    def analyze_stack(self, resources: list[dict]) -> Sequence[Any]:
        models = [self._resource(r, r.get("outputs") or {}) for r in resources]
        return [Finding(policy=spec.name, level=spec.enforcement, severity=spec.severity, urn=urn, message=message)
                for spec in self._stack_specs for message, urn in self._catalog.check_stack(spec, models, self._ctx)]

    def close(self) -> None:
        pass


def catalog_analyzer(stack: str, project: str, config: dict) -> Analyzer:
    return CatalogAnalyzer(stack, project, config)


ENGINES = {"catalog": catalog_analyzer, "pack": pack_analyzer}


def audit_state(path: str | pathlib.Path, analyzer_factory: AnalyzerFactory,
                exemptions: Sequence[exemptions_mod.Exemption], today: dt.date,
                project_root: pathlib.Path = ROOT, with_cost: bool = True,
                generated_at: Optional[dt.datetime] = None) -> reports.Report:
    return audit_state_coverage(path, analyzer_factory, exemptions, today, project_root, with_cost, generated_at)[0]


def audit_state_coverage(path: str | pathlib.Path, analyzer_factory: AnalyzerFactory,
                         exemptions: Sequence[exemptions_mod.Exemption], today: dt.date,
                         project_root: pathlib.Path = ROOT, with_cost: bool = True,
                         generated_at: Optional[dt.datetime] = None) -> tuple[reports.Report, Coverage]:
    """The audit of one state file, and how much of it the policies judged."""
    judged = judge_state(path, analyzer_factory, exemptions, today, project_root, with_cost, generated_at)
    return judged.report, judged.coverage


@dataclasses.dataclass(frozen=True)
class StateAudit:
    report: reports.Report
    coverage: Coverage
    # The resources as AnalyzeStack saw them (outputs, no inputs) and the pack's config of the
    # stack: what the cost estimate prices.
    resources: tuple[dict, ...]
    config: Mapping[str, str]


def judge_state(path: str | pathlib.Path, analyzer_factory: AnalyzerFactory,
                exemptions: Sequence[exemptions_mod.Exemption], today: dt.date,
                project_root: pathlib.Path = ROOT, with_cost: bool = True,
                generated_at: Optional[dt.datetime] = None) -> StateAudit:
    covered = covered_types()
    coverage = Coverage()
    state = StateFile(path)
    header = state.read_header()
    stream = state.resources()
    first = next(stream, None)  # fills in the stack and project from the first URN
    stack = header.stack.rsplit("/", 1)[-1] if header.stack else "unknown"
    project = header.project or "unknown"
    config = pack_config(stack, project_root)
    analyzer = analyzer_factory(stack, project, config)
    violations: list[Any] = []
    kept: list[dict] = []
    try:
        for resource in _chain(first, stream):
            if countable(resource):
                if resource["type"] in covered:
                    coverage.judged += 1
                else:
                    coverage.uncovered[resource["type"]] += 1
            violations.extend(analyzer.analyze(resource))
            # Keep what AnalyzeStack and the cost estimate need; drop the inputs.
            slim = dict(resource)
            slim.pop("inputs", None)
            kept.append(slim)
        violations.extend(analyzer.analyze_stack(kept))
    finally:
        analyzer.close()
    for op in state.pending_operations:
        violations.append(Finding(
            policy=PENDING_POLICY, level="advisory", severity="high", urn=op["urn"],
            message=(f"interrupted {op['type']} operation on {op['resource_type']}: the resource may "
                     "exist unmanaged; run `pulumi refresh` and clear it before the next update")))
    unassessed = coverage.finding(f"urn:pulumi:{stack}::{project}::pulumi:pulumi:Stack::{project}-{stack}")
    if unassessed is not None:
        violations.append(unassessed)
    kept_v, exempted, expired = exemptions_mod.apply(violations, exemptions, today)
    notes = []
    if state.skipped_deleted:
        # By URN: "2 skipped" leaves the reader to guess which, and an old copy of a replaced
        # resource (the database, a bucket) is exactly what someone must look at.
        notes.append(f"{state.skipped_deleted} resource(s) marked for deletion skipped")
        notes.extend(f"pending deletion (not assessed): {urn}" for urn in state.deleted_urns)
    if state.secrets_redacted:
        notes.append(f"{state.secrets_redacted} secret value(s) shown as [secret]")
    if state.pending_operations:
        notes.append(f"{len(state.pending_operations)} pending operation(s) in state")
    notes.extend(coverage.notes())
    cost = None
    if with_cost:
        cost = cost_view(kept, config)
    report = reports.Report(
        stack=stack, project=project, kind="audit",
        generated_at=generated_at or dt.datetime.now(dt.timezone.utc),
        resource_count=state.resource_count, violations=kept_v + expired,
        exemptions=exemptions_mod.in_force(exemptions, today), exempted=exempted, cost=cost,
        source=str(path), notes=notes)
    return StateAudit(report=report, coverage=coverage, resources=tuple(kept), config=config)


def judge_export(document: Any, today: dt.date, *, name: str, project_root: pathlib.Path = ROOT,
                 analyzer_factory: Optional[AnalyzerFactory] = None,
                 exemptions: Optional[Sequence[exemptions_mod.Exemption]] = None,
                 generated_at: Optional[dt.datetime] = None) -> StateAudit:
    """`judge_state` over an export already decoded (the Pulumi Service's `GET .../export` answer):
    written back to a private temporary file so every check of the state reader applies to it as to
    a file on disk. `name` stands for the file in messages. Raises `StateError` for a document that
    is not a readable export, `ExemptionError` for an unreadable exemptions file."""
    if exemptions is None:
        exemptions = exemptions_mod.load()
    with tempfile.TemporaryDirectory(prefix="platformctl-state-") as folder:
        path = pathlib.Path(folder) / "export.json"
        try:
            text = json.dumps(document, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise StateError(f"{name}: not a JSON document ({exc})") from None
        path.write_text(text, encoding="utf-8")
        try:
            judged = judge_state(path, analyzer_factory or catalog_analyzer, exemptions, today, project_root,
                                 with_cost=False, generated_at=generated_at)
        except StateError as exc:
            raise StateError(str(exc).replace(str(path), name)) from None
    return dataclasses.replace(judged, report=dataclasses.replace(judged.report, source=name))


def governance_settings(stack: str, config: Mapping[str, str], project_root: pathlib.Path = ROOT):
    """The pack's settings of a stack as its gates read them (gates.yaml over the stack's config):
    the monthly budget among them."""
    from platformctl.pack import config as gconfig, gate_settings

    return gate_settings.apply(gconfig.from_mapping(dict(config)), stack, gate_settings.load(project_root))


def _chain(first: Optional[dict], rest: Iterable[dict]) -> Iterable[dict]:
    if first is not None:
        yield first
    yield from rest
