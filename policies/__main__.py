"""The leadgen-governance policy pack: thin wiring of `governance.catalog` into pulumi_policy.

Run by the CLI (`pulumi preview --policy-pack policies`) or by platformctl's offline client, both
as `python -u -m pulumi.policy <engine> policies`, which puts this folder on sys.path. Published
(`pulumi policy publish`, run by a policy group) it sits in the CLI's folder of packs with no
repository above it, and reads what it needs from its published governance data and the change
evidence in its environment instead (governance/source.py): the same readers, the same verdicts.
"""
import functools
import gc
import os
import pathlib

import pulumi
from pulumi_policy import (EnforcementLevel, PolicyConfigSchema, PolicyPack, ResourceValidationPolicy,
                           Severity, StackValidationPolicy)

from governance import catalog, clock, config, exemptions, gate_settings, pack_settings, sdk_cache, source
from governance.model import Context, Resource
from governance.values import plain

PACK_DIR = pathlib.Path(__file__).resolve().parent
# In the repository the project root holds changes/ and governance/ and the pack sits directly under
# it; published, there is no such root (None) and the pack reads its published data and the evidence.
REPOSITORY = source.in_repository(PACK_DIR)


@functools.lru_cache(maxsize=4)
def _stack_settings(raw_config: str) -> config.GovernanceConfig:
    # Keyed on the raw PULUMI_CONFIG so the config is parsed once per stack, not once per resource.
    # The whole mapping, not key by key: a `--path` object and its flat leaf are weighed together.
    return config.from_mapping(pulumi.runtime.get_config_env())


def _settings(raw_config: str, stack: str, root: pathlib.Path) -> config.GovernanceConfig:
    # The gate settings of a protected stack are the CAB's (governance/gates.yaml), not its config's.
    return gate_settings.apply(_stack_settings(raw_config), stack, gate_settings.load(root),
                               pack_settings.stacks())


def _source(raw_config: str, stack: str) -> source.Published | None:
    """None in the repository; published, the private folder and facts built from what it was given."""
    if REPOSITORY is not None:
        return None
    return source.published(str(PACK_DIR), os.environ.get(source.EVIDENCE_ENV, ""),
                            _stack_settings(raw_config).change_request, stack)


def _dry_run() -> bool:
    # The CLI sets PULUMI_DRY_RUN for every pack it starts; anything but "true" is judged as an update.
    return os.environ.get("PULUMI_DRY_RUN", "") == "true"


def _context() -> Context:
    dry_run = _dry_run()
    stack = pulumi.get_stack()
    raw = os.environ.get("PULUMI_CONFIG", "")
    published = _source(raw, stack)
    root = REPOSITORY if published is None else published.root
    return Context(stack=stack, project=pulumi.get_project(), config=_settings(raw, stack, root), project_root=root,
                   clock=clock.read(os.environ, honour_override=dry_run),
                   pack_stacks=pack_settings.stacks(), dry_run=dry_run,
                   facts=None if published is None else published.facts,
                   source_problem="" if published is None else published.problem)


def _exempt(policy: str, urn: str) -> bool:
    """A reviewed exemption in force covers this violation (policies/exemptions.yaml), here in the
    pack so the CLI and platformctl report the same verdict."""
    return exemptions.load().covers(policy, urn, clock.now().date()) is not None


def _schema(spec: catalog.Spec):
    # The pack-wide settings are declared once, on one policy: the CLI validates a policy group's
    # config against it and fills in the default (see governance/pack_settings.py).
    return PolicyConfigSchema(properties=pack_settings.SCHEMA) if spec.name == pack_settings.OWNER else None


def _shared(key: str, build):
    """`build()` once per analyzer request when the SDK cache is on (see governance/sdk_cache.py):
    the policies of one request all see the same resources, so they share one plain copy."""
    memo = sdk_cache.request_memo()
    if memo is None:
        return build()
    if key not in memo:
        memo[key] = build()
    return memo[key]


def _resource(args) -> Resource:
    provider = plain(args.provider.props) if args.provider is not None else None
    return Resource(args.resource_type, args.urn, args.name, plain(args.props), provider)


def _stack(args) -> list[Resource]:
    return [Resource(r.resource_type, r.urn, r.name, plain(r.props),
                     plain(r.provider.props) if r.provider is not None else None,
                     tuple(d.urn for d in r.dependencies), r.parent.urn if r.parent else "")
            for r in args.resources]


def _resource_policy(spec: catalog.Spec) -> ResourceValidationPolicy:
    def validate(args, report_violation):
        if args.resource_type not in spec.types:
            return
        resource = _shared("resource", lambda: _resource(args))
        for message in catalog.check_resource(spec, resource, _context()):
            if not _exempt(spec.name, args.urn):
                report_violation(message)
    return ResourceValidationPolicy(name=spec.name, description=spec.description, validate=validate,
                                    enforcement_level=EnforcementLevel(spec.enforcement),
                                    severity=Severity(spec.severity), config_schema=_schema(spec))


def _stack_policy(spec: catalog.Spec) -> StackValidationPolicy:
    def validate(args, report_violation):
        resources = _shared("stack", lambda: _stack(args))
        for message, urn in catalog.check_stack(spec, resources, _context()):
            if not _exempt(spec.name, urn):
                report_violation(message, urn)
    return StackValidationPolicy(name=spec.name, description=spec.description, validate=validate,
                                 enforcement_level=EnforcementLevel(spec.enforcement),
                                 severity=Severity(spec.severity), config_schema=_schema(spec))


def _applies(policy, resource_type: str) -> bool:
    """Whether a resource policy can report on this type: its wrapper returns at once otherwise."""
    spec = catalog.BY_NAME.get(policy.name)
    return spec is None or spec.types is None or resource_type in spec.types


# Before the PolicyPack exists: it builds and registers the SDK's servicer in its constructor.
sdk_cache.install(_applies)
# The gates and the governance checks stay mandatory whatever a policy config asks (pack_settings).
pack_settings.install(catalog.LOCKED)
# An AnalyzeStack allocates millions of short-lived objects (the SDK rebuilds the stack's
# PolicyResources for each of the 12 stack policies). With CPython's default gen-0 threshold of 700
# the collector ran thousands of times per call, each pass walking the live stack: half of
# AnalyzeStack's time over 10,000 resources (3.3 s -> 1.5 s in one measurement). This process only
# serves the pack, and its objects are freed by reference counting; cycles are still collected.
gc.set_threshold(100_000, 50, 100)
PolicyPack(
    name="leadgen-governance",
    description="Change requests, change windows, error budget and cost gates for protected stacks, "
                "and security guardrails for every stack of the leadgen platform.",
    policies=[_resource_policy(s) if s.kind == "resource" else _stack_policy(s) for s in catalog.SPECS],
)
