"""SSH signatures over change requests and pipeline attestations, as git signs commits.

An approval is only worth something if it cannot be written by the requester. `ssh-keygen -Y sign`
gives that with tools every engineer already has (the same format `git commit -S` uses with
`gpg.format=ssh`), and `ssh-keygen -Y verify` checks it against an `allowed_signers` file whose
changes go through CODEOWNERS review. Nothing here keeps a private key: signing is done by the
approver's own key file or agent.

The signed message is the change request's canonical content (the parsed document without its
`approvals`, as sorted compact JSON) plus the approver, role and time the approval claims, so
editing any field of the request after an approval, or moving an approval to another role or
time, invalidates the signature.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import pathlib
import re
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Any, Mapping, Optional

APPROVAL_NAMESPACE = "leadgen-change-approval"
ATTESTATION_NAMESPACE = "leadgen-promotion-attestation"
# ssh-keygen answers in milliseconds; a hung agent or a prompt for a passphrase must not hold the gate.
TIMEOUT_S = 10.0
SIGNATURE_HEADER = "-----BEGIN SSH SIGNATURE-----"
# `Good "<namespace>" signature for <principal> with <TYPE> key SHA256:<fingerprint>`
_FINGERPRINT = re.compile(r" key (SHA256:[A-Za-z0-9+/=]+)")


class SigningError(Exception):
    """One line: why a signature could not be made or checked."""


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str  # "" when ok
    fingerprint: str = ""  # SHA256 fingerprint of the key that made a good signature


def _plain(value: Any) -> Any:
    """JSON-ready copy with times as UTC ISO 8601 (YAML hands us datetimes)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.isoformat()
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def canonical_json(document: Mapping[str, Any], *, drop: tuple[str, ...] = ()) -> bytes:
    """Sorted, compact, UTF-8 JSON of `document` without the keys in `drop`."""
    body = {k: v for k, v in document.items() if k not in drop}
    return json.dumps(_plain(body), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def _utc(at: dt.datetime) -> str:
    if at.tzinfo is None:
        raise SigningError("an approval time needs a time zone")
    return at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def approval_message(document: Mapping[str, Any], *, by: str, role: str, at: dt.datetime) -> bytes:
    """The exact bytes an approver signs (what `platformctl change digest` prints)."""
    return approval_message_for(canonical_json(document, drop=("approvals",)), by=by, role=role, at=at)


def approval_message_for(canonical: bytes, *, by: str, role: str, at: dt.datetime, commit: str = "",
                         config: tuple[tuple[str, str], ...] = ()) -> bytes:
    """The same bytes from a request's canonical content (`changes.ChangeRequest.canonical`), and,
    when the approval binds them, the program commit and each stack's config digest: so neither
    another commit nor an edited stack file can ship under the signature (binding.py)."""
    message = (b"leadgen change approval v1\n" + canonical
               + f"\nby={by}\nrole={role}\nat={_utc(at)}\n".encode("utf-8"))
    if commit or config:
        message += f"commit={commit}\n".encode("ascii")
        message += "".join(f"config.{stack}={digest}\n" for stack, digest in sorted(config)).encode("utf-8")
    return message


def attestation_message(fields: Mapping[str, Any]) -> bytes:
    """The exact bytes a pipeline signs for a promotion attestation (without its signature)."""
    return b"leadgen promotion attestation v1\n" + canonical_json(fields, drop=("signature",)) + b"\n"


def _run(argv: list[str], message: bytes) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, input=message, capture_output=True, timeout=TIMEOUT_S,
                              env={**os.environ, "SSH_ASKPASS_REQUIRE": "never"})
    except FileNotFoundError:
        raise SigningError("ssh-keygen is not installed (Debian: openssh-client)") from None
    except subprocess.TimeoutExpired:
        raise SigningError(f"ssh-keygen did not answer within {TIMEOUT_S:g} s") from None


def _first_line(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip().splitlines()
    return text[-1].strip() if text else "no reason given"


def sign(message: bytes, *, key_file: pathlib.Path, namespace: str) -> str:
    """An armored SSH signature of `message` by `key_file` (a private key, or a public key whose
    private half is in the running ssh-agent)."""
    with tempfile.TemporaryDirectory(prefix="leadgen-sign-") as tmp:
        data = pathlib.Path(tmp) / "message"
        data.write_bytes(message)
        proc = _run(["ssh-keygen", "-q", "-Y", "sign", "-f", str(key_file), "-n", namespace, str(data)],
                    b"")
        if proc.returncode != 0:
            raise SigningError(f"ssh-keygen could not sign with {key_file}: {_first_line(proc.stderr)}")
        return (pathlib.Path(tmp) / "message.sig").read_text(encoding="ascii")


def verify(message: bytes, signature: str, *, identity: str, allowed_signers: pathlib.Path,
           namespace: str) -> Verdict:
    """Whether `signature` over `message` was made by a key `allowed_signers` lists for `identity`
    (and for `namespace`, where the file restricts namespaces)."""
    if not isinstance(signature, str) or SIGNATURE_HEADER not in signature:
        return Verdict(False, "is not an SSH signature (ssh-keygen -Y sign)")
    if not identity or any(c.isspace() or c in ",*?!\"" for c in identity):
        return Verdict(False, f"signer {identity!r} is not a plain principal")
    if not allowed_signers.is_file():
        return Verdict(False, f"{allowed_signers.name} not found")
    with tempfile.TemporaryDirectory(prefix="leadgen-verify-") as tmp:
        sig = pathlib.Path(tmp) / "message.sig"
        sig.write_text(signature, encoding="ascii", errors="replace")
        try:
            proc = _run(["ssh-keygen", "-Y", "verify", "-f", str(allowed_signers), "-I", identity,
                         "-n", namespace, "-s", str(sig)], message)
        except SigningError as err:
            return Verdict(False, str(err))
    if proc.returncode == 0:
        found = _FINGERPRINT.search(proc.stdout.decode("utf-8", "replace"))
        return Verdict(True, "", found.group(1) if found else "")
    return Verdict(False, f"signature does not verify for {identity} ({_first_line(proc.stderr)})")


def fingerprint_of(public_key_line: str) -> Optional[str]:
    """SHA256 fingerprint of one `ssh-... AAAA...` line, or None when it is not a public key."""
    with tempfile.TemporaryDirectory(prefix="leadgen-fp-") as tmp:
        path = pathlib.Path(tmp) / "key.pub"
        path.write_text(public_key_line.strip() + "\n", encoding="utf-8")
        try:
            proc = _run(["ssh-keygen", "-l", "-f", str(path)], b"")
        except SigningError:
            return None
    if proc.returncode != 0:
        return None
    parts = proc.stdout.decode().split()
    return parts[1] if len(parts) > 1 else None
