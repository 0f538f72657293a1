"""Where the weekly report's answers come from: the live sources, or answers recorded from them.

Both are a `Fetch` (`fetch(service, operation, params) -> answer`), so a section cannot tell them
apart and the tests drive every section from recorded answers of the real APIs.

Answers have one shape whichever side gives them:
- `prometheus` (`query`, `query_range`) and `loki` (`query_range`): the decoded JSON of the query
  API (`{"status": "success", "data": ...}`);
- AWS APIs (`s3` `ListObjectsV2`, `ecr`, `secretsmanager`, `ce`, `eks`, ...): what
  `aws <service> <operation> --output json` prints (botocore's parsed answer, times as ISO 8601),
  so a recording is that command's output; `s3` `GetObject` answers the object's JSON document;
- `pulumi` (`stack-output`, `stack-history`, `stack-export`): what `pulumi stack output --json`,
  `pulumi stack history --json` and `pulumi stack export` print (secrets left encrypted).

Recorded answers (`--fixtures DIR`, or LEADGEN_WEEKLY_FIXTURES) live in
`DIR/<service>/<operation>.json`, or `<operation>.<label>.json` / `<operation>-<label>.json` when
several are recorded. A file is either the bare answer, given whatever the
params, or `{"request": {...}, "response": ...}`, given when every key of `request` equals the
param asked; the file naming the most params wins. `DIR/recorded.json` (`{"recorded_at": ...}`)
is when they were recorded: the report's clock when replaying, so ages and days-to-expiry come out
as they did then. Every file is read and checked before anything runs: a file that is not JSON is
bad input (one line, exit 1), while an operation with no recorded answer is an unreachable source.

Live, every exchange goes through the pack's `signed_http` (the error-budget gate's client): one
deadline per exchange, SigV4 with the standard AWS credential chain for AWS hosts.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import pathlib
import shutil
import subprocess
import urllib.parse
from typing import Any, Mapping, Optional

from platformctl.errors import InputError
from platformctl.weekly.model import Unreachable

FIXTURES_ENV = "LEADGEN_WEEKLY_FIXTURES"
RECORDED = "recorded.json"
TIMEOUT_SECONDS = 10.0
PULUMI_TIMEOUT_SECONDS = 60.0
MAX_FIXTURE_BYTES = 8 * 2**20
LOKI_URL_ENV = "LEADGEN_LOKI_URL"


def _strict_pairs(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError(f"duplicate key {next(k for k in keys if keys.count(k) > 1)!r}")
    return dict(pairs)


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def _read_json(path: pathlib.Path) -> Any:
    try:
        if path.is_symlink() or not path.is_file():
            raise InputError(f"{path}: not a regular file")
        if path.stat().st_size > MAX_FIXTURE_BYTES:
            raise InputError(f"{path}: larger than {MAX_FIXTURE_BYTES // 2**20} MiB")
        return json.loads(path.read_bytes().decode("utf-8"), object_pairs_hook=_strict_pairs,
                          parse_constant=_no_constant)
    except InputError:
        raise
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise InputError(f"{path}: not a recorded answer: {str(err).splitlines()[0][:160]}") from None
    except OSError as err:
        raise InputError(f"{path}: cannot be read ({err.strerror or err})") from None


def _norm(value: Any) -> str:
    return json.dumps(value, sort_keys=True) if not isinstance(value, str) else value


@dataclasses.dataclass(frozen=True)
class _Recorded:
    path: pathlib.Path
    request: Optional[Mapping[str, Any]]  # None: the answer whatever the params
    response: Any


class FixtureFetch:
    """Recorded answers from a directory, all read and checked when it is opened."""

    def __init__(self, root: pathlib.Path | str):
        self.root = pathlib.Path(root)
        if not self.root.is_dir():
            raise InputError(f"--fixtures {self.root}: not a directory")
        self.recorded_at: Optional[dt.datetime] = None
        self._answers: dict[str, list[_Recorded]] = {}
        for path in sorted(self.root.glob("*/*.json")):
            data = _read_json(path)
            if isinstance(data, dict) and set(data) == {"request", "response"}:
                if not isinstance(data["request"], dict):
                    raise InputError(f"{path}: field request must be an object of the params it answers")
                recorded = _Recorded(path, data["request"], data["response"])
            else:
                recorded = _Recorded(path, None, data)
            self._answers.setdefault(path.parent.name, []).append(recorded)
        meta = self.root / RECORDED
        if meta.exists():
            doc = _read_json(meta)
            at = doc.get("recorded_at") if isinstance(doc, dict) else None
            self.recorded_at = parse_moment(at, f"{meta}: field recorded_at") if at is not None else None
            if self.recorded_at is None:
                raise InputError(f"{meta}: field recorded_at is missing")

    def describe(self) -> str:
        when = f" recorded at {self.recorded_at.isoformat(timespec='seconds')}" if self.recorded_at else ""
        return f"recorded answers in {self.root}{when}"

    def __call__(self, service: str, operation: str, params: Mapping[str, Any]) -> Any:
        # `<operation>.json`, `<operation>.<label>.json` or `<operation>-<label>.json`: `query_range.json`
        # is never an answer to `query`.
        candidates = [r for r in self._answers.get(service, [])
                      if r.path.stem == operation or r.path.stem.startswith((operation + ".", operation + "-"))]
        matching = [r for r in candidates
                    if r.request is None or all(k in params and _norm(params[k]) == _norm(v) for k, v in r.request.items())]
        if not matching:
            raise Unreachable(f"{service} {operation}: no recorded answer in {self.root / service} for "
                              f"{json.dumps(dict(params), sort_keys=True, default=str)[:200]}")
        best = max(len(r.request or {}) for r in matching)
        chosen = [r for r in matching if len(r.request or {}) == best]
        if len(chosen) > 1:
            raise Unreachable(f"{service} {operation}: {len(chosen)} recorded answers fit equally "
                              f"({', '.join(r.path.name for r in chosen)})")
        return json.loads(json.dumps(chosen[0].response))  # a copy: no section can change another's answer


def parse_moment(text: Any, where: str) -> dt.datetime:
    """An ISO 8601 instant with its zone (`2026-11-30T06:00:00Z`), as UTC."""
    try:
        moment = dt.datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{where} {text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise InputError(f"{where} {text!r} has no time zone (add Z for UTC)")
    return moment.astimezone(dt.timezone.utc)


class LiveFetch:
    """The real sources, each exchange bounded by `timeout` seconds and signed where AWS wants it."""

    def __init__(self, *, stack: str, region: str, prometheus_url: str, loki_url: str = "",
                 timeout: float = TIMEOUT_SECONDS, project_root: Optional[pathlib.Path] = None,
                 store_setting: str = ""):
        self.stack, self.region, self.timeout = stack, region, timeout
        self.prometheus_url, self.loki_url = prometheus_url, loki_url
        # The key that configures the store (gates.yaml's for a protected stack), for the lines;
        # "" is the stack's own key, which the gate's reader names (error_budget.SETTING).
        self.store_setting = store_setting
        self.project_root = project_root
        self._cached: dict[str, Any] = {}

    def describe(self) -> str:
        return "live sources"

    def __call__(self, service: str, operation: str, params: Mapping[str, Any]) -> Any:
        if service == "pulumi":
            return self._pulumi(operation)
        if service == "prometheus":
            return self._query("Prometheus", self._prometheus_base(), f"/api/v1/{operation}", params,
                               operations=("query", "query_range"), operation=operation)
        if service == "loki":
            if not self.loki_url:
                raise Unreachable(f"Loki: no query URL (set {LOKI_URL_ENV} or --loki-url)")
            return self._query("Loki", self.loki_url, f"/loki/api/v1/{operation}", params,
                               operations=("query", "query_range"), operation=operation)
        return self._aws(service, operation, params)

    # -- pulumi ------------------------------------------------------------------------------------
    def _pulumi(self, operation: str) -> Any:
        """One run of the CLI per operation and report, whichever sections ask; a failure too."""
        if operation not in self._cached:
            try:
                self._cached[operation] = self._run_pulumi(operation)
            except Unreachable as err:
                self._cached[operation] = err
        answer = self._cached[operation]
        if isinstance(answer, Unreachable):
            raise Unreachable(str(answer))
        return answer

    def _run_pulumi(self, operation: str) -> Any:
        # Never --show-secrets: secrets stay ciphertext (`[secret]` in outputs) in everything the report reads.
        commands = {"stack-output": ["stack", "output", "--json"], "stack-history": ["stack", "history", "--json"],
                    "stack-export": ["stack", "export"]}
        if operation not in commands:
            raise Unreachable(f"pulumi: no reader for {operation!r}")
        exe = shutil.which("pulumi")
        if exe is None:
            raise Unreachable(f"pulumi {' '.join(commands[operation][:2])}: the pulumi CLI is not on PATH")
        argv = [exe, *commands[operation], "--stack", self.stack, "--non-interactive"]
        try:
            done = subprocess.run(argv, capture_output=True, timeout=PULUMI_TIMEOUT_SECONDS,
                                  cwd=self.project_root, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise Unreachable(f"pulumi {' '.join(commands[operation][:2])} did not answer within "
                              f"{PULUMI_TIMEOUT_SECONDS:g} s") from None
        except OSError as err:
            raise Unreachable(f"pulumi could not be started ({err.strerror or err})") from None
        if done.returncode != 0:
            first = (done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no message"])[-1]
            raise Unreachable(f"pulumi {' '.join(commands[operation][:2])} failed: {first[:200]}")
        try:
            answer = json.loads(done.stdout)
        except ValueError:
            raise Unreachable(f"pulumi {' '.join(commands[operation][:2])} printed no JSON") from None
        return answer

    # -- Prometheus and Loki ---------------------------------------------------------------------
    def _prometheus_base(self) -> str:
        from platformctl.pack import config as gconfig, error_budget

        if self.prometheus_url != gconfig.STACK_AMP_WORKSPACE:
            if not self.prometheus_url:
                raise Unreachable(f"Prometheus: no SLO store is configured ({self.store_setting or error_budget.SETTING})")
            return self.prometheus_url
        # `amp:stack`: the workspace the stack declares, whose query URL the stack exports.
        outputs = self._pulumi("stack-output")
        store = outputs.get("sloStore") if isinstance(outputs, dict) else None
        url = store.get("queryUrl") if isinstance(store, dict) else None
        if not isinstance(url, str) or error_budget.amp_region(url.rstrip("/")) is None:
            raise Unreachable("Prometheus: the stack exports no Amazon Managed Prometheus sloStore.queryUrl")
        return url.rstrip("/")

    def _query(self, name: str, base: str, path: str, params: Mapping[str, Any], *, operations, operation) -> Any:
        from platformctl.pack import error_budget, signed_http

        if operation not in operations:
            raise Unreachable(f"{name}: no reader for {operation!r}")
        # The gate's refusals (credentials in the URL, plain http off this machine), in its words.
        reason = signed_http.store_refusal(base)
        if reason is not None:
            raise Unreachable(f"{name}: {signed_http.shown(base)!r} {reason}")
        parsed = urllib.parse.urlparse(base)
        region = error_budget.amp_region(base)
        host = parsed.hostname + (f":{parsed.port}" if parsed.port else "")
        url = (f"{parsed.scheme}://{host}{parsed.path.rstrip('/')}{path}?"
               + urllib.parse.urlencode({k: str(v) for k, v in params.items()}))
        where = f"{name} at {parsed.scheme}://{host}"
        try:
            status, body = signed_http.exchange("GET", url, headers={"Accept": "application/json"},
                                                timeout=self.timeout,
                                                sign=(error_budget.AMP_SERVICE, region) if region else None)
        except (signed_http.SigningError, signed_http.Unanswered) as err:
            prefix = "needs " if isinstance(err, signed_http.SigningError) else ""
            raise Unreachable(f"{where} {prefix}{err}") from None
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise Unreachable(f"{where} answered HTTP {status} with a body that is not JSON") from None
        if status != 200 or not isinstance(doc, dict) or doc.get("status") != "success":
            error = doc.get("error") or doc.get("message") if isinstance(doc, dict) else None
            raise Unreachable(f"{where} answered HTTP {status}" + (f": {' '.join(str(error).split())[:200]}"
                                                                   if error else ""))
        return doc

    # -- AWS -----------------------------------------------------------------------------------------
    def _aws(self, service: str, operation: str, params: Mapping[str, Any]) -> Any:
        """Any AWS operation botocore knows, serialised and parsed by botocore's own models and
        sent through `signed_http`, so its deadline and signing are the gate's."""
        from platformctl.pack import signed_http

        try:
            import botocore.awsrequest
            import botocore.exceptions
            import botocore.model
            import botocore.parsers
            import botocore.serialize
            import botocore.session
        except ImportError:
            raise Unreachable(f"{service} {operation}: botocore is not installed") from None
        session = botocore.session.get_session()
        try:
            # A client only for its endpoint and model: it never sends (no credentials are read).
            client = session.create_client(service, region_name=self.region, aws_access_key_id="unused",
                                           aws_secret_access_key="unused")
            model = client.meta.service_model
            op = model.operation_model(operation)
        except (botocore.exceptions.BotoCoreError, botocore.model.OperationNotFoundError, KeyError, ValueError):
            raise Unreachable(f"{service} {operation}: no such AWS operation") from None
        serializer = botocore.serialize.create_serializer(model.protocol, include_validation=True)
        try:
            request = serializer.serialize_to_request(dict(params), op)
        except botocore.exceptions.ParamValidationError as err:
            raise Unreachable(f"{service} {operation}: {' '.join(str(err).split())[:200]}") from None
        botocore.awsrequest.prepare_request_dict(request, endpoint_url=client.meta.endpoint_url)
        body = request.get("body") or b""
        if isinstance(body, dict):
            body = urllib.parse.urlencode(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        signing = model.signing_name or model.endpoint_prefix
        where = f"{service} {operation} at {urllib.parse.urlparse(request['url']).hostname}"
        try:
            status, data = signed_http.exchange(request["method"], request["url"], headers=dict(request["headers"]),
                                                body=body, timeout=self.timeout,
                                                sign=(signing, client.meta.region_name))
        except signed_http.SigningError as err:
            raise Unreachable(f"{where} needs {err}") from None
        except signed_http.Unanswered as err:
            raise Unreachable(f"{where} {err}") from None
        if status >= 300:
            raise Unreachable(f"{where} answered HTTP {status}{_aws_error(data)}")
        if service == "s3" and operation == "GetObject":
            try:
                return json.loads(data)
            except (ValueError, UnicodeDecodeError, RecursionError):
                raise Unreachable(f"{where}: the object is not a JSON document") from None
        parser = botocore.parsers.create_parser(model.protocol)
        try:
            parsed = parser.parse({"status_code": status, "headers": {}, "body": data}, op.output_shape)
        except Exception as err:  # noqa: BLE001 botocore raises several kinds for a body it cannot read
            raise Unreachable(f"{where}: the answer could not be read ({type(err).__name__})") from None
        parsed.pop("ResponseMetadata", None)
        return json.loads(json.dumps(parsed, default=_jsonable))


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(type(value).__name__)


def _aws_error(body: bytes) -> str:
    """`: <Code>: <Message>` from a JSON or XML AWS error body, else nothing."""
    text = body[:4096].decode("utf-8", "replace")
    try:
        doc = json.loads(text)
        code = str(doc.get("__type") or doc.get("code") or "").rsplit("#", 1)[-1]
        message = doc.get("message") or doc.get("Message") or ""
    except (ValueError, AttributeError):
        import re
        code = (re.search(r"<Code>([^<]{1,80})</Code>", text) or [None, ""])[1]
        message = (re.search(r"<Message>([^<]{1,300})</Message>", text) or [None, ""])[1]
    found = ": ".join(x for x in (code, " ".join(str(message).split())[:200]) if x)
    return f": {found}" if found else ""


def fixtures_dir(flag: Optional[str], env: Mapping[str, str] = os.environ) -> Optional[str]:
    return flag or env.get(FIXTURES_ENV) or None
