"""Writing a promotion attestation: what `platformctl change attest` does after staging applied a
commit and its smoke tests passed. The format, the signed bytes and the rules are the pack's
(`promotion`, `signing`), reached through platformctl.pack, so what is written here is exactly
what the promotion gate verifies."""
from __future__ import annotations

import datetime as dt
import json
import pathlib
import re
from typing import Sequence

from platformctl.errors import InputError
from platformctl.files import write_atomically

TEST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def render(fields: dict, signature: str) -> str:
    """The attestation file: one field a line, the signature as a literal block."""
    at = fields["at"].astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    tests = ", ".join(fields["smoke_tests"])
    images = "".join(f'\n  {json.dumps(k)}: {json.dumps(v)}' for k, v in sorted(fields["images"].items())) or " {}"
    body = "\n".join(f"  {line}" for line in signature.strip().splitlines())
    return (f"# {fields['stack']} applied {fields['commit']} and these smoke tests passed; signed by the\n"
            f"# pipeline (platformctl change attest). The promotion gate verifies it; do not edit.\n"
            f"stack: {fields['stack']}\ncommit: \"{fields['commit']}\"\nat: \"{at}\"\n"
            f"smoke_tests: [{tests}]\nby: {fields['by']}\nimages:{images}\nsignature: |\n{body}\n")


def attest(root: pathlib.Path, *, stack: str, commit: str, smoke_tests: Sequence[str], key: pathlib.Path,
           at: dt.datetime) -> pathlib.Path:
    """Sign and write `attestations/<commit>.yaml`; InputError (one line) on bad input."""
    from platformctl.pack import promotion, signing

    rules = promotion.load_rules(root)
    if rules.problems or not rules.enabled:
        raise InputError(rules.problems[0] if rules.problems
                         else "governance/approvers.yaml has no promotion section: nothing to attest for")
    if stack != rules.from_stack:
        raise InputError(f"--stack {stack}: attestations are made by {rules.from_stack}, the stack "
                         "governance/approvers.yaml promotes from")
    commit = commit.strip().lower()
    if not promotion.COMMIT.match(commit):
        raise InputError(f"--commit {commit!r} must be a full git commit id: 40 hex digits (SHA-1) or 64 (SHA-256)")
    bad = next((t for t in smoke_tests if not TEST_NAME.match(t)), None)
    if bad is not None or not smoke_tests:
        raise InputError(f"--smoke-tests {bad!r} is not a test name" if bad is not None
                         else "--smoke-tests must name the tests that passed")
    missing = [t for t in rules.smoke_tests if t not in smoke_tests]
    if missing:
        raise InputError(f"--smoke-tests lacks {', '.join(missing)}: governance/approvers.yaml requires them "
                         "to pass before a promotion")
    if not key.exists():
        raise InputError(f"--key {key} does not exist")
    from platformctl.pack import config
    from platformctl.project import pack_config

    # The image tags the attested stack ran, as its resolved config at this checkout sets them: a
    # promoted stack must run the same ones (promotion.py), so a config-only release is soaked too.
    images = dict(config.images_of(pack_config(stack, root)))
    fields = {"stack": stack, "commit": commit, "at": at, "smoke_tests": list(smoke_tests), "by": rules.signer,
              "images": images}
    try:
        signature = signing.sign(promotion.message(fields), key_file=key, namespace=signing.ATTESTATION_NAMESPACE)
    except signing.SigningError as err:
        raise InputError(str(err)) from None
    folder = root / promotion.FOLDER
    folder.mkdir(exist_ok=True)
    path = folder / f"{commit}.yaml"
    write_atomically(path, render(fields, signature))
    return path


