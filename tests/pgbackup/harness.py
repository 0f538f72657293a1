"""Real servers on loopback for the pgbackup tests and benchmark: PostgreSQL 15 (Debian), moto's S3
server, the Debian Pushgateway, and a small S3 proxy that injects faults between the tool and moto.
"""
from __future__ import annotations

import http.client
import http.server
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg

PG_BIN = Path("/usr/lib/postgresql/15/bin")
REPO = Path(__file__).resolve().parents[2]
PG_USER = "pgtest"  # PostgreSQL refuses to run as root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, what: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer at {url} within {timeout}s")


def _as_pg_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", PG_USER, "--", *cmd] if os.geteuid() == 0 else cmd


class PostgresServer:
    def __init__(self):
        self.port = free_port()
        self.password = secrets.token_urlsafe(12)
        self.dir = Path(tempfile.mkdtemp(prefix="pgbackup-pg-"))
        self.data = self.dir / "data"

    def start(self) -> "PostgresServer":
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(PG_USER)
            except KeyError:
                subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER], check=True)
            shutil.chown(self.dir, PG_USER, PG_USER)
        pwfile = self.dir / "pw"
        pwfile.write_text(self.password + "\n")
        if os.geteuid() == 0:
            shutil.chown(pwfile, PG_USER, PG_USER)
        subprocess.run(_as_pg_user([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-E", "UTF8",
                                    "--no-locale", "--auth=scram-sha-256", f"--pwfile={pwfile}"]),
                       check=True, capture_output=True)
        pwfile.unlink()
        # Durability is not under test; these make the generated database load in seconds.
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50")
        subprocess.run(_as_pg_user([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"),
                                    "-w", "-o", options, "start"]), check=True, capture_output=True)
        return self

    def stop(self) -> None:
        subprocess.run(_as_pg_user([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, dbname: str = "postgres", user: str = "postgres", password: str | None = None,
            port: int | None = None) -> str:
        password = self.password if password is None else password
        return f"postgresql://{user}:{urllib.parse.quote(password, safe='')}@127.0.0.1:{port or self.port}/{dbname}"

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(self.url(dbname), autocommit=True)

    def create_verify_role(self, name: str = "pgbackup_verify") -> str:
        """The least-privilege role verify restores as (LOGIN CREATEDB only); returns its URL."""
        password = secrets.token_urlsafe(12)
        with self.connect() as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(f"{verb} ROLE \"{name}\" LOGIN CREATEDB PASSWORD '{password}'")
        return self.url("postgres", user=name, password=password)

    def create_database(self, name: str) -> str:
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)


class MotoServer:
    """moto's server; ``env`` adds to its environment (e.g. INITIAL_NO_AUTH_ACTION_COUNT, which
    makes it check signatures and IAM permissions after that many requests)."""

    def __init__(self, env: dict | None = None):
        self.port = free_port()
        self.proc = None
        self.env = env

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "MotoServer":
        moto = Path(sys.executable).parent / "moto_server"
        self.proc = subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env={**os.environ, **self.env} if self.env else None)
        wait_http(self.url + "/moto-api/", "moto_server", self.proc)
        return self

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)


