"""The errors a user can fix. Each one's str() is the single line printed before a non-zero exit;
commands catch them, print `platformctl <command>: <line>` and never show a traceback."""
from __future__ import annotations


class InputError(Exception):
    """Bad input of any kind: a flag, a file, a stack name, a config value."""


class StackError(Exception):
    """A stack that cannot be run: unknown name, unreadable stack file."""


class ProgramError(Exception):
    """The program failed: a config error or an exception of its own."""
