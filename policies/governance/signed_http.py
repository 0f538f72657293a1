"""One HTTP exchange with one wall-clock deadline, SigV4-signed when the host is AWS's.

The error-budget gate and `platformctl weekly` reach their sources through this: the whole
exchange (signing, connect, request, headers, body) has one deadline, so a server that answers
one byte a second cannot hold a gate or a report; the body is capped; signing uses the standard
AWS credential chain (environment, profile, container or instance role) and happens inside the
deadline, before the connection opens. Callers word the failures for their own readers: every
exception here is one line without the caller's name for the source.

Every reader refuses the same URLs before anything is sent (`refusal`): not http(s); credentials
in the URL (nothing here sends them, and every error line would print them); plain http to a host
that is not this machine (an answer anyone on the path can forge, and gates act on answers). No
redirect is followed: a 3xx is the answer, and the caller refuses it as it refuses any non-200.
"""
from __future__ import annotations

import http.client
import io
import ipaddress
import socket
import time
import urllib.parse
from typing import Callable, Mapping, Optional

MAX_BODY = 4 * 1024 * 1024


class SigningError(Exception):
    """Signing was impossible; str() reads after "needs": "AWS credentials to sign the query (...)"."""


class Unanswered(Exception):
    """No usable answer; str() reads after the source's name: "did not answer within 3 s"."""


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refusal(url: str) -> Optional[str]:
    """Why no request goes to `url`, in words that read after the URL ("is not an http(s) URL"),
    or None when it may be asked."""
    try:
        parsed = urllib.parse.urlsplit(url)
        parsed.port  # noqa: B018 (a port that is not a number raises here)
    except ValueError:
        return "is not an http(s) URL"
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return "is not an http(s) URL"
    if "@" in parsed.netloc:
        return ("has credentials in it (user:password@): a URL is printed in every error line, so "
                "none is sent; the store is reached signed (AWS) or through a loopback proxy")
    if parsed.scheme == "http" and not _loopback(parsed.hostname):
        return (f"is plain http to {parsed.hostname}, which is not this machine: queried over https "
                "only (http to a loopback address)")
    return None


def store_refusal(url: str) -> Optional[str]:
    """`refusal` for the base URL of a store (Prometheus, Loki), which the readers build their
    queries on: a query or fragment of its own is refused too. Only its path is kept, so a
    `?token=` there would never be sent, only printed."""
    reason = refusal(url)
    if reason is None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.query or parsed.fragment:
            return ("has a query or fragment (?... or #...): a store is named by its scheme, host and path, "
                    "and nothing after them is sent")
    return reason


def shown(url: str) -> str:
    """`url` as an error line may print it: credentials (user:password@) replaced by `***@`, and
    a query (where a `?token=` would be; a store is named by its host and path) by `?***`."""
    try:
        parsed = urllib.parse.urlsplit(url)
    except ValueError:
        return url.split("@")[-1].split("?")[0] if "@" in url else url.split("?")[0]
    if "@" in parsed.netloc:
        parsed = parsed._replace(netloc="***@" + parsed.netloc.rsplit("@", 1)[1])
    if parsed.query:
        parsed = parsed._replace(query="***")
    return urllib.parse.urlunsplit(parsed)


class _DeadlineReader(io.RawIOBase):
    """A socket's reads, each given only the time left before the exchange's deadline."""

    def __init__(self, sock: socket.socket, deadline: float):
        # The socket's own raw file, so closing the connection while a response is read keeps
        # the descriptor open until the response is done (as http.client expects).
        self._sock, self._raw, self._deadline = sock, sock.makefile("rb", buffering=0), deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline")
        self._sock.settimeout(left)
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _DeadlineSocket:
    def __init__(self, sock: socket.socket, deadline: float):
        self._sock, self._deadline = sock, deadline

    def makefile(self, mode="rb", *args, **kwargs):
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))

    def sendall(self, data) -> None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline")
        self._sock.settimeout(left)
        self._sock.sendall(data)

    def __getattr__(self, name):
        return getattr(self._sock, name)


