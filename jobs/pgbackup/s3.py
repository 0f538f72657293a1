"""The S3 calls pgbackup makes, on the standard library's HTTP client with awscrt's credentials and SigV4.

botocore and its S3 model cost a fifth of a second of CPU per run, on the critical path of
``verify`` and competing with pg_dump's pipe in ``backup``; this client costs the import of
awscrt's ``auth`` (its credential chain and signer, the AWS SDKs' own C code) and nothing else.

- Configuration from the environment as botocore reads it for these calls: the region from
  ``AWS_REGION`` or ``AWS_DEFAULT_REGION``; the endpoint from ``AWS_ENDPOINT_URL_S3`` or
  ``AWS_ENDPOINT_URL`` (path-style addressing), else ``https://<bucket>.s3.<region>.amazonaws.com``.
- Credentials from awscrt's default chain: environment keys (with a session token), the shared
  profile, STS web identity (IRSA: ``AWS_ROLE_ARN`` + ``AWS_WEB_IDENTITY_TOKEN_FILE``), the
  container endpoint (ECS, EKS Pod Identity), the instance metadata service.
- Retries as botocore's "standard" mode with 3 attempts: connection failures, 500/502/503/504,
  throttling and transient codes, with jittered exponential backoff. A 200 reply that carries an
  ``<Error>`` (CompleteMultipartUpload can send one) is a 500, as botocore treats it.
- Methods and their arguments carry boto3's names for the subset pgbackup uses, so ``Store`` also
  accepts any object with that shape (the weekly report's recorded answers).

No credential, signature or session token reaches an exception's text: errors carry S3's ``Code``
and ``Message``, or the endpoint that could not be reached.
"""
from __future__ import annotations

import base64
import hashlib
import os
import random
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timezone

# botocore's Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=10, read_timeout=120).
MAX_ATTEMPTS = 3
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 120.0
BACKOFF_BASE = 1.0  # seconds; the n-th retry waits random() * BACKOFF_BASE * 2**(n-1), at most BACKOFF_CAP
BACKOFF_CAP = 20.0
RETRY_STATUSES = frozenset({500, 502, 503, 504})
# botocore's standard mode: its throttling codes and its transient ones.
RETRY_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
    "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
    "RequestTimeout", "RequestTimeoutException", "InternalError",
})
# S3's replies with a body pgbackup parses (listings, upload ids, errors) are far below this; a
# reply beyond it is not S3's and is refused instead of held in memory.
MAX_XML_BYTES = 16 * 1024 * 1024
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_DNS_BUCKET = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")


class S3Failure(Exception):
    """Any failure of an S3 call; its text is one line without credentials."""


class S3Error(S3Failure):
    """S3 answered with an error: the HTTP status and S3's ``Code`` and ``Message``."""

    def __init__(self, status: int, code: str, message: str = ""):
        super().__init__(f"{code}: {message}" if message else code)
        self.status, self.code, self.message = status, code, message


class S3TransportError(S3Failure):
    """No usable reply: the connection was refused, reset, timed out or cut short."""

    def __init__(self, endpoint: str, cause: str):
        super().__init__(f"cannot reach {endpoint} ({cause})")
        self.endpoint, self.cause = endpoint, cause


class S3CredentialsError(S3Failure):
    """The credential chain found nothing (or its source, e.g. STS, refused)."""


class S3ConfigError(S3Failure):
    """The environment does not say where S3 is (no region)."""


