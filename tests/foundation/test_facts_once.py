"""Facts the program and the pack share are written once: the addresses that mean "the internet",
the RDS engine, how a KMS key is made, the reader of a stack's config, a file's version key, the
EKS support dates. Each test names where the one copy lives."""
import ast
from pathlib import Path

import pytest

from governance import config as pack_config, stackconfig
from governance.aws import rds
from leadgen import data, kms
from leadgen.config import base

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "policies" / "governance"
PROGRAM = [ROOT / "__main__.py", *sorted((ROOT / "components").rglob("*.py")), *sorted((ROOT / "leadgen").rglob("*.py"))]


def _tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(), str(path))


def _assigned(paths, name: str) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in paths for n in ast.walk(_tree(p))
            if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in n.targets)]


def test_open_cidrs_is_written_once():
    assert _assigned(sorted(PACK.rglob("*.py")) + PROGRAM, "OPEN_CIDRS") == ["policies/governance/cidrs.py"]


def test_a_files_version_key_is_computed_once():
    defs = [f"{p.relative_to(ROOT)}:{n.name}" for p in sorted(PACK.rglob("*.py")) for n in ast.walk(_tree(p))
            if isinstance(n, ast.FunctionDef) and n.name in ("_version", "file_version")]
    assert defs == ["policies/governance/files.py:file_version"]


def test_no_constant_oldest_eks_minor_remains():
    assert _assigned(sorted(PACK.rglob("*.py")) + PROGRAM, "OLDEST_SUPPORTED_EKS") == []


def _kms_key_calls(path: Path):
    for n in ast.walk(_tree(path)):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "Key" \
                and isinstance(n.func.value, ast.Attribute) and n.func.value.attr == "kms":
            yield n


@pytest.mark.parametrize("path", sorted((ROOT / "components").glob("*.py")), ids=lambda p: p.name)
def test_every_kms_key_takes_the_named_defaults(path):
    for call in _kms_key_calls(path):
        keywords = {k.arg for k in call.keywords}
        spread = [k.value.id for k in call.keywords if k.arg is None and isinstance(k.value, ast.Name)]
        assert "KEY_DEFAULTS" in spread, f"{path.name}:{call.lineno}"
        assert not keywords & {"enable_key_rotation", "deletion_window_in_days"}, f"{path.name}:{call.lineno}"


def test_the_key_defaults_are_what_the_pack_demands():
    assert kms.KEY_DEFAULTS == {"enable_key_rotation": True, "deletion_window_in_days": 30}
    # Nine keys, every one through the defaults (a new key written inline fails the test above).
    assert sum(1 for p in sorted((ROOT / "components").glob("*.py")) for _ in _kms_key_calls(p)) >= 9


def test_the_rds_engine_is_named_once():
    assert data.ENGINE == rds.ENGINE == "postgres" and rds.ENGINE in rds.POSTGRES_ENGINES
    literal = [f"{p.relative_to(ROOT)}:{n.lineno}" for p in PROGRAM for n in ast.walk(_tree(p))
               if isinstance(n, ast.keyword) and n.arg == "engine" and isinstance(n.value, ast.Constant)
               and n.value.value in rds.POSTGRES_ENGINES]
    assert literal == []


@pytest.mark.parametrize("raw", [
    {"leadgen:governance.prometheusUrl": "http://flat", "leadgen:governance": '{"prometheusUrl": "http://object"}'},
    {"leadgen:governance": {"prometheusUrl": "http://outer"}, "leadgen:governance.prometheusUrl": "http://flat"},
    {"leadgen:governance": '{"monthlyBudgetUsd": "7", "nope": 1}', "leadgen:governance.monthlyBudgetUsd": "5"},
])
def test_the_program_and_the_pack_read_a_stack_config_alike(raw):
    paths = [s.path for s in pack_config.SETTINGS]
    program = base.flatten(raw, paths)
    pack_leaves, unknown = pack_config._leaves(raw)
    assert {p: v for p, v in program.items() if p in paths} == pack_leaves
    assert sorted(p for p in program if p not in paths) == unknown


def test_one_reader_serves_both():
    # Neither side keeps its own walk over the config's objects.
    for module in (base, pack_config):
        assert not hasattr(module, "_walk") and not hasattr(module, "_maybe_json"), module.__name__
    assert stackconfig.leaves({"leadgen:a": '{"b": {"c": 1}}', "leadgen:a.b": '{"c": 2}'}, {"a.b.c"}.__contains__) \
        == ({"a.b.c": 2}, {})