class Pushgateway:
    def __init__(self):
        self.port = free_port()
        self.proc = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Pushgateway":
        self.proc = subprocess.Popen(["prometheus-pushgateway", f"--web.listen-address=127.0.0.1:{self.port}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_http(self.url + "/-/ready", "prometheus-pushgateway", self.proc)
        return self

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)


class FaultProxy:
    """Forwards S3 calls to moto; can fail or hold back multipart parts on request.

    ``fail_from_part = N`` answers 500 InternalError to UploadPart N and later; ``hold.clear()``
    makes every UploadPart wait until ``hold.set()``. ``lose_reply_to = suffix``: a PUT of a key
    ending so reaches moto but its reply is replaced by a 500 (a reply lost on the way back);
    ``fail_put_to = suffix``: such a PUT never reaches moto and gets a 500; ``reset_reply_to =
    suffix``: such a PUT reaches moto and the connection is then closed without any reply.
    """

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.fail_from_part: int | None = None
        self.hold = threading.Event()
        self.hold.set()
        self.parts_seen = 0
        self.lose_reply_to: str | None = None
        self.fail_put_to: str | None = None
        self.reset_reply_to: str | None = None
        self.puts_seen: list[str] = []
        proxy = self

        def _matches(handler, suffix):
            return suffix is not None and handler.command == "PUT" and \
                urllib.parse.urlsplit(handler.path).path.endswith(suffix)

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _error(self):
                payload = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>'
                           b"<Message>injected failure</Message></Error>")
                self.send_response(500)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                if self.command == "PUT":
                    proxy.puts_seen.append(urllib.parse.urlsplit(self.path).path)
                if _matches(self, proxy.fail_put_to):
                    self._error()
                    return
                if self.command == "PUT" and "partNumber" in query and "uploadId" in query:
                    proxy.parts_seen += 1
                    proxy.hold.wait()
                    if proxy.fail_from_part is not None and int(query["partNumber"][0]) >= proxy.fail_from_part:
                        payload = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>'
                                   b"<Message>injected failure</Message></Error>")
                        self.send_response(500)
                        self.send_header("Content-Type", "application/xml")
                        self.send_header("Content-Length", str(len(payload)))
                        self.end_headers()
                        self.wfile.write(payload)
                        return
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "transfer-encoding")}
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                if _matches(self, proxy.lose_reply_to):
                    conn.close()
                    self._error()
                    return
                if _matches(self, proxy.reset_reply_to):
                    conn.close()
                    self.close_connection = True
                    return
                self.send_response(response.status)
                for k, v in response.getheaders():
                    if k.lower() not in ("connection", "transfer-encoding", "content-length", "server", "date"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> "FaultProxy":
        self.thread.start()
        return self

    def reset(self) -> None:
        self.fail_from_part = None
        self.parts_seen = 0
        self.lose_reply_to = self.fail_put_to = self.reset_reply_to = None
        self.puts_seen = []
        self.hold.set()

    def stop(self) -> None:
        self.hold.set()
        self.server.shutdown()


def aws_env(endpoint: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1", "PYTHONPATH": str(REPO)})
    return env


# -- the generated database -------------------------------------------------------------------------
SCHEMA_SQL = r"""
CREATE SCHEMA sales;
CREATE SCHEMA audit;
CREATE SCHEMA "Mixed Case";

CREATE TABLE public.leads (
    id bigint PRIMARY KEY,
    full_name text NOT NULL,
    email text,
    score numeric(6,2),
    tags text[],
    attributes jsonb,
    photo bytea,
    created_at timestamptz NOT NULL
);
INSERT INTO public.leads
SELECT g,
       (ARRAY['Zoë Ångström', '李小龙', 'José Müller', 'Ørsted 🚀', 'O''Brien "quoted"', E'tab\tand\nnewline'])[1 + g % 6] || ' #' || g,
       CASE WHEN g % 7 = 0 THEN NULL ELSE 'lead' || g || '@example.com' END,
       CASE WHEN g % 11 = 0 THEN NULL ELSE (g % 10000) / 100.0 END,
       CASE WHEN g % 5 = 0 THEN NULL ELSE (ARRAY['auto', 'home', NULL, 'life ✓'])[1:1 + g % 4] END,
       jsonb_build_object('source', 'web', 'n', g, 'nested', jsonb_build_object('ü', g % 3, 'list', jsonb_build_array(g, NULL, 'x'))),
       CASE WHEN g % 3 = 0 THEN NULL ELSE decode(md5(g::text), 'hex') END,
       timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute'
FROM generate_series(1, 100000) AS g;

CREATE TABLE sales.quotes (
    id serial PRIMARY KEY,
    lead_id bigint NOT NULL REFERENCES public.leads(id),
    premium numeric(12,2),
    coverages int[],
    notes text
);
INSERT INTO sales.quotes (lead_id, premium, coverages, notes)
SELECT 1 + (g * 7) % 100000, g * 1.5, ARRAY[g % 3, g % 5, NULL], CASE WHEN g % 2 = 0 THEN NULL ELSE 'Prämie €' || g END
FROM generate_series(1, 20000) AS g;

CREATE TABLE audit.events (id bigserial PRIMARY KEY, payload jsonb NOT NULL, at timestamptz DEFAULT now());
INSERT INTO audit.events (payload) SELECT jsonb_build_object('event', 'viewed', 'lead', g) FROM generate_series(1, 10000) AS g;

CREATE TABLE "Mixed Case"."Odd ""Table"" ü" (k text PRIMARY KEY, v text);
INSERT INTO "Mixed Case"."Odd ""Table"" ü" VALUES ('a', 'ä'), ('b', NULL);

CREATE TABLE public.empty_table (id int);
CREATE VIEW sales.big_quotes AS SELECT * FROM sales.quotes WHERE premium > 1000;

CREATE TABLE public.documents (id int PRIMARY KEY, content oid);
INSERT INTO public.documents VALUES (1, lo_from_bytea(0, convert_to(repeat('policy document ✓ ', 5000), 'UTF8')));

CREATE TABLE public.attachments (id int PRIMARY KEY, data bytea NOT NULL);
"""


# ``random_mib`` rows of 1 MiB of random bytes each, made inside the server (pgcrypto's
# gen_random_bytes, 1 KiB a call): a gigabyte takes seconds instead of a gigabyte of hex-escaped
# COPY text through the client. The extension lives in its own schema only while the rows are
# made, so the dump does not carry it.
_RANDOM_ROWS_SQL = """
CREATE SCHEMA pgbackup_gen;
CREATE EXTENSION pgcrypto SCHEMA pgbackup_gen;
INSERT INTO public.attachments (id, data)
SELECT i, (SELECT string_agg(pgbackup_gen.gen_random_bytes(1024), ''::bytea)
           FROM generate_series(1, 1024) WHERE i IS NOT NULL)
FROM generate_series(0, {rows} - 1) AS i;
DROP EXTENSION pgcrypto;
DROP SCHEMA pgbackup_gen;
"""


def generate_database(server: PostgresServer, name: str, random_mib: int = 24) -> str:
    """Builds the test database: over 130,000 rows in four schemas, plus incompressible bytes so
    the dump spans several 5 MiB parts (or, for the benchmark, about a gigabyte)."""
    url = server.create_database(name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCHEMA_SQL)
        if random_mib:
            conn.execute(_RANDOM_ROWS_SQL.format(rows=int(random_mib)))
        conn.execute("ANALYZE")
    return url


def table_fingerprints(url: str) -> dict[str, str]:
    """md5 over every row's text form, per table, plus one entry per large object."""
    out = {}
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute("""SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
                                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                                 WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                                   AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1""").fetchall()
        for (table,) in tables:
            out[table] = conn.execute(
                f"SELECT count(*) || ':' || coalesce(md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))), '') FROM {table} t"
            ).fetchone()[0]
        for oid, digest in conn.execute("SELECT oid, md5(lo_get(oid)) FROM pg_largeobject_metadata ORDER BY oid"):
            out[f"largeobject:{oid}"] = digest
    return out
