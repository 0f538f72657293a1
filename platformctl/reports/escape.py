"""Escaping by destination: every string a report prints passes through one of these.

A report's text comes from URNs, stack names, config keys, policy messages and notes, and any of
them may hold what an attacker or a careless operator put there: ANSI escapes that repaint a
terminal, CR/LF that forge lines, a `=cmd|...` cell a spreadsheet would execute, backticks that
break out of a Markdown code span, `-->` that ends the PR comment's marker, control characters
XML 1.0 forbids, a URL with credentials in it. Each destination has its own rules, so each has
its own function here, and every renderer takes an `Escaper` made for the report it prints.

Redaction comes first and is the same everywhere: credentials inside URLs (`https://***@host`),
credential-like query parameters, Pulumi passphrase ciphertext, and every value the report lists
in `secrets`. Control and invisible formatting characters are then shown visibly (`\\x1b`), by
the pack's `governance.escape.visible`, the one definition of what must never reach an output raw.
"""
from __future__ import annotations

import html
import re
import urllib.parse
from typing import Any, Iterable

from platformctl.pack import escape as _pack_escape

visible = _pack_escape.visible

REDACTED = "***"

# scheme://user:password@host -> scheme://***@host. Up to the LAST "@" before the path: a
# password with an unencoded "@" (user:p@ss@host) is still cut whole, not after its first part.
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/?#\s]*@")
# ?token=... &password=... and the AWS presigned-URL fields that carry a credential or signature.
_SECRET_QUERY = re.compile(
    r"(?i)([?&;](?:password|passwd|pwd|pass|secret|token|access_token|auth|api[_-]?key|apikey|key|sig|signature"
    r"|x-amz-signature|x-amz-credential|x-amz-security-token)=)[^&#\s]+")
# A Pulumi passphrase-provider ciphertext (`v1:<nonce>:<ciphertext>`): what a `secure:` value holds.
_CIPHERTEXT = re.compile(r"\bv1:[A-Za-z0-9+/]{8,}={0,2}:[A-Za-z0-9+/]{8,}={0,2}")

# Punctuation that is markup anywhere in a line (code, emphasis, links, tables, strikethrough),
# backslash-escaped; `<`, `>` and `&` become entities instead.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
# What starts a block (heading, list, quote, setext underline) when it opens a line: text after
# `> ` or `### ` is at a line start too.
_MD_BLOCK_START = re.compile(r"^([#+\-=]|\d+(?=[.)]))")
# Spreadsheet formula triggers (OWASP "CSV Injection"): a cell starting with one is prefixed "'".
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_BACKTICK_RUN = re.compile(r"`+")
_MARKER_UNSAFE = re.compile(r"[^A-Za-z0-9._/\-]|-(?=-)|-$")


class Escaper:
    """The escapers for one report: its secrets are redacted from everything it prints."""

    def __init__(self, secrets: Iterable[str] = ()):
        # Longest first, so a secret containing another is removed whole.
        self._secrets = sorted({str(s) for s in secrets if s is not None and str(s)}, key=len, reverse=True)

    # -- shared --------------------------------------------------------------------------------
    def redact(self, text: Any) -> str:
        text = "" if text is None else str(text)
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        text = _URL_USERINFO.sub(rf"\1{REDACTED}@", text)
        text = _SECRET_QUERY.sub(rf"\1{REDACTED}", text)
        return _CIPHERTEXT.sub(REDACTED, text)

    def plain(self, text: Any) -> str:
        """Redacted, one line, every control character visible: terminal, error lines, SARIF text."""
        return visible(self.redact(text))

    terminal = plain

    # -- destinations --------------------------------------------------------------------------
    def csv(self, text: Any) -> str:
        """A CSV cell: as `plain`, and never a formula (quoting is the csv module's job)."""
        raw = self.redact(text)
        cell = visible(raw)
        if raw.startswith(_FORMULA_START) or cell.startswith(_FORMULA_START):
            cell = "'" + cell
        return cell

    def md_text(self, text: Any) -> str:
        """Markdown text (table cells, headings, quotes): one line, nothing that renders as markup,
        raw HTML, a mention or a table break."""
        cell = html.escape(self.plain(text), quote=False)
        cell = _MD_SPECIAL.sub(r"\\\1", cell)
        cell = _MD_BLOCK_START.sub(lambda m: "\\" + m.group() if not m.group().isdigit() else m.group() + "\\", cell)
        return cell.replace("@", "&#64;")  # `@team` in a PR comment would notify the team

    def md_code(self, text: Any, table: bool = True) -> str:
        """A Markdown code span its content cannot end: the fence is one backtick longer than any
        run inside. In a GFM table `|` still splits cells inside code, so it is escaped there."""
        content = self.plain(text)
        longest = max((len(m.group()) for m in _BACKTICK_RUN.finditer(content)), default=0)
        fence = "`" * (longest + 1)
        # CommonMark strips one space from each end when both are present; pad so only ours go.
        if content.startswith(("`", " ")) or content.endswith(("`", " ")) or not content:
            content = f" {content} "
        if table:
            content = content.replace("|", "\\|")
        return f"{fence}{content}{fence}"

    def html(self, text: Any) -> str:
        """HTML text or a double-quoted attribute value."""
        return html.escape(self.plain(text), quote=True)

    def xml(self, text: Any) -> str:
        """XML 1.0 text or attribute (ElementTree adds the entities): every character XML forbids
        is shown visibly, so a parser always accepts the document."""
        return self.plain(text)

    def uri_part(self, text: Any) -> str:
        """A path segment inside a URI (SARIF artifact locations)."""
        return urllib.parse.quote(self.plain(text), safe="._-")

    def deep(self, value: Any, clean=None) -> Any:
        """Applies `clean` (default `plain`) to every string in JSON-like data, keys included."""
        clean = clean or self.plain
        if isinstance(value, str):
            return clean(value)
        if isinstance(value, dict):
            return {clean(k) if isinstance(k, str) else k: self.deep(v, clean) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.deep(v, clean) for v in value]
        return value


def for_report(report: Any) -> Escaper:
    return Escaper(getattr(report, "secrets", ()) or ())


def marker_id(stack: Any) -> str:
    """The stack as it appears inside the `<!-- ... -->` comment marker: a normal stack name is
    unchanged (so the workflow finds its comment), anything else is percent-encoded, including
    `--`, which may not appear inside an HTML comment, and a trailing `-`."""
    return _MARKER_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8")), str(stack))
