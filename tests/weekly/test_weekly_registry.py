"""One registry lists every section, and every section it lists is there, in the runbook's terms."""
from __future__ import annotations

import importlib

from weeklykit import SECTIONS

from platformctl.weekly import sections as registry


def test_the_registry_lists_the_eight_sections_and_each_is_installed():
    assert registry.SECTIONS == SECTIONS
    for key in registry.SECTIONS:
        module = importlib.import_module(f"platformctl.weekly.sections.{key}")
        assert module.KEY == key and module.TITLE and callable(module.assess), key


def test_the_checklist_maps_the_runbooks_eleven_items_to_sections():
    assert len(registry.CHECKLIST) == 11
    assert {key for _, key in registry.CHECKLIST} == set(SECTIONS) - {"changes"}
