"""The errors a user can fix. Each one's str() is the single line printed before a non-zero exit;
commands catch them, print `platformctl <command>: <line>` and never show a traceback."""
from __future__ import annotations


class InputError(Exception):
    """Bad input of any kind: a flag, a file, a stack name, a config value."""


class StackError(Exception):
    """A stack that cannot be run: unknown name, unreadable stack file."""


class ProgramError(Exception):
    """The program failed: a config error or an exception of its own."""


def terminal_line(text: object) -> str:
    """An error line as it may reach a terminal or CI log: credentials in URLs and Pulumi
    ciphertext redacted, control characters (ANSI escapes, CR, NUL, bidi) shown as `\\x1b`, so a
    URN, stack name or config key cannot repaint the screen or forge a line."""
    from platformctl.reports.escape import Escaper

    return Escaper().terminal(text)


class TerminalStream:
    """stderr for the length of a command: every line written is passed through `terminal_line`,
    so no command's error message (whatever it quotes) writes a control character raw."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write("\n".join(terminal_line(part) if part else "" for part in str(text).split("\n")))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def __getattr__(self, name: str):
        return getattr(self._stream, name)
