"""Conventions every component follows, read from the source so a new component cannot miss them:
one ComponentResource per file, its token `leadgen:<module>:<Class>`, keyword-only Args."""
import dataclasses
import importlib
import inspect
import re
from pathlib import Path

import pulumi
import pytest

COMPONENTS = Path(__file__).resolve().parents[2] / "components"
MODULES = sorted(p.stem for p in COMPONENTS.glob("*.py") if p.stem != "__init__")
TOKEN = re.compile(r'super\(\).__init__\(\s*"([^"]+)"')
# The node-group component is being reworked elsewhere; its token moves with that work.
def _components(module):
    return [c for _, c in inspect.getmembers(module, inspect.isclass)
            if issubclass(c, pulumi.ComponentResource) and c.__module__ == module.__name__]


@pytest.mark.parametrize("name", MODULES)
def test_args_are_keyword_only(name):
    module = importlib.import_module(f"components.{name}")
    args = [c for _, c in inspect.getmembers(module, dataclasses.is_dataclass)
            if isinstance(c, type) and c.__module__ == module.__name__ and c.__name__.endswith("Args")]
    for cls in args:
        positional = [f.name for f in dataclasses.fields(cls) if not f.kw_only]
        assert positional == [], f"{cls.__name__} takes {positional} by position"


@pytest.mark.parametrize("name", MODULES)
def test_one_component_per_file_with_a_matching_token(name):
    module = importlib.import_module(f"components.{name}")
    classes = _components(module)
    tokens = TOKEN.findall((COMPONENTS / f"{name}.py").read_text())
    if not classes:  # a helper module (helm.py) registers nothing itself
        assert tokens == []
        return
    assert len(classes) == 1, [c.__name__ for c in classes]
    assert tokens == [f"leadgen:{name}:{classes[0].__name__}"]
