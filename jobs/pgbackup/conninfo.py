"""libpq's own parser for connection strings, without a database driver.

``PQconninfoParse`` is the function psql, pg_dump and pg_restore run on the same text, so every
form libpq accepts (``postgresql://`` URLs, ``key=value`` strings, percent-encoding, several hosts)
means here exactly what it will mean to them. It is called through ctypes: loading libpq takes a
few milliseconds, where importing a driver for it took a seventh of a second before pg_dump could
start. The library is the one the libpq tools use (libpq5, a dependency of postgresql-client).
"""
from __future__ import annotations

import ctypes
import functools

from jobs.pgbackup.errors import PgBackupError

_LIBRARIES = ("libpq.so.5", "libpq.5.dylib")


class ConninfoError(ValueError):
    """libpq refused the text; the message is libpq's, which may quote the text (password included)."""


class _Option(ctypes.Structure):
    # PQconninfoOption, libpq-fe.h: stable since PostgreSQL 7.
    _fields_ = [("keyword", ctypes.c_char_p), ("envvar", ctypes.c_char_p), ("compiled", ctypes.c_char_p),
                ("val", ctypes.c_char_p), ("label", ctypes.c_char_p), ("dispchar", ctypes.c_char_p),
                ("dispsize", ctypes.c_int)]


def _load():
    for name in _LIBRARIES:
        try:
            return ctypes.CDLL(name)
        except OSError:
            pass
    from ctypes.util import find_library  # runs ldconfig or a compiler: only when the usual names fail
    name = find_library("pq")
    if name is None:
        raise PgBackupError("libpq is not installed (the libpq5 package, which postgresql-client depends on)")
    return ctypes.CDLL(name)


@functools.lru_cache(maxsize=None)
def _libpq():
    lib = _load()
    lib.PQconninfoParse.restype = ctypes.POINTER(_Option)
    lib.PQconninfoParse.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
    lib.PQconninfoFree.argtypes = [ctypes.POINTER(_Option)]
    lib.PQfreemem.argtypes = [ctypes.c_void_p]
    return lib


def parse(text: str) -> dict[str, str]:
    """The parameters ``text`` sets, as libpq reads them (nothing from the environment)."""
    lib = _libpq()
    errmsg = ctypes.c_void_p()
    options = lib.PQconninfoParse(text.encode(), ctypes.byref(errmsg))
    if not options:
        message = ctypes.string_at(errmsg.value).decode(errors="replace").strip() if errmsg.value else "out of memory"
        if errmsg.value:
            lib.PQfreemem(errmsg)
        raise ConninfoError(message)
    try:
        params, i = {}, 0
        while options[i].keyword is not None:
            if options[i].val is not None:
                params[options[i].keyword.decode()] = options[i].val.decode(errors="surrogateescape")
            i += 1
        return params
    finally:
        lib.PQconninfoFree(options)


def _quote(value: str) -> str:
    # libpq's key=value syntax: single quotes around anything empty or with a space, backslash
    # escapes for quotes and backslashes (the form psycopg's make_conninfo writes too).
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'" if not value or any(c.isspace() for c in value) or escaped != value else value


def make(params: dict[str, str]) -> str:
    """A ``key=value`` connection string for ``params``, which ``parse`` reads back unchanged."""
    return " ".join(f"{key}={_quote(str(value))}" for key, value in params.items())
