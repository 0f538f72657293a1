"""Work around pulumi_policy's per-policy repetition, so the pack keeps up with 10,000 resources
(the throughput `bench/policy.py` measures). Nothing here changes what a policy sees or reports.

Why: pulumi_policy 1.21.0 (`pulumi_policy/policy.py`, `_PolicyAnalyzerServicer`) does per-resource
work inside its loop over policies:
  - `Analyze` converts the resource (`json_format.MessageToDict`, `deserialize_properties`,
    `unknown_checking_proxy`: three deep copies, and the same for the provider's properties in
    `_get_provider_resource`) once for each of the 21 resource policies, although each policy
    matches a few exact type tokens and returns at once for any other type;
  - `AnalyzeStack` converts the whole stack once for each of the 12 stack policies, reading every
    field of every resource message 12 times;
  - every call re-parses PULUMI_CONFIG and rebuilds the runtime settings
    (`_configure_runtime_settings`, with an `inspect.signature` each time).
Profiled with py-spy on the pack process over 10,000 resources, this was about 80 % of its time.

What, for the duration of one `Analyze` or `AnalyzeStack` call (a thread-local scope: the SDK
serves each call on one worker thread, and the scope is dropped when the call returns):
  1. the conversions above, as `pulumi_policy.policy` sees them, are memoised on the identity of
     their input; the memo holds each input, so no id is reused while the scope is open; a
     provider is converted once per distinct configuration (its exact bytes), across calls;
  2. `Analyze` runs the SDK's own method on a view of the servicer whose policy list holds only
     the policies that apply to the request's type (`applies`, given by the pack); the others
     would have returned without a word, so the response is the same;
  3. `AnalyzeStack` runs the SDK's own method on a read-only view of the request whose resources
     are plain Python objects holding the same field values and sub-messages;
  4. the runtime settings are configured on the first call only: the environment they come from
     is fixed for the life of the pack process (the CLI sets it when it starts the pack).
The SDK still runs its own loops, enforcement levels, messages, unknown and not-applicable
handling. `request_memo()` also lets the pack keep one plain model of the stack per call.

`LEADGEN_POLICY_SDK_CACHE=0` turns all of it off (the tests compare both ways). If a future
pulumi_policy renames what this relies on, `install` does nothing and the pack stays correct, only
slower; `tests/policies/test_policy_sdk_cache.py` fails on such an upgrade so it gets revisited.
"""
from __future__ import annotations

import functools
import math
import os
import threading
from typing import Any, Callable, Optional

from google.protobuf import struct_pb2

DISABLE_ENV = "LEADGEN_POLICY_SDK_CACHE"
_POLICIES = "_PolicyAnalyzerServicer__policies"  # `self.__policies` inside the SDK's servicer
_CONVERTERS = ("deserialize_properties", "unknown_checking_proxy")
_PROVIDER = "_get_provider_resource"  # servicer helper: a resource message in, its provider out
_REQUIRED_METHODS = ("Analyze", "AnalyzeStack", "_configure_runtime_settings", "_get_resource_options", _PROVIDER)
_PROVIDERS_KEPT = 64  # distinct provider configurations remembered (a stack has a handful)

_scope = threading.local()


def request_memo() -> Optional[dict]:
    """The open call's memo (a dict the pack may fill too), or None outside a wrapped call."""
    return _scope.__dict__.get("memo")


_SLOTS = []  # one table per memoised function; a scope opens a fresh list of empty tables


def _memoised(convert: Callable, tag: str) -> Callable:
    slot = len(_SLOTS)
    _SLOTS.append(tag)

    @functools.wraps(convert)
    def cached(value: Any, *args: Any) -> Any:
        tables = _scope.__dict__.get("tables")
        if tables is None:
            return convert(value, *args)
        table = tables[slot]
        key = (id(value), args) if args else id(value)
        hit = table.get(key)
        if hit is None:
            # The input is kept beside the result so its id stays unique while the scope lives.
            hit = table[key] = (value, convert(value, *args))
        return hit[1]
    return cached


