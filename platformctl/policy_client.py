"""Run a Pulumi policy pack offline, exactly as the CLI does, and collect its violations.

The CLI starts a Python pack as `python -u -m pulumi.policy <engine-address> <pack-dir>` in the
pack folder with PULUMI_PROJECT, PULUMI_STACK, PULUMI_DRY_RUN and PULUMI_CONFIG set, reads the
port from the first stdout line, then speaks the Analyzer gRPC protocol: GetAnalyzerInfo,
Configure (every policy with its enforcement level), Remediate and Analyze per resource (inputs),
and AnalyzeStack once (outputs). `PolicyClient` does the same, with a tiny in-process Engine
service as the engine address (the pack may log through it), so `platformctl preview` gets the
verdict `pulumi preview --policy-pack policies` would print.

    with PolicyClient("policies", project="leadgen", stack="production", config=cfg) as pack:
        violations = pack.analyze(resources)
"""
from __future__ import annotations

import collections
import json
import math
import os
import pathlib
import subprocess
import sys
import threading
from concurrent import futures
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, engine_pb2_grpc

LEVELS = {analyzer_pb2.ADVISORY: "advisory", analyzer_pb2.MANDATORY: "mandatory",
          analyzer_pb2.REMEDIATE: "remediate", analyzer_pb2.DISABLED: "disabled"}
