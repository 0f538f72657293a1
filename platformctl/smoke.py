"""Smoke tests as data (`governance/smoke-tests.yaml`) and their runner: real HTTP requests against a
stack's public name, redirects not followed, each with its own deadline. What the staging workflow
runs after `pulumi up`, and what the attestation it signs lists as passed."""
from __future__ import annotations

import http.client
import pathlib
import urllib.parse
from dataclasses import dataclass
from typing import Optional, Sequence

from platformctl.errors import InputError

FILE = pathlib.Path("governance") / "smoke-tests.yaml"
TIMEOUT_S = 10.0
MAX_BODY = 64 * 1024
METHODS = ("GET", "HEAD")


@dataclass(frozen=True)
class Test:
    name: str
    method: str
    path: str
    scheme: str
    status: int
    location_prefix: str = ""
    body_contains: str = ""


def load(root: pathlib.Path) -> list[Test]:
    """The tests, strictly read; InputError (one line naming the field) on anything else."""
    from platformctl.pack import changes

    shown = str(FILE)
    try:
        doc = changes.read_document(changes.read_in_repo(root, str(FILE.parent), FILE.name), shown)
    except (changes.RequestUnreadable, changes._Refused) as err:
        raise InputError(f"{shown}: {err}") from None
    listed = doc.get("tests") if isinstance(doc, dict) else None
    if not isinstance(listed, list) or not listed:
        raise InputError(f"{shown}: tests must list the smoke tests")
    out: list[Test] = []
    for i, item in enumerate(listed):
        where = f"{shown}: tests[{i}]"
        if not isinstance(item, dict) or set(item) != {"name", "request", "expect"}:
            raise InputError(f"{where} must have exactly name, request, expect")
        request, expect, name = item["request"], item["expect"], item["name"]
        if not isinstance(name, str) or not name or any(t.name == name for t in out):
            raise InputError(f"{where}.name must be a unique test name")
        if not isinstance(request, dict) or request.get("method") not in METHODS or \
                not isinstance(request.get("path"), str) or not request["path"].startswith("/"):
            raise InputError(f"{where}.request needs a method ({', '.join(METHODS)}) and a path starting with /")
        scheme = request.get("scheme", "https")
        if scheme not in ("http", "https") or set(request) - {"method", "path", "scheme"}:
            raise InputError(f"{where}.request has only method, path and scheme (http or https)")
        status = expect.get("status") if isinstance(expect, dict) else None
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599 or \
                set(expect) - {"status", "location_prefix", "body_contains"}:
            raise InputError(f"{where}.expect needs status (100-599) and at most location_prefix, body_contains")
        out.append(Test(name, request["method"], request["path"], scheme, status,
                        str(expect.get("location_prefix", "")), str(expect.get("body_contains", ""))))
    return out


def run(test: Test, host: str, base_url: Optional[str] = None, timeout: float = TIMEOUT_S) -> str:
    """"" when `test` passes against `host` (or `base_url`, which replaces scheme and host), else why not."""
    if base_url:
        parsed = urllib.parse.urlparse(base_url)
        scheme, netloc = parsed.scheme, parsed.netloc
    else:
        scheme, netloc = test.scheme, host
    connection = (http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection)(
        netloc, timeout=timeout)
    try:
        connection.request(test.method, test.path, headers={"User-Agent": "leadgen-smoke/1",
                                                            "Host": host if not base_url else netloc})
        response = connection.getresponse()
        body = response.read(MAX_BODY)
    except (OSError, http.client.HTTPException) as err:
        return f"{test.method} {scheme}://{netloc}{test.path} failed: {str(err) or err.__class__.__name__}"
    finally:
        connection.close()
    if response.status != test.status:
        return f"{test.method} {test.path} answered {response.status}, expected {test.status}"
    location = response.getheader("Location") or ""
    if test.location_prefix and not location.startswith(test.location_prefix):
        return f"{test.method} {test.path} redirected to {location[:120]!r}, expected {test.location_prefix}..."
    if test.body_contains and test.body_contains.encode("utf-8") not in body:
        return f"{test.method} {test.path} body lacks {test.body_contains!r}"
    return ""


def run_all(tests: Sequence[Test], host: str, base_url: Optional[str] = None) -> list[tuple[str, str]]:
    return [(t.name, run(t, host, base_url)) for t in tests]
