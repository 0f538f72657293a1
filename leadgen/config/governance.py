"""What the governance pack reads from the stack. The program only records the change request.

The settings are declared once, in the pack (`policies/governance/config.py`, which says why it
lives there); this section turns them into config `Key`s, so Pulumi.yaml and the README are
generated from that declaration, and applies its checks with the program's one-line errors.
"""
from __future__ import annotations

from leadgen.config.base import Key, Values
from leadgen.pack import config as schema

GovernanceConfig = schema.GovernanceConfig

KEYS = [Key(path=s.path, type=s.type, default=s.default, description=s.description, items=s.items, own_url_rule=True)
        for s in schema.SETTINGS]


def build(values: Values) -> GovernanceConfig:
    # values.get types each leaf (and raises naming key and stack file); the checks are the pack's.
    settings, problems = schema.settle({s.path: values.get(s.path) for s in schema.SETTINGS})
    if problems:
        raise values.error(problems[0].path, problems[0].reason)
    return settings
