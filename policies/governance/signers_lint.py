"""What `governance/allowed_signers` may say, checked line by line.

ssh-keygen accepts far more than an approver directory should: a pattern principal
(`*@example.com`) lets one key sign as every address of a domain, a line listing several principals
(`lead@x,cab@x`) or one key listed under two addresses lets one person approve as two, a key without
a `namespaces=` restriction also verifies signatures made for anything else (git commits, files),
and `cert-authority` hands approval to whoever holds a certificate. Each of those once made "two
different people" one key. So every problem is one line naming the line number and the cause, and
a file with any problem verifies no approval at all (approvers.py), which fails closed.
"""
from __future__ import annotations

import re
import shlex

from . import changes, signing

SHOWN = "governance/allowed_signers"
NAMESPACES = (signing.APPROVAL_NAMESPACE, signing.ATTESTATION_NAMESPACE)
_KEY_TYPE = re.compile(r"^(?:ssh-|ecdsa-|sk-)[a-z0-9@.-]+$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")


def _options(text: str) -> list[str]:
    """`namespaces="a,b",valid-after=2026...` split on the commas outside quotes."""
    out, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            out.append(current)
            current = ""
        else:
            current += char
    out.append(current)
    return [o for o in out if o]


def lint(text: str) -> list[str]:
    problems: list[str] = []
    owners: dict[tuple[str, str], tuple[str, int]] = {}  # (type, key) -> (principal, line)
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{SHOWN}: line {number}"
        try:
            tokens = shlex.split(line, comments=False, posix=True)
        except ValueError:
            problems.append(f"{where} is not an allowed_signers line (unbalanced quotes)")
            continue
        if len(tokens) >= 3 and _KEY_TYPE.match(tokens[1]):
            principal, options, key_type, key = tokens[0], [], tokens[1], tokens[2]
        elif len(tokens) >= 4 and _KEY_TYPE.match(tokens[2]):
            principal, options, key_type, key = tokens[0], _options(tokens[1]), tokens[2], tokens[3]
        else:
            problems.append(f"{where} is not an allowed_signers line (address, namespaces=, key type, key)")
            continue
        if "," in principal:
            problems.append(f"{where} lists several principals ({principal}); one address per line, one key each")
            continue
        if any(c in principal for c in "*?!"):
            problems.append(f"{where}: {principal} is a pattern, which lets one key sign as many addresses; name "
                            "one address")
            continue
        if not changes.EMAIL.match(principal):
            problems.append(f"{where}: {principal!r} is not an e-mail address")
            continue
        if not _BASE64.match(key):
            problems.append(f"{where}: {principal}'s key is not a base64 public key")
            continue
        names = [o.split("=", 1) for o in options]
        if any(o[0].lower() == "cert-authority" for o in names):
            problems.append(f"{where}: {principal} is a certificate authority; list the person's own key")
            continue
        spaces = [o[1].strip('"') for o in names if o[0].lower() == "namespaces" and len(o) == 2]
        allowed = {n.strip() for n in spaces[0].split(",")} if spaces else set()
        if not spaces or not allowed or not allowed <= set(NAMESPACES):
            problems.append(f'{where}: {principal}\'s key must be restricted to namespaces="{NAMESPACES[0]}" '
                            f'(approvers) or "{NAMESPACES[1]}" (the pipeline)')
            continue
        seen = owners.get((key_type, key))
        if seen is not None and seen[0].casefold() != principal.casefold():
            problems.append(f"{where}: {principal}'s key is also listed for {seen[0]} (line {seen[1]}); one key is "
                            "one person")
            continue
        owners.setdefault((key_type, key), (principal, number))
    return problems