SEVERITIES = {analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED: "", analyzer_pb2.POLICY_SEVERITY_LOW: "low",
              analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium", analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
              analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical"}
_LEVEL_VALUES = {v: k for k, v in LEVELS.items()}
_MAX_MESSAGE = 400 * 1024 * 1024  # as the pack's own server allows: AnalyzeStack carries every resource
_CHANNEL_OPTIONS = [("grpc.max_send_message_length", _MAX_MESSAGE), ("grpc.max_receive_message_length", _MAX_MESSAGE)]
_WINDOW = 32  # Analyze calls kept in flight; the pack serves 4 at a time (8 to 512 measured alike)


class PolicyPackError(Exception):
    """The pack could not be started or answered unexpectedly; the message is one line."""


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str  # mandatory | advisory
    urn: str
    message: str  # the policy's own message, without the description the SDK prefixes
    severity: str = ""


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    description: str
    level: str
    severity: str
    kind: str  # resource | stack


class _Engine(engine_pb2_grpc.EngineServicer):
    """The part of the engine a pack talks to: it logs, and asks for the root resource."""

    def __init__(self) -> None:
        self.logs: list[tuple[int, str]] = []
        self._lock = threading.Lock()

    def Log(self, request, context):
        with self._lock:
            self.logs.append((request.severity, request.message))
        return empty_pb2.Empty()

    def GetRootResource(self, request, context):
        from pulumi.runtime.proto import engine_pb2
        return engine_pb2.GetRootResourceResponse(urn="")

    def SetRootResource(self, request, context):
        from pulumi.runtime.proto import engine_pb2
        return engine_pb2.SetRootResourceResponse()


def config_env(config: Mapping[str, Any]) -> str:
    """PULUMI_CONFIG as the CLI writes it: a JSON object of strings, objects as JSON text."""
    return json.dumps({k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}, sort_keys=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _struct(props: Optional[Mapping[str, Any]]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    _fill(struct, props)
    return struct


def _fill(struct: struct_pb2.Struct, props: Optional[Mapping[str, Any]]) -> None:
    """Fill a request's own Struct in place (building a separate one costs a copy per resource)."""
    if props:
        struct.update(_jsonable(props))


class PolicyClient:
    def __init__(self, pack_dir: os.PathLike | str, *, project: str, stack: str,
                 config: Optional[Mapping[str, Any]] = None, dry_run: bool = True,
                 python: str = sys.executable, env: Optional[Mapping[str, str]] = None,
                 levels: Optional[Mapping[str, str]] = None, start_timeout: float = 60.0) -> None:
        self.pack_dir = pathlib.Path(pack_dir).resolve()
        self.project, self.stack, self.dry_run = project, stack, dry_run
        self.config = dict(config or {})
        self.python, self.extra_env = python, dict(env or {})
        self.level_overrides = dict(levels or {})
        self.start_timeout = start_timeout
        self.policies: list[PolicyInfo] = []
        self.pack_name = ""
        self._engine = _Engine()
        self._engine_server: Optional[grpc.Server] = None
        self._proc: Optional[subprocess.Popen] = None
        self._channel: Optional[grpc.Channel] = None
        self._stub: Optional[analyzer_pb2_grpc.AnalyzerStub] = None
        self._stderr: list[bytes] = []
        self._remediating = False  # set by Configure: whether any resource policy remediates

    @property
    def logs(self) -> list[tuple[int, str]]:
        return list(self._engine.logs)

    # --- lifecycle
    def __enter__(self) -> "PolicyClient":
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self) -> None:
        if not (self.pack_dir / "PulumiPolicy.yaml").is_file():
            raise PolicyPackError(f"{self.pack_dir}: no PulumiPolicy.yaml, not a policy pack")
        self._engine_server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        engine_pb2_grpc.add_EngineServicer_to_server(self._engine, self._engine_server)
        engine_port = self._engine_server.add_insecure_port("127.0.0.1:0")
        self._engine_server.start()

        env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
        env.update({"PULUMI_PROJECT": self.project, "PULUMI_STACK": self.stack,
                    "PULUMI_DRY_RUN": "true" if self.dry_run else "false",
                    "PULUMI_CONFIG": config_env(self.config), "PYTHONUNBUFFERED": "1"})
        env.update(self.extra_env)
        self._proc = subprocess.Popen(
            [self.python, "-u", "-m", "pulumi.policy", f"127.0.0.1:{engine_port}", str(self.pack_dir)],
            cwd=self.pack_dir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        # stderr is drained in the background so a chatty pack never blocks on a full pipe.
        threading.Thread(target=self._drain, args=(self._proc.stderr,), daemon=True).start()
        port = self._read_port()
        self._channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=_CHANNEL_OPTIONS)
        try:
            grpc.channel_ready_future(self._channel).result(timeout=self.start_timeout)
        except grpc.FutureTimeoutError:
            raise PolicyPackError(f"policy pack {self.pack_dir.name}: port {port} never accepted a connection") from None
        self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
        info = self._call(self._stub.GetAnalyzerInfo, empty_pb2.Empty())
        self.pack_name = info.name
        self.policies = [PolicyInfo(p.name, p.description, LEVELS.get(p.enforcementLevel, "advisory"),
                                    SEVERITIES.get(p.severity, ""),
                                    "stack" if p.policy_type == analyzer_pb2.POLICY_TYPE_STACK else "resource")
                         for p in info.policies]
        unknown = sorted(set(self.level_overrides) - {p.name for p in self.policies})
        if unknown:
            raise PolicyPackError(f"policy pack {info.name} has no policy {unknown[0]}")
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for p in self.policies:
            # The proto default is advisory, so every policy is sent with its level explicitly.
            level = self.level_overrides.get(p.name, p.level)
            request.policyConfig[p.name].enforcementLevel = _LEVEL_VALUES[level]
        self._call(self._stub.Configure, request)
        self._remediating = any(p.kind == "resource" and self.level_overrides.get(p.name, p.level) == "remediate"
                                for p in self.policies)

    def _read_port(self) -> int:
        assert self._proc is not None and self._proc.stdout is not None
        result: dict[str, bytes] = {}
        reader = threading.Thread(target=lambda: result.setdefault("line", self._proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(self.start_timeout)
        line = result.get("line", b"").strip()
        if not line.isdigit():
            self._proc.kill()
            self._proc.wait()
            why = self._stderr_tail() or (f"printed {line[:80]!r} instead of its port" if line else "exited without printing its port")
            if reader.is_alive():
                why = f"printed no port within {self.start_timeout:g} s"
            raise PolicyPackError(f"policy pack {self.pack_dir.name} failed to start: {why}")
        threading.Thread(target=self._drain, args=(self._proc.stdout,), daemon=True).start()
        return int(line)

    def _drain(self, stream) -> None:
        for chunk in iter(lambda: stream.readline(), b""):
            self._stderr.append(chunk)
            del self._stderr[:-200]

    def _stderr_tail(self) -> str:
        lines = [l.decode("utf-8", "replace").strip() for l in self._stderr if l.strip()]
        return lines[-1] if lines else ""

    def _call(self, method, request):
        try:
            return method(request, timeout=120)
        except grpc.RpcError as err:
            detail = (err.details() or "").strip().splitlines()
            name = getattr(method, "_method", b"call").decode().rsplit("/", 1)[-1]
            raise PolicyPackError(f"policy pack {self.pack_name or self.pack_dir.name}: {name} failed: "
                                  f"{detail[-1] if detail else err.code().name}") from None

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            for stream in (self._proc.stdout, self._proc.stderr):
                if stream:
                    stream.close()
            self._proc = None
        if self._engine_server is not None:
            self._engine_server.stop(0)
            self._engine_server = None

    # --- analysis
    def analyze(self, resources: Sequence[Mapping[str, Any]]) -> list[Violation]:
        """Remediate and Analyze every resource (inputs), then AnalyzeStack (outputs)."""
        if self._stub is None:
            raise PolicyPackError("PolicyClient.analyze called outside its `with` block")
        resources = list(resources)
        providers = {r.get("urn"): r for r in resources if str(r.get("type", "")).startswith("pulumi:providers:")}
        descriptions = {p.name: p.description for p in self.policies}
        severities = {p.name: p.severity for p in self.policies}
        violations: list[Violation] = []

        def collect(response, urn: str = "") -> None:
            for d in response.diagnostics:
                message = d.message
                prefix = descriptions.get(d.policyName, d.description)
                if prefix and message.startswith(prefix):
                    message = message[len(prefix):].lstrip("\n")
                violations.append(Violation(d.policyName, LEVELS.get(d.enforcementLevel, "advisory"), d.urn or urn,
                                            message or prefix, SEVERITIES.get(d.severity) or severities.get(d.policyName, "")))

        # The AnalyzeStack request is built while the Analyze calls are in flight (the pack is busy
        # with them meanwhile), and sent, as the engine sends it, once every resource is analysed.
        stack = analyzer_pb2.AnalyzeStackRequest()
        stack_providers: dict = {}

        def add_to_stack(r: Mapping[str, Any]) -> None:
            self._stack_resource(stack.resources.add(), r, providers, stack_providers)

        self._analyze_each(resources, providers, collect, add_to_stack)
        collect(self._call(self._stub.AnalyzeStack, stack))
        return violations

    def _analyze_each(self, resources, providers, collect, add_to_stack) -> None:
        provider_props: dict = {}  # one Struct per provider, copied into each request (C-level)
        if self._remediating:
            self._remediate_and_analyze(resources, providers, provider_props, collect)
            for r in resources:
                add_to_stack(r)
        else:
            # No policy is at the remediate level, so the SDK's Remediate would run no policy and
            # answer empty (pulumi_policy/policy.py, _PolicyAnalyzerServicer.Remediate skips every
            # policy whose level is not REMEDIATE): skipping the call changes nothing but halves
            # the round trips. Analyze calls are kept in flight as the CLI keeps them, concurrently.
            pending: collections.deque = collections.deque()
            for r in resources:
                req = self._analyze_request(r, providers, provider_props)
                pending.append((req.urn, self._stub.Analyze.future(req, timeout=120)))
                add_to_stack(r)
                if len(pending) >= _WINDOW:
                    urn, call = pending.popleft()
                    # A resource policy reports without a URN; the engine attributes it to the resource.
                    collect(self._result(call, "Analyze"), urn)
            for urn, call in pending:
                collect(self._result(call, "Analyze"), urn)

    def _remediate_and_analyze(self, resources, providers, provider_props, collect) -> None:
        """As the engine does when a policy remediates: Remediate, apply its properties, Analyze."""
        for start in range(0, len(resources), _WINDOW):
            batch = resources[start:start + _WINDOW]
            requests = [self._analyze_request(r, providers, provider_props) for r in batch]
            remediations = [self._stub.Remediate.future(req, timeout=120) for req in requests]
            analyses = []
            for req, pending in zip(requests, remediations):
                response = self._result(pending, "Remediate")
                for remediation in response.remediations:
                    # The engine applies a remediation's new properties before analysing.
                    if remediation.HasField("properties"):
                        req.properties.CopyFrom(remediation.properties)
                analyses.append((req.urn, self._stub.Analyze.future(req, timeout=120)))
            for urn, pending in analyses:
                collect(self._result(pending, "Analyze"), urn)

    def _result(self, pending, name: str):
        try:
            return pending.result()
        except grpc.RpcError as err:
            detail = (err.details() or "").strip().splitlines()
            raise PolicyPackError(f"policy pack {self.pack_name}: {name} failed: "
                                  f"{detail[-1] if detail else err.code().name}") from None

    @staticmethod
    def _options(r: Mapping[str, Any]) -> analyzer_pb2.AnalyzerResourceOptions:
        return analyzer_pb2.AnalyzerResourceOptions(protect=bool(r.get("protect", False)),
                                                    ignoreChanges=list(r.get("ignore_changes") or []),
                                                    parent=r.get("parent") or "")

    @staticmethod
    def _provider(r: Mapping[str, Any], providers: Mapping[str, Mapping[str, Any]], outputs: bool,
                  cache: dict) -> Optional[analyzer_pb2.AnalyzerProviderResource]:
        """The provider message of a resource, built once per provider (thousands share one)."""
        ref = r.get("provider") or ""
        if not ref:
            return None
        urn = ref.rsplit("::", 1)[0] if ref.count("::") > 3 else ref
        if urn not in cache:
            provider = providers.get(urn)
            if provider is None:
                cache[urn] = None
            else:
                props = (provider.get("outputs") if outputs else None) or provider.get("inputs") or {}
                cache[urn] = analyzer_pb2.AnalyzerProviderResource(
                    type=provider.get("type", ""), properties=_struct(props), urn=urn, name=provider.get("name", ""))
        return cache[urn]

    def _analyze_request(self, r: Mapping[str, Any], providers, cache: dict) -> analyzer_pb2.AnalyzeRequest:
        request = analyzer_pb2.AnalyzeRequest(type=r.get("type", ""), urn=r.get("urn", ""), name=r.get("name", ""),
                                              options=self._options(r))
        _fill(request.properties, r.get("inputs"))
        provider = self._provider(r, providers, False, cache)
        if provider is not None:
            request.provider.CopyFrom(provider)
        return request

    def _stack_resource(self, resource: analyzer_pb2.AnalyzerResource, r: Mapping[str, Any], providers,
                        cache: dict) -> None:
        # Outputs, as the engine sends them; a preview's new resource has only its inputs to show.
        resource.type, resource.urn, resource.name = r.get("type", ""), r.get("urn", ""), r.get("name", "")
        resource.parent = r.get("parent") or ""
        resource.dependencies.extend(r.get("dependencies") or [])
        resource.options.CopyFrom(self._options(r))
        _fill(resource.properties, r.get("outputs") or r.get("inputs"))
        provider = self._provider(r, providers, True, cache)
        if provider is not None:
            resource.provider.CopyFrom(provider)


def analyze(resources: Iterable[Mapping[str, Any]], pack_dir: os.PathLike | str, *, project: str, stack: str,
            config: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> list[Violation]:
    """One-shot: start the pack, analyse the resources, stop it."""
    with PolicyClient(pack_dir, project=project, stack=stack, config=config, **kwargs) as client:
        return client.analyze(list(resources))
