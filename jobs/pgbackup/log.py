"""One JSON object per line on stdout for each step, so the CronJob's logs can be queried.

Every line the tool writes, on stdout or stderr, goes through ``safe()``: the credentials the run
was given (database passwords, the Pushgateway's user:password) are replaced by ``***`` wherever
they appear (by value, so a password that ends up in an unexpected place, a libpq message or a
mangled URL, is still caught), and control characters are shown as escapes so a manifest field or
a server message cannot move the cursor, rewrite a line or forge a new one.
"""
import json
import re
import sys
import time
from urllib.parse import quote
from datetime import datetime, timezone

REDACTED = "***"
# Shorter values would blank out ordinary words; the URL parsers drop them from every message
# they build anyway, so only a value the tool never meant to print is caught here.
_MIN_SECRET = 4
_SECRETS: set[str] = set()

# C0 and C1 controls, DEL, and the invisible formatting characters that reorder or hide text
# (bidi overrides, zero-width characters, line/paragraph separators, BOM).
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def secret(value) -> None:
    """Registers a credential: no line this process writes will contain it."""
    if isinstance(value, str) and len(value) >= _MIN_SECRET:
        _SECRETS.add(value)
        # The same value as it appears inside a JSON string or percent-encoded in a URL.
        _SECRETS.add(json.dumps(value)[1:-1])
        _SECRETS.add(quote(value, safe=""))


def redact(text: str) -> str:
    for value in sorted(_SECRETS, key=len, reverse=True):
        if value in text:
            text = text.replace(value, REDACTED)
    return text


def _show(match: re.Match) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text) -> str:
    """``text`` with every control and invisible formatting character shown as an escape."""
    return _INVISIBLE.sub(_show, str(text))


def safe(text) -> str:
    """What may be written to a terminal or a log: credentials redacted, controls escaped."""
    return visible(redact(str(text)))


def error_line(message) -> str:
    """The single stderr line of a failed run."""
    return f"pgbackup: {safe(message)}"


class StepLog:
    def __init__(self, command: str, stream=None):
        self.command = command
        self.stream = stream or sys.stdout

    def step(self, step: str, status: str = "ok", **fields) -> None:
        record = {
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "command": self.command,
            "step": step,
            "status": status,
        }
        record.update(fields)
        # json.dumps escapes every control character already; redaction runs on the encoded line.
        self.stream.write(redact(json.dumps(record, sort_keys=False, default=str)) + "\n")
        self.stream.flush()


class Timer:
    """Monotonic stopwatch for the ``seconds`` field of each step."""

    def __init__(self):
        self.start = time.monotonic()

    def seconds(self) -> float:
        return round(time.monotonic() - self.start, 3)
