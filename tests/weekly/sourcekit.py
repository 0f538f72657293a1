"""Recorded answers for the cost, security and nodes-and-logs sections, read as the report reads
`--fixtures`: `fixtures/<service>/<operation>[.<label>].json`, each the bare answer or
`{"request": {...}, "response": ...}` (given when every key of `request` equals the param asked;
the file naming most params wins). A test changes one answer, or makes one source unreachable,
and asserts what the section makes of it."""
from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import pathlib
from typing import Any, Callable, Mapping, Optional

from platformctl.weekly.model import Context, Unreachable

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
# The clock the answers were recorded at (fixtures/recorded.json) and the week before it.
NOW = dt.datetime(2026, 11, 30, 6, 0, tzinfo=dt.timezone.utc)
SINCE = NOW - dt.timedelta(days=7)
STACK = "production"


@functools.lru_cache(maxsize=None)
def _load(path: pathlib.Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def answer(service: str, name: str) -> Any:
    """A copy of the recorded answer in `fixtures/<service>/<name>.json` (its response part)."""
    doc = _load(FIXTURES / service / f"{name}.json")
    return copy.deepcopy(doc["response"] if isinstance(doc, dict) and set(doc) == {"request", "response"} else doc)


def _norm(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


class Recorded:
    """A Fetch over the recorded answers, with per-test replacements and unreachable sources."""

    def __init__(self, services: tuple[str, ...] = ("pulumi", "ce", "ecr", "secretsmanager", "prometheus", "loki")):
        self.files: dict[str, list[tuple[str, Optional[dict], Any]]] = {}
        for service in services:
            for path in sorted((FIXTURES / service).glob("*.json")):
                doc = _load(path)
                if isinstance(doc, dict) and set(doc) == {"request", "response"}:
                    entry = (path.stem, doc["request"], doc["response"])
                else:
                    entry = (path.stem, None, doc)
                self.files.setdefault(service, []).append(entry)
        self.unreachable: dict[str, str] = {}   # "service" or "service/label" -> reason
        self.replaced: dict[str, Any] = {}      # "service/label" -> answer (or a callable of params)
        self.calls: list[tuple[str, str, dict]] = []

    def replace(self, service: str, label: str, value: Any) -> "Recorded":
        self.replaced[f"{service}/{label}"] = value
        return self

    def down(self, service: str, label: str = "", reason: str = "connection refused") -> "Recorded":
        self.unreachable[f"{service}/{label}" if label else service] = reason
        return self

    def __call__(self, service: str, operation: str, params: Mapping[str, Any]) -> Any:
        self.calls.append((service, operation, json.loads(json.dumps(dict(params)))))
        if service in self.unreachable:
            raise Unreachable(f"{service}: {self.unreachable[service]}")
        fits = [(stem, request, response) for stem, request, response in self.files.get(service, [])
                if (stem == operation or stem.startswith(operation + "."))
                and (request is None or all(k in params and _norm(params[k]) == _norm(v) for k, v in request.items()))]
        if not fits:
            raise Unreachable(f"{service} {operation}: no recorded answer for {json.dumps(dict(params), sort_keys=True)[:200]}")
        most = max(len(request or {}) for _, request, _ in fits)
        (stem, _, response), *others = [f for f in fits if len(f[1] or {}) == most]
        assert not others, f"{service} {operation}: several recorded answers fit {params}"
        key = f"{service}/{stem}"
        if key in self.unreachable:
            raise Unreachable(f"{service} {operation}: {self.unreachable[key]}")
        if key in self.replaced:
            value = self.replaced[key]
            return copy.deepcopy(value(params) if callable(value) else value)
        return copy.deepcopy(response)


@functools.lru_cache(maxsize=None)
def stack_config(stack: str = STACK, **overrides: str):
    from leadgen.config import load
    from platformctl.project import project_name, stack_config as raw_config

    raw = dict(raw_config(stack))
    raw.update(overrides)
    return load(project_name(), stack, raw)


def context(fetch: Callable[[str, str, Mapping[str, Any]], Any], *, config=None, now: dt.datetime = NOW,
            since: dt.datetime = SINCE, stack: str = STACK, project_root=None) -> Context:
    return Context(stack=stack, config=config or stack_config(stack), now=now, since=since, fetch=fetch,
                   project_root=project_root)


def rows(section, status: Optional[str] = None) -> dict[str, str]:
    return {r.name: r.figure for r in section.rows if status is None or r.status == status}
