"""A warm interpreter for the tests' `python -m platformctl ...` subprocesses.

Each such subprocess spends most of its time importing the provider SDKs (pulumi_aws alone is about
three seconds of the four an offline preview takes: bench/preview.py). The runbook blocks start
dozens of them. This module keeps one interpreter per test worker with those third-party modules
imported, and forks it for each command: the child takes the caller's argv, working directory,
environment and standard streams, runs the module as `python -m` would, and its exit code becomes
the caller's.

Only third-party and standard-library modules are ever imported ahead: the repository's own code
(platformctl, leadgen, policies) is imported by each child from its working directory, so a test's
throwaway copy runs its own code. The server learns what to import from its children: each reports
the library modules it imported, and the server imports them before the next fork.

    python tests/warm.py serve SOCKET        # the server (tests/conftest.py starts one per worker)
    python tests/warm.py -m platformctl ...  # a client: runs like `python -m platformctl ...`

A client without a server (no $LEADGEN_TEST_WARM_SOCKET, or nothing listening) execs the real
interpreter, so the result never depends on whether the server is up; only the time does.
Nothing in the program, the pack or platformctl knows this exists.
"""
from __future__ import annotations

import json
import os
import socket
import sys

ENV = "LEADGEN_TEST_WARM_SOCKET"
# What a test runs instead of `sys.executable` for `-m platformctl ...`: this file as the client.
PYTHON = (sys.executable, os.path.abspath(__file__))
# What a child may run: the repository's command line. Anything else runs cold.
MODULES = ("platformctl",)


def client(argv: list[str]) -> int:
    path = os.environ.get(ENV)
    if not path or len(argv) < 2 or argv[0] != "-m" or argv[1] not in MODULES:
        os.execv(sys.executable, [sys.executable, *argv])
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
    except OSError:
        os.execv(sys.executable, [sys.executable, *argv])
    header = json.dumps({"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}).encode()
    socket.send_fds(conn, [len(header).to_bytes(4, "big")], [0, 1, 2])
    conn.sendall(header)
    reply = _read(conn, 4)
    if len(reply) < 4:
        print("warm: the child ended without an exit code", file=sys.stderr)
        return 1
    return int.from_bytes(reply, "big", signed=True)


def _read(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _library_paths() -> tuple[str, ...]:
    import sysconfig
    paths = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    return tuple(os.path.realpath(p) + os.sep for p in paths)


def _library_modules(skip: set[str]) -> list[str]:
    """Names of the imported modules that live in the standard library or site-packages."""
    roots = _library_paths()
    found = []
    for name, module in list(sys.modules.items()):
        if name in skip or name == "__main__" or name.startswith("_pytest"):
            continue
        file = getattr(module, "__file__", None)
        if file and os.path.realpath(file).startswith(roots):
            found.append(name)
    return found


def serve(path: str) -> None:
    import runpy  # noqa: F401  (the children's first need)

    base_path = sys.path[1:]  # the interpreter's own entries; [0] is this file's folder
    learn_dir = path + ".learn"
    os.makedirs(learn_dir, exist_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(8)
    server.settimeout(2)
    parent = os.getppid()
    while True:
        _reap()
        _learn(learn_dir)
        try:
            conn, _ = server.accept()
        except TimeoutError:
            if os.getppid() != parent:  # the worker that started us is gone
                return
            continue
        conn.settimeout(None)
        try:
            head, fds, _, _ = socket.recv_fds(conn, 4, 3)
            head += _read(conn, 4 - len(head))
        except OSError:
            conn.close()
            continue
        if len(head) < 4 or len(fds) != 3:
            conn.close()
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            server.close()
            _child(conn, fds, int.from_bytes(head, "big"), base_path, learn_dir)
        for fd in fds:
            os.close(fd)
        conn.close()


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _learn(learn_dir: str) -> None:
    import importlib

    for entry in os.listdir(learn_dir):
        file = os.path.join(learn_dir, entry)
        try:
            with open(file, encoding="utf-8") as handle:
                names = json.load(handle)
        except (OSError, ValueError):
            names = []
        finally:
            try:
                os.unlink(file)
            except OSError:
                pass
        for name in names:
            if name in sys.modules:
                continue
            try:
                importlib.import_module(name)
            except BaseException:  # noqa: BLE001  (a module that cannot load ahead loads in the child)
                pass


def _child(conn: socket.socket, fds: list[int], size: int, base_path: list[str], learn_dir: str) -> None:
    code = 1
    try:
        header = json.loads(_read(conn, size))
        _exit_with_the_caller(conn)
        for target, fd in zip((0, 1, 2), fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(header["cwd"])
        os.environ.clear()
        os.environ.update(header["env"])
        import time
        time.tzset()
        argv = header["argv"]
        extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:] = [header["cwd"], *extra, *base_path]
        sys.argv = argv[1:]
        before = set(sys.modules)
        code = _run(argv[1])
        try:
            with open(os.path.join(learn_dir, f"{os.getpid()}.json"), "w", encoding="utf-8") as handle:
                json.dump([n for n in _library_modules(before)], handle)
        except OSError:
            pass
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:  # noqa: BLE001
            pass
        try:
            conn.sendall(int(code).to_bytes(4, "big", signed=True))
        finally:
            os._exit(code & 0xFF)


def _exit_with_the_caller(conn: socket.socket) -> None:
    """A caller killed (a test's timeout, say) closes its end: the child ends too, as a process
    whose parent killed it would, instead of running on unseen."""
    import threading

    def watch() -> None:
        try:
            while conn.recv(1):
                pass
        except OSError:
            pass
        os._exit(137)

    threading.Thread(target=watch, name="warm-caller", daemon=True).start()


def _run(module: str) -> int:
    import atexit
    import runpy
    import threading
    import traceback

    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as stop:
        if stop.code is None:
            code = 0
        elif isinstance(stop.code, int):
            code = stop.code
        else:
            print(stop.code, file=sys.stderr)
            code = 1
    except BaseException:  # noqa: BLE001  (what the interpreter would print and exit 1 for)
        traceback.print_exc()
        code = 1
    # As the interpreter ends: wait for non-daemon threads, then run the atexit handlers.
    threading._shutdown()  # noqa: SLF001
    atexit._run_exitfuncs()  # noqa: SLF001
    return code


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2])
    else:
        sys.exit(client(sys.argv[1:]))