Transport = Callable[[urllib.parse.ParseResult, float], http.client.HTTPConnection]


def connection(parsed: urllib.parse.ParseResult, deadline: float) -> http.client.HTTPConnection:
    """The real transport: a connection whose connect, sends and reads all end by `deadline`."""
    base = http.client.HTTPSConnection if parsed.scheme == "https" else http.client.HTTPConnection

    class Bounded(base):  # type: ignore[misc, valid-type]
        def connect(self):
            self.timeout = max(0.001, deadline - time.monotonic())
            super().connect()
            self.sock = _DeadlineSocket(self.sock, deadline)
    return Bounded(parsed.hostname, parsed.port, timeout=max(0.001, deadline - time.monotonic()))


def signed_headers(method: str, url: str, headers: Mapping[str, str], *, service: str, region: str,
                   body: bytes = b"") -> dict:
    """`headers` plus SigV4's (Authorization, X-Amz-Date, X-Amz-Security-Token and, for S3,
    X-Amz-Content-SHA256) for `method url` with `body`."""
    try:
        from botocore.auth import S3SigV4Auth, SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.exceptions import BotoCoreError
        from botocore.session import get_session
    except ImportError:
        raise SigningError(f"botocore to sign the query (SigV4, service {service}): install "
                           "policies/requirements.txt") from None
    try:
        found = get_session().get_credentials()
        credentials = found.get_frozen_credentials() if found is not None else None
    except (BotoCoreError, OSError, ValueError) as err:
        raise SigningError(f"AWS credentials to sign the query (SigV4, service {service}): "
                           f"{str(err).splitlines()[0][:200]}") from None
    if credentials is None or not credentials.access_key or not credentials.secret_key:
        raise SigningError(f"AWS credentials to sign the query (SigV4, service {service}): none found")
    request = AWSRequest(method=method, url=url, headers=dict(headers), data=body or None)
    (S3SigV4Auth if service == "s3" else SigV4Auth)(credentials, service, region).add_auth(request)
    return dict(request.headers.items())


def exchange(method: str, url: str, *, headers: Mapping[str, str], body: bytes = b"", timeout: float,
             sign: Optional[tuple[str, str]] = None, transport: Transport = connection,
             max_body: int = MAX_BODY) -> tuple[int, bytes]:
    """(status, body) of one request, all of it within `timeout` seconds. `sign` is (service,
    region) to SigV4-sign it; the Host header is set here, so the host signed is the host sent.
    Raises SigningError or Unanswered (before anything is sent for a URL `refusal` refuses)."""
    reason = refusal(url)
    if reason is not None:
        raise Unanswered(reason)
    parsed = urllib.parse.urlparse(url)
    deadline = time.monotonic() + timeout
    path = (parsed.path or "/") + (f"?{parsed.query}" if parsed.query else "")
    headers = dict(headers)
    if sign is not None:
        host = parsed.hostname + (f":{parsed.port}" if parsed.port else "")
        headers = signed_headers(method, f"{parsed.scheme}://{host}{path}", {**headers, "Host": host},
                                 service=sign[0], region=sign[1], body=body)
        if time.monotonic() >= deadline:
            raise Unanswered(f"did not answer within {timeout:g} s")
    conn = transport(parsed, deadline)
    try:
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        data = response.read(max_body + 1)
        status = response.status
    except (TimeoutError, socket.timeout):
        raise Unanswered(f"did not answer within {timeout:g} s") from None
    except (OSError, http.client.HTTPException) as err:
        raise Unanswered(f"is unreachable ({str(err) or err.__class__.__name__})") from None
    finally:
        conn.close()
    if len(data) > max_body:
        raise Unanswered(f"answered more than {max_body // (1024 * 1024)} MiB")
    return status, data
