"""platformctl's floors hold: commands never import one another, plugins are the ones their
registry lists, only `platformctl.pack` reaches the policy pack, and running one command loads
no other."""
import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from platformctl import cli
from platformctl.program import mocks
from platformctl.project import ROOT
from platformctl.render import EXTENSIONS

PACKAGE = ROOT / "platformctl"


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth in the file (lazy imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _modules(folder: Path) -> set[str]:
    return {".".join(p.relative_to(ROOT).with_suffix("").parts) for p in folder.glob("*.py")
            if p.name != "__init__.py"}


@pytest.mark.parametrize("path", sorted((PACKAGE / "commands").glob("*.py")), ids=lambda p: p.name)
def test_no_command_imports_another(path):
    others = _modules(PACKAGE / "commands") - {f"platformctl.commands.{path.stem}"}
    assert sorted(_imports(path) & others) == []


def test_the_registry_names_every_command_module_and_each_has_the_entry_points():
    assert {info.module for info in cli.COMMANDS.values()} == _modules(PACKAGE / "commands")
    for info in cli.COMMANDS.values():
        module = importlib.import_module(info.module)
        assert callable(module.add_arguments) and callable(module.main), info.module


def test_plugins_are_the_ones_the_registries_list():
    assert set(EXTENSIONS) == _modules(PACKAGE / "render")
    assert set(mocks.DOMAINS) == _modules(PACKAGE / "program" / "mocks")


def _reaches_the_pack(module: str) -> bool:
    # Either spelling: `governance.*` as the pack names itself, or `policies.governance.*`, the twin
    # a process gets when it imports the pack folder as a namespace package from the project root.
    return any(module == m or module.startswith(m + ".") for m in ("governance", "policies", "leadgen.pack"))


def test_only_the_pack_module_reaches_the_pack_or_edits_sys_path():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "pack.py" and path.parent == PACKAGE:
            continue
        source = path.read_text()
        if "sys.path" in source or any(_reaches_the_pack(m) for m in _imports(path)):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_layout_scan_sees_both_spellings_of_the_pack(tmp_path):
    for line in ("from policies.governance import strictread", "from governance.strictread import ReadError",
                 "import leadgen.pack"):
        probe = tmp_path / "probe.py"
        probe.write_text(line + "\n")
        assert any(_reaches_the_pack(m) for m in _imports(probe)), line


def test_a_command_loads_only_its_own_module():
    probe = ("import sys; from platformctl import cli; cli.build_parser('gate').parse_args(['gate', '--stack', 'x']); "
             "print(sorted(m for m in sys.modules if m.startswith('platformctl.commands.')))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['platformctl.commands.gate']"