def _memoised_method(method: Callable, tag: str) -> Callable:
    slot = len(_SLOTS)
    _SLOTS.append(tag)

    @functools.wraps(method)
    def cached(self, message):
        tables = _scope.__dict__.get("tables")
        if tables is None:
            return method(self, message)
        table = tables[slot]
        hit = table.get(id(message))
        if hit is None:
            hit = table[id(message)] = (message, method(self, message))
        return hit[1]
    return cached


def _by_content(method: Callable) -> Callable:
    """`_get_provider_resource` keyed on the provider's exact bytes, across calls: every resource
    carries its own copy of its provider's whole configuration, and thousands share one provider,
    so converting it once per resource was a third of an Analyze call. The result is read-only
    (policies read `args.provider.props`), so sharing it changes nothing a policy can see."""
    cache: dict = {}
    lock = threading.Lock()

    @functools.wraps(method)
    def cached(self, request):
        if not request.HasField("provider"):
            return None
        key = request.provider.SerializeToString(deterministic=True)
        hit = cache.get(key)
        if hit is None:
            hit = method(self, request)
            with lock:
                if len(cache) >= _PROVIDERS_KEPT:
                    cache.clear()
                cache[key] = hit
        return hit
    return cached


class _NotJson(Exception):
    """A number JSON cannot carry (inf, nan): left to json_format, which reports it its own way."""


def _struct_dict(struct: Any) -> dict:
    return {key: _value(value) for key, value in struct.fields.items()}


def _value(value: Any) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "struct_value":
        return _struct_dict(value.struct_value)
    if kind == "number_value":
        number = value.number_value
        if math.isinf(number) or math.isnan(number):
            raise _NotJson()
        return number
    if kind == "bool_value":
        return value.bool_value
    if kind == "list_value":
        return [_value(v) for v in value.list_value.values]
    return None  # null_value, or no kind set: json_format gives None for both


def struct_to_dict(message: Any, message_to_dict: Callable) -> Any:
    """`json_format.MessageToDict` for a `google.protobuf.Struct`, without its generic descriptor
    walk (it was the largest single cost of a conversion); any other message goes to json_format.
    Same values, same key order: `tests/policies/test_policy_sdk_cache.py` compares the two."""
    if isinstance(message, struct_pb2.Struct):
        try:
            return _struct_dict(message)
        except _NotJson:
            pass
    return message_to_dict(message)


class _JsonFormat:
    """`google.protobuf.json_format` as pulumi_policy.policy sees it: inside a scope, MessageToDict
    is memoised (and a Struct converted directly); outside one it is json_format's own."""

    def __init__(self, module: Any) -> None:
        self._module = module
        original = module.MessageToDict
        slot = len(_SLOTS)
        _SLOTS.append("MessageToDict")

        def message_to_dict(message, *args, **kwargs):
            tables = _scope.__dict__.get("tables")
            if tables is None or args or kwargs:
                return original(message, *args, **kwargs)
            hit = tables[slot].get(id(message))
            if hit is None:
                hit = tables[slot][id(message)] = (message, struct_to_dict(message, original))
            return hit[1]
        self.MessageToDict = message_to_dict

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


class _ServicerView:
    """The servicer with its policy list narrowed; everything else is the servicer's own."""

    def __init__(self, servicer: Any, policies: list) -> None:
        self._servicer = servicer
        setattr(self, _POLICIES, policies)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._servicer, name)


