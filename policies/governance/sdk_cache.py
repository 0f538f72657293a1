"""Convert each resource once per analyzer request, not once per policy (issue 6, item 6).

Why: pulumi_policy 1.21.0 converts a resource's properties inside its loop over policies
(`pulumi_policy/policy.py`, `_PolicyAnalyzerServicer.Analyze` and `.AnalyzeStack`, and
`_get_provider_resource`): each conversion is `json_format.MessageToDict`, then
`deserialize_properties`, then `unknown_checking_proxy`, three deep copies. With 26 resource
policies and 12 stack policies that is 26 conversions per `Analyze` call and 12 conversions of the
whole stack per `AnalyzeStack` call, the provider's properties included each time. Profiled over
10,000 resources (py-spy on the pack process), they were about 80 % of the pack's time.

What: for the duration of one `Analyze` or `AnalyzeStack` call (a thread-local scope; the SDK
serves each call on one worker thread), the three conversions as `pulumi_policy.policy` sees them
are memoised on the identity of their input. The SDK still runs its own loop, levels, messages,
unknown handling and not-applicable reporting; every policy receives what it received before,
only shared instead of rebuilt. The memo holds a reference to each input, so no id can be reused
by another object while the scope is open, and it is dropped when the call returns.

The scope also carries `request_memo()`, where the pack keeps its own plain model of the stack so
the 12 stack policies convert it once. `LEADGEN_POLICY_SDK_CACHE=0` turns the workaround off (the
tests compare both ways). If a future pulumi_policy renames what this relies on, `install` does
nothing and the pack stays correct, only slower; `tests/policies/test_policy_sdk_cache.py` fails
on such an upgrade so the workaround is revisited rather than silently lost.
"""
from __future__ import annotations

import functools
import os
import threading
from typing import Any, Callable, Optional

DISABLE_ENV = "LEADGEN_POLICY_SDK_CACHE"
_WRAPPED_METHODS = ("Analyze", "AnalyzeStack")
_CONVERTERS = ("deserialize_properties", "unknown_checking_proxy")
# Servicer helpers that convert one resource message (options; provider, whose properties are a
# whole provider's config) and that the SDK also calls once per policy.
_PER_RESOURCE = ("_get_resource_options", "_get_provider_resource")

_scope = threading.local()


def request_memo() -> Optional[dict]:
    """The open request's memo (a dict the pack may fill), or None outside a wrapped call."""
    return getattr(_scope, "memo", None)


def _memoised_method(convert: Callable, tag: str) -> Callable:
    cached = _memoised(lambda message, self: convert(self, message), tag)

    @functools.wraps(convert)
    def method(self, message):
        return cached(message, self)
    return method


def _memoised(convert: Callable, tag: str) -> Callable:
    @functools.wraps(convert)
    def cached(value: Any, *args: Any) -> Any:
        memo = request_memo()
        if memo is None:
            return convert(value, *args)
        key = (tag, id(value), args)
        hit = memo.get(key)
        if hit is None:
            # The input is kept beside the result so its id stays unique while the scope lives.
            hit = memo[key] = (value, convert(value, *args))
        return hit[1]
    return cached


class _JsonFormat:
    """`google.protobuf.json_format` as pulumi_policy.policy sees it, with MessageToDict memoised."""

    def __init__(self, module: Any) -> None:
        self._module = module
        self.MessageToDict = _memoised(module.MessageToDict, "MessageToDict")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


def _scoped(method: Callable) -> Callable:
    @functools.wraps(method)
    def call(self, request, context):
        outer = request_memo()
        _scope.memo = {} if outer is None else outer
        try:
            return method(self, request, context)
        finally:
            _scope.memo = outer
    call.__leadgen_scoped__ = True
    return call


def supported(sdk: Any) -> bool:
    """Whether the installed pulumi_policy still has every name the workaround relies on."""
    servicer = getattr(sdk, "_PolicyAnalyzerServicer", None)
    return (servicer is not None and hasattr(sdk, "json_format")
            and all(callable(getattr(sdk, name, None)) for name in _CONVERTERS)
            and all(callable(getattr(servicer, name, None)) for name in _WRAPPED_METHODS + _PER_RESOURCE))


def install(environ=os.environ) -> bool:
    """Patch pulumi_policy.policy before the PolicyPack is built; True when the cache is active."""
    import pulumi_policy.policy as sdk

    if environ.get(DISABLE_ENV, "1") == "0" or not supported(sdk):
        return False
    servicer = sdk._PolicyAnalyzerServicer
    if getattr(servicer.Analyze, "__leadgen_scoped__", False):
        return True  # already installed in this process
    if not isinstance(sdk.json_format, _JsonFormat):
        sdk.json_format = _JsonFormat(sdk.json_format)
    for name in _CONVERTERS:
        setattr(sdk, name, _memoised(getattr(sdk, name), name))
    for name in _PER_RESOURCE:
        setattr(servicer, name, _memoised_method(getattr(servicer, name), name))
    for name in _WRAPPED_METHODS:
        setattr(servicer, name, _scoped(getattr(servicer, name)))
    return True
