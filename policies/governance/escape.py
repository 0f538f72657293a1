"""Text shown safely wherever the pack's words land: every control and invisible formatting character
in a message, a key or a path is written as an escape (`\\x1b`), so a file or a resource name can
neither repaint a terminal, forge a line nor hide text. The one definition of what must never reach
an output raw: the strict readers' errors, the change-request messages, platformctl's reports
(`platformctl/reports/escape.py` adds each destination's own rules on top) and the program's config
errors all use it.
"""
from __future__ import annotations

import re

# C0 controls (incl. TAB, CR, LF, NUL, ESC), DEL, C1 controls, and the Unicode format characters
# that reorder or hide text (bidi embeddings/overrides/isolates, marks, line/paragraph separators,
# zero-width characters, BOM): the "Trojan Source" set (CVE-2021-42574) and friends.
# Lone surrogates and U+FFFE/U+FFFF (from JSON `\ud800` escapes) are shown too: they cannot be
# written as UTF-8 and XML 1.0 forbids them.
INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff"
                        "\ud800-\udfff\ufffe\uffff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def show(match: re.Match) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: str) -> str:
    """`text` with every control and invisible formatting character shown as an escape (`\\x1b`)."""
    return INVISIBLE.sub(show, str(text))

