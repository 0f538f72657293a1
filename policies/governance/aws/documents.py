"""IAM policy documents as the guardrails read them: the JSON text a resource carries, parsed once,
as a list of statements. Read by the IAM rules (identity and trust policies) and the S3 bucket-policy
rule."""
from __future__ import annotations

import functools
import json
from typing import Iterator

from ..values import Unknown, is_unknown


@functools.lru_cache(maxsize=1024)
def parsed(text: str) -> object:
    """A policy document parsed once: several IAM rules read the same document."""
    try:
        return json.loads(text)
    except ValueError:
        return None


def statements(document: object) -> Iterator[dict]:
    if isinstance(document, str):
        if is_unknown(document):
            raise Unknown("policy")
        document = parsed(document)
    if isinstance(document, dict):
        statements = document.get("Statement", [])
        for s in statements if isinstance(statements, list) else [statements]:
            if isinstance(s, dict):
                yield s


def is_star(value: object) -> bool:
    return value == "*" or (isinstance(value, list) and "*" in value)