class _ResourceView:
    """One `AnalyzerResource` read once: the fields the SDK reads per policy as plain attributes,
    the same sub-message objects (so the memo above recognises them), anything else delegated."""

    __slots__ = ("_message", "type", "urn", "name", "parent", "dependencies", "propertyDependencies",
                 "properties", "options", "provider", "_has_provider")

    def __init__(self, message: Any) -> None:
        self._message = message
        self.type, self.urn, self.name, self.parent = message.type, message.urn, message.name, message.parent
        self.dependencies = list(message.dependencies)
        self.propertyDependencies = dict(message.propertyDependencies.items())
        self.properties, self.options, self.provider = message.properties, message.options, message.provider
        self._has_provider = message.HasField("provider")

    def HasField(self, name: str) -> bool:
        return self._has_provider if name == "provider" else self._message.HasField(name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._message, name)


class _StackRequestView:
    def __init__(self, request: Any) -> None:
        self._request = request
        self.resources = [_ResourceView(r) for r in request.resources]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


def _scoped(method: Callable, prepare: Callable) -> Callable:
    @functools.wraps(method)
    def call(self, request, context):
        outer = (_scope.__dict__.get("memo"), _scope.__dict__.get("tables"))
        if outer[0] is None:
            _scope.memo, _scope.tables = {}, [{} for _ in _SLOTS]
        try:
            target, request = prepare(self, request)
            return method(target, request, context)
        finally:
            _scope.memo, _scope.tables = outer
    call.__leadgen_scoped__ = True
    return call


def _once(configure: Callable) -> Callable:
    lock, done = threading.Lock(), []

    @functools.wraps(configure)
    def configure_once(self):
        if done:
            return None
        with lock:
            if not done:
                configure(self)
                done.append(True)
        return None
    return configure_once


def supported(sdk: Any) -> bool:
    """Whether the installed pulumi_policy still has every name the workaround relies on."""
    servicer = getattr(sdk, "_PolicyAnalyzerServicer", None)
    if servicer is None or not hasattr(sdk, "json_format"):
        return False
    init = getattr(servicer.__init__, "__code__", None)
    return (all(callable(getattr(sdk, name, None)) for name in _CONVERTERS)
            and all(callable(getattr(servicer, name, None)) for name in _REQUIRED_METHODS)
            and init is not None and _POLICIES in init.co_names)


def install(applies: Optional[Callable[[Any, str], bool]] = None, environ=os.environ) -> bool:
    """Patch pulumi_policy.policy before the PolicyPack is built (its constructor registers the
    servicer); True when active. `applies(policy, resource_type)` says whether a resource policy
    can report on that type; without it every policy runs on every Analyze call, as in the SDK."""
    import pulumi_policy.policy as sdk

    if environ.get(DISABLE_ENV, "1") == "0" or not supported(sdk):
        return False
    servicer = sdk._PolicyAnalyzerServicer
    if getattr(servicer.Analyze, "__leadgen_scoped__", False):
        return True  # already installed in this process
    sdk.json_format = _JsonFormat(sdk.json_format)
    for name in _CONVERTERS:
        setattr(sdk, name, _memoised(getattr(sdk, name), name))
    servicer._get_resource_options = _memoised_method(servicer._get_resource_options, "options")
    setattr(servicer, _PROVIDER, _memoised_method(_by_content(getattr(servicer, _PROVIDER)), "provider"))
    servicer._configure_runtime_settings = _once(servicer._configure_runtime_settings)
    narrowed: dict[str, list] = {}

    def for_type(self, request):
        if applies is None:
            return self, request
        typ = request.type
        if typ not in narrowed:  # a benign race: two threads may build the same list
            # Stack policies are skipped by the SDK's Analyze anyway; a policy without validate is
            # kept for the not-applicable entry the SDK reports for it.
            narrowed[typ] = [p for p in getattr(self, _POLICIES) if isinstance(p, sdk.ResourceValidationPolicy)
                             and (not p.has_validation() or applies(p, typ))]
        return _ServicerView(self, narrowed[typ]), request

    servicer.Analyze = _scoped(servicer.Analyze, for_type)
    servicer.AnalyzeStack = _scoped(servicer.AnalyzeStack, lambda self, request: (self, _StackRequestView(request)))
    return True