@dataclass(frozen=True)
class S3Config:
    region: str
    endpoint: str  # scheme://host[:port], no path
    path_style: bool

    @classmethod
    def from_env(cls, environ=None) -> "S3Config":
        env = os.environ if environ is None else environ
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        if not region:
            raise S3ConfigError("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION)")
        endpoint = None
        if env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() != "true":
            endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
        if endpoint:
            return cls.custom(region, endpoint, variable="AWS_ENDPOINT_URL_S3" if env.get("AWS_ENDPOINT_URL_S3")
                              else "AWS_ENDPOINT_URL")
        return cls(region, f"https://s3.{region}.amazonaws.com", path_style=False)

    @classmethod
    def custom(cls, region: str, endpoint: str, variable: str = "endpoint") -> "S3Config":
        parts = urllib.parse.urlsplit(endpoint.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise S3ConfigError(f"{variable} is not an http(s) URL: {endpoint[:80]!r}")
        netloc = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        if ":" in parts.hostname:
            netloc = f"[{parts.hostname}]" + (f":{parts.port}" if parts.port else "")
        return cls(region, f"{parts.scheme}://{netloc}", path_style=True)

    def address(self, bucket: str, key: str = "") -> tuple[str, str]:
        """(host[:port], path) of an object: path-style for a custom endpoint or a bucket name
        that cannot be a TLS host name, virtual-hosted otherwise (as botocore chooses)."""
        host = urllib.parse.urlsplit(self.endpoint).netloc
        encoded = quote_key(key)
        if self.path_style or not dns_compatible(bucket):
            return host, f"/{quote_key(bucket)}/{encoded}" if key else f"/{quote_key(bucket)}"
        return f"{bucket}.{host}", f"/{encoded}"


def dns_compatible(bucket: str) -> bool:
    # One DNS label: dots would break the certificate's wildcard (*.s3.<region>.amazonaws.com).
    return bool(_DNS_BUCKET.fullmatch(bucket))


def quote_key(key: str) -> str:
    """A key in a request path, as SigV4 for S3 encodes it: UTF-8, every byte outside the unreserved
    set percent-encoded once, slashes kept."""
    return urllib.parse.quote(key, safe="/~")


def _quote_param(value: str) -> str:
    return urllib.parse.quote(value, safe="-_.~")


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child_text(element, name: str) -> str | None:
    for child in element:
        if _local_name(child.tag) == name:
            return child.text or ""
    return None


def _parse_xml(data: bytes):
    import xml.etree.ElementTree as ElementTree
    try:
        return ElementTree.fromstring(data)
    except ElementTree.ParseError:
        return None


def _one_line(text: str, limit: int) -> str:
    """A server's text for a terminal line: whitespace runs as one space, control characters escaped."""
    text = " ".join(text.split())[:limit]
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"
                   for c in text)


def error_from_reply(status: int, data: bytes) -> S3Error:
    """S3's error reply as an S3Error; without a readable body, the status names the code."""
    root = _parse_xml(data) if data else None
    if root is not None and _local_name(root.tag) == "Error":
        code = _child_text(root, "Code") or str(status)
        message = _child_text(root, "Message") or ""
        return S3Error(status, _one_line(code, 100), _one_line(message, 300))
    import http
    try:
        code = http.HTTPStatus(status).phrase.replace(" ", "").replace("-", "")
    except ValueError:
        code = str(status)
    return S3Error(status, code)


class StreamingBody:
    """An object's content as it arrives: ``read(n)``, ``iter_chunks(n)``, ``close()``. A reply
    that ends before its Content-Length is an S3TransportError, never a silently short object."""

    def __init__(self, client: "S3Client", conn, response, length: int | None):
        self._client, self._conn, self._response = client, conn, response
        self._remaining = length  # None: no Content-Length, read to the end of the reply
        self._closed = False

    def read(self, amount: int | None = None) -> bytes:
        import http.client
        if self._closed or self._remaining == 0:
            self._release()
            return b""
        want = self._remaining if amount is None or amount < 0 else amount
        if self._remaining is not None:
            want = min(want, self._remaining)
        try:
            data = self._response.read(want) if want is not None else self._response.read()
        except (OSError, ValueError, http.client.HTTPException) as exc:
            self._drop()
            raise S3TransportError(self._client.config.endpoint, _transport_cause(exc)) from None
        if self._remaining is None:
            if not data:
                self._release()
            return data
        if not data:
            self._drop()
            raise S3TransportError(self._client.config.endpoint,
                                   f"the reply ended {self._remaining} bytes before its Content-Length")
        self._remaining -= len(data)
        if self._remaining == 0:
            self._release()
        return data

    def iter_chunks(self, chunk_size: int = 1024 * 1024):
        while True:
            data = self.read(chunk_size)
            if not data:
                return
            yield data

    def _release(self) -> None:
        if not self._closed:
            self._closed = True
            self._client._give_back(self._conn, self._response)

    def _drop(self) -> None:
        if not self._closed:
            self._closed = True
            self._conn.close()

    def close(self) -> None:
        """Unread content is not drained: the connection is closed instead."""
        if self._remaining == 0:
            self._release()
        else:
            self._drop()


def _transport_cause(exc: BaseException) -> str:
    import socket
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, socket.gaierror):
        return "host name not resolved"
    name = type(exc).__name__
    text = str(exc).splitlines()[0][:120] if str(exc) else ""
    return f"{name}: {text}" if text else name


class _Paginator:
    def __init__(self, client: "S3Client"):
        self._client = client

    def paginate(self, *, Bucket: str, Prefix: str = "", PaginationConfig: dict | None = None):  # noqa: N803 boto3's names
        size = (PaginationConfig or {}).get("PageSize") or self._client.page_size
        token = None
        while True:
            page = self._client.list_objects_v2(Bucket=Bucket, Prefix=Prefix, ContinuationToken=token, MaxKeys=size)
            yield page
            token = page.get("NextContinuationToken") if page.get("IsTruncated") else None
            if not token:
                return


class S3Client:
    """One keep-alive connection per thread to one S3 endpoint; see the module's docstring."""

    def __init__(self, config: S3Config, credentials_provider=None, clock=None, sleep=time.sleep):
        from awscrt import auth  # the credential chain and the signer: ~60-90 ms, once
        self.config = config
        self._auth = auth
        if credentials_provider is None:
            credentials_provider = auth.AwsCredentialsProvider.new_default_chain()
        self._credentials = credentials_provider
        self._clock = clock  # a fixed signing time for tests; None: now
        self._sleep = sleep
        self._local = threading.local()
        self._tls = None
        self._secure = urllib.parse.urlsplit(config.endpoint).scheme == "https"
        # Over TLS an object's bytes (PutObject, UploadPart) are not hashed into the signature
        # (UNSIGNED-PAYLOAD, as botocore does for streaming bodies): TLS protects them on the way
        # and Content-MD5 makes S3 refuse a damaged body. Over plain HTTP, and for every other
        # request, the payload's SHA-256 is signed.
        self.sign_payload = not self._secure
        self.page_size: int | None = None  # keys per listing page; None: S3's default (1000)

    @classmethod
    def from_env(cls, environ=None) -> "S3Client":
        return cls(S3Config.from_env(environ))

    def prepare(self) -> None:
        """Does now what the first request would otherwise wait for: the HTTP and XML modules,
        the TLS context (the system's CA certificates), the credentials (a web identity exchange,
        a metadata call). A credential failure is reported by that first request instead."""
        import http.client  # noqa: F401 imported here, off the first request's path
        import xml.etree.ElementTree  # noqa: F401
        if self._secure:
            self._tls_context()
        try:
            self._credentials.get_credentials().result(CONNECT_TIMEOUT * 3)
        except Exception:  # noqa: BLE001 raised, with its one line, by the first signed request
            pass

    # -- boto3-shaped operations ----------------------------------------------------------------
    def get_paginator(self, name: str) -> _Paginator:
        if name != "list_objects_v2":
            raise ValueError(f"no paginator for {name}")
        return _Paginator(self)

    def list_objects_v2(self, *, Bucket: str, Prefix: str = "", ContinuationToken: str | None = None,  # noqa: N803
                        MaxKeys: int | None = None) -> dict:
        # encoding-type=url as botocore asks: keys with characters XML 1.0 cannot carry still list.
        query = [("encoding-type", "url"), ("list-type", "2"), ("prefix", Prefix)]
        if ContinuationToken:
            query.append(("continuation-token", ContinuationToken))
        if MaxKeys:
            query.append(("max-keys", str(int(MaxKeys))))
        root = self._xml(self._call("GET", Bucket, "", query=query))
        contents = []
        for element in root:
            if _local_name(element.tag) != "Contents":
                continue
            key = urllib.parse.unquote_plus(_child_text(element, "Key") or "")
            modified = _child_text(element, "LastModified") or ""
            try:
                moment = datetime.fromisoformat(modified.replace("Z", "+00:00"))
            except ValueError:
                raise S3Error(200, "MalformedReply", f"LastModified {modified[:40]!r} of a listed key") from None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            size = _child_text(element, "Size")
            contents.append({"Key": key, "LastModified": moment.astimezone(timezone.utc),
                             "Size": int(size) if size and size.isdigit() else 0,
                             "ETag": _child_text(element, "ETag")})
        page = {"Contents": contents, "IsTruncated": (_child_text(root, "IsTruncated") or "").lower() == "true"}
        token = _child_text(root, "NextContinuationToken")
        if token:
            page["NextContinuationToken"] = token
        return page

    def get_object(self, *, Bucket: str, Key: str, IfMatch: str | None = None) -> dict:  # noqa: N803
        headers = {"If-Match": IfMatch} if IfMatch else {}
        conn, response = self._call("GET", Bucket, Key, headers=headers, stream=True)
        header = response.getheader("Content-Length")
        length = int(header) if header and header.isdigit() else None
        return {"Body": StreamingBody(self, conn, response, length), "ContentLength": length,
                "ETag": response.getheader("ETag")}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, IfNoneMatch: str | None = None,  # noqa: N803
                   ContentType: str | None = None, ServerSideEncryption: str | None = None,
                   SSEKMSKeyId: str | None = None) -> dict:
        headers = _write_headers(ContentType, ServerSideEncryption, SSEKMSKeyId)
        if IfNoneMatch:
            headers["If-None-Match"] = IfNoneMatch
        return {"ETag": self._call("PUT", Bucket, Key, headers=headers, body=bytes(Body), object_data=True)}

    def create_multipart_upload(self, *, Bucket: str, Key: str, ContentType: str | None = None,  # noqa: N803
                                ServerSideEncryption: str | None = None, SSEKMSKeyId: str | None = None) -> dict:
        headers = _write_headers(ContentType, ServerSideEncryption, SSEKMSKeyId)
        root = self._xml(self._call("POST", Bucket, Key, query=[("uploads", "")], headers=headers))
        upload_id = _child_text(root, "UploadId")
        if not upload_id:
            raise S3Error(200, "MalformedReply", "CreateMultipartUpload's reply has no UploadId")
        return {"UploadId": upload_id}

    def upload_part(self, *, Bucket: str, Key: str, UploadId: str, PartNumber: int, Body: bytes) -> dict:  # noqa: N803
        etag = self._call("PUT", Bucket, Key, query=[("partNumber", str(int(PartNumber))), ("uploadId", UploadId)],
                          body=bytes(Body), object_data=True)
        return {"ETag": etag}

    def complete_multipart_upload(self, *, Bucket: str, Key: str, UploadId: str, MultipartUpload: dict,  # noqa: N803
                                  IfNoneMatch: str | None = None) -> dict:
        from xml.sax.saxutils import escape
        parts = "".join(f"<Part><PartNumber>{int(p['PartNumber'])}</PartNumber><ETag>{escape(p['ETag'])}</ETag></Part>"
                        for p in MultipartUpload["Parts"])
        body = (f'<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{parts}'
                "</CompleteMultipartUpload>").encode()
        headers = {"Content-Type": "application/xml"}
        if IfNoneMatch:
            headers["If-None-Match"] = IfNoneMatch
        root = self._xml(self._call("POST", Bucket, Key, query=[("uploadId", UploadId)], headers=headers, body=body,
                                    check_200_error=True))
        return {"ETag": _child_text(root, "ETag")}

    def abort_multipart_upload(self, *, Bucket: str, Key: str, UploadId: str) -> dict:  # noqa: N803
        self._call("DELETE", Bucket, Key, query=[("uploadId", UploadId)])
        return {}

    # -- requests -------------------------------------------------------------------------------
    def _xml(self, data: bytes):
        root = _parse_xml(data)
        if root is None:
            raise S3Error(200, "MalformedReply", "the reply is not XML")
        return root

    def _call(self, method: str, bucket: str, key: str, query=(), headers=None, body: bytes = b"",
              stream: bool = False, check_200_error: bool = False, object_data: bool = False):
        """One operation with botocore's standard retries. Returns the reply's body (bytes; the
        ETag header's value for a PUT without a reply body), or (connection, response) with
        ``stream``: the caller reads the body."""
        host, target = self._target(bucket, key, query)
        headers = dict(headers or {})
        if body:
            headers["Content-MD5"] = base64.b64encode(hashlib.md5(body).digest()).decode()
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._attempt(method, host, target, headers, body, stream, check_200_error, object_data)
            except S3Error as exc:
                retry = exc.status in RETRY_STATUSES or exc.code in RETRY_CODES
                if not retry or attempt >= MAX_ATTEMPTS:
                    raise
            except S3TransportError:
                if attempt >= MAX_ATTEMPTS:
                    raise
            self._sleep(min(BACKOFF_CAP, random.random() * BACKOFF_BASE * 2 ** (attempt - 1)))

    def _target(self, bucket: str, key: str, query=()) -> tuple[str, str]:
        """(host, path?query) of a request. Parameters go in SigV4's canonical order; "uploads"
        is a flag without a value, as botocore sends it."""
        host, path = self.config.address(bucket, key)
        if not query:
            return host, path
        return host, path + "?" + "&".join(f"{_quote_param(k)}={_quote_param(v)}" if k != "uploads" else k
                                           for k, v in sorted(query))

    def _sign(self, method: str, host: str, target: str, headers: dict, body: bytes,
              object_data: bool = False) -> list[tuple[str, str]]:
        auth = self._auth
        from awscrt import http as crt_http
        if object_data and not self.sign_payload:
            payload = UNSIGNED_PAYLOAD  # an object's bytes over TLS, with their Content-MD5 (see __init__)
        else:
            payload = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
        request = crt_http.HttpRequest(method, target, crt_http.HttpHeaders([("Host", host), *headers.items()]))
        config = auth.AwsSigningConfig(
            algorithm=auth.AwsSigningAlgorithm.V4, signature_type=auth.AwsSignatureType.HTTP_REQUEST_HEADERS,
            credentials_provider=self._credentials, region=self.config.region, service="s3",
            date=self._clock() if self._clock else None,
            use_double_uri_encode=False, should_normalize_uri_path=False, signed_body_value=payload,
            signed_body_header_type=auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256)
        try:
            auth.aws_sign_request(request, config).result(CONNECT_TIMEOUT * 6)
        except Exception as exc:  # noqa: BLE001 awscrt's AwsCrtError names the source that failed
            name = getattr(exc, "name", "") or type(exc).__name__
            raise S3CredentialsError(f"awscrt: {name}") from None
        return list(request.headers)

    def _attempt(self, method, host, target, headers, body, stream, check_200_error, object_data):
        import http.client
        signed = self._sign(method, host, target, headers, body, object_data)
        for fresh in (False, True):
            conn, reused = self._connection(host, fresh)
            try:
                conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                for name, value in signed:
                    conn.putheader(name, value)
                conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body or None)
                response = conn.getresponse()
                break
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                # A kept-alive connection the server closed meanwhile: once more on a new one.
                if reused and isinstance(exc, (http.client.RemoteDisconnected, BrokenPipeError,
                                               ConnectionResetError, http.client.BadStatusLine)):
                    continue
                raise S3TransportError(self.config.endpoint, _transport_cause(exc)) from None
        status = response.status
        if stream and status in (200, 206):
            return conn, response
        try:
            data = response.read(MAX_XML_BYTES + 1)
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise S3TransportError(self.config.endpoint, _transport_cause(exc)) from None
        if len(data) > MAX_XML_BYTES:
            conn.close()
            raise S3Error(status, "MalformedReply", f"a reply larger than {MAX_XML_BYTES // 2**20} MiB")
        self._give_back(conn, response)
        if status >= 300:
            raise _without_secrets(error_from_reply(status, data if method != "HEAD" else b""), signed)
        if check_200_error:
            root = _parse_xml(data)
            if root is not None and _local_name(root.tag) == "Error":
                # S3 may fail a CompleteMultipartUpload after sending 200: botocore retries it as a 500.
                raise _without_secrets(error_from_reply(500, data), signed)
        if method == "PUT":
            return response.getheader("ETag")
        return data

    def _connection(self, host: str, fresh: bool):
        """(connection, whether it served a request before) for this thread and host."""
        pool = getattr(self._local, "pool", None)
        if pool is None:
            pool = self._local.pool = {}
        conn = None if fresh else pool.pop(host, None)
        if conn is not None:
            return conn, True
        import http.client
        if self._secure:
            conn = http.client.HTTPSConnection(host, timeout=CONNECT_TIMEOUT, context=self._tls_context())
        else:
            conn = http.client.HTTPConnection(host, timeout=CONNECT_TIMEOUT)
        try:
            conn.connect()
        except OSError as exc:
            conn.close()
            raise S3TransportError(self.config.endpoint, _transport_cause(exc)) from None
        conn.sock.settimeout(READ_TIMEOUT)
        conn._pgbackup_host = host
        return conn, False

    def _tls_context(self):
        if self._tls is None:
            import ssl
            self._tls = ssl.create_default_context()  # verifies the certificate and the host name
        return self._tls

    def _give_back(self, conn, response) -> None:
        """Keeps a connection whose reply was read to its end for this thread's next request."""
        if response.will_close or not response.isclosed():
            conn.close()
            return
        pool = getattr(self._local, "pool", None)
        if pool is None:
            pool = self._local.pool = {}
        old = pool.pop(conn._pgbackup_host, None)
        if old is not None and old is not conn:
            old.close()
        pool[conn._pgbackup_host] = conn


def _without_secrets(error: S3Error, signed: list[tuple[str, str]]) -> S3Error:
    """The error with any echo of the request's session token or signature cut out (a proxy or a
    non-AWS endpoint may quote the request back; the secret key itself never leaves awscrt)."""
    secrets = []
    for name, value in signed:
        if name.lower() == "x-amz-security-token":
            secrets.append(value)
        elif name.lower() == "authorization":
            secrets += [value, value.rpartition("Signature=")[2]]
    code, message = error.code, error.message
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        code, message = code.replace(secret, "[redacted]"), message.replace(secret, "[redacted]")
    return error if (code, message) == (error.code, error.message) else S3Error(error.status, code, message)


def _write_headers(content_type, encryption, kms_key_id) -> dict:
    headers = {}
    if content_type:
        headers["Content-Type"] = content_type
    if encryption:
        headers["x-amz-server-side-encryption"] = encryption
    if kms_key_id:
        headers["x-amz-server-side-encryption-aws-kms-key-id"] = kms_key_id
    return headers
