"""The pack has one import name in every process: `governance.*`, on a path set only by
leadgen/pack.py (the Pulumi CLI sets the same folder when it runs policies/). One interpreter that
loads platformctl, the program's modules and the pack's entry point holds each pack module once,
so a class is the same class wherever it is checked."""
import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The program, the CLI, the pack and the jobs: code that runs in production processes.
RUNTIME = ("__main__.py", "components", "leadgen", "platformctl", "policies", "jobs")

# Everything a production process of each kind imports, then the pack's entry point loaded as the
# CLI loads it (`runpy.run_path("policies")`), with a PolicyPack that records instead of serving.
PROBE = r'''
import json, runpy, sys, pathlib
import pulumi_policy

served = []
class RecordingPack:
    def __init__(self, name, policies, **kw):
        served.append((name, [p.name for p in policies]))
pulumi_policy.PolicyPack = RecordingPack

import platformctl.pack as door
for name in door.MODULES:
    getattr(door, name)
import platformctl.project, platformctl.statefile, platformctl.reports.escape
import leadgen.config, leadgen.config.governance, leadgen.config.validate, leadgen.config.cluster
runpy.run_path(str(pathlib.Path("policies")), run_name="__main__")

pack_dir = pathlib.Path("policies/governance").resolve()
names = {}
for key, module in list(sys.modules.items()):
    origin = getattr(module, "__file__", None)
    if origin and pathlib.Path(origin).resolve().is_relative_to(pack_dir):
        names.setdefault(str(pathlib.Path(origin).resolve().relative_to(pack_dir)), []).append(key)

import governance.config, governance.strictread, governance.catalog
from leadgen.config import governance as program_governance
cfg = governance.config.from_mapping({})
print(json.dumps({
    "names": names,
    "twins": sorted(k for k in sys.modules if k == "policies" or k.startswith("policies.")),
    "same_config_class": isinstance(cfg, door.config.GovernanceConfig)
                         and program_governance.GovernanceConfig is governance.config.GovernanceConfig,
    "same_read_error": platformctl.project.ReadError is governance.strictread.ReadError
                       and platformctl.statefile.strictread.ReadError is governance.strictread.ReadError,
    "served": served,
    "catalog": [s.name for s in governance.catalog.SPECS],
}))
'''


def test_one_interpreter_holds_each_pack_module_once():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["twins"] == []
    twice = {path: keys for path, keys in found["names"].items() if len(keys) != 1}
    assert twice == {}
    assert all(keys[0].startswith("governance") for keys in found["names"].values())
    # The entry point, platformctl and the program all loaded these: each under its one name.
    assert {"catalog.py", "config.py", "strictread/__init__.py", "strictread/limits.py", "escape.py"} \
        <= set(found["names"])
    assert found["same_config_class"] and found["same_read_error"]
    # The entry point built the pack from the same catalog the CLI reads.
    assert found["served"] == [["leadgen-governance", found["catalog"]]]


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def _python_files(*roots: str) -> list[Path]:
    files = []
    for root in roots:
        path = ROOT / root
        files += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return files


def test_nothing_imports_the_pack_as_policies_governance():
    offenders = [f"{p.relative_to(ROOT)}: {m}" for p in _python_files(*RUNTIME, "tests", "bench", "scripts")
                 for m in sorted(_imports(p)) if m == "policies" or m.startswith("policies.")]
    assert offenders == []


def _touches_sys_path(path: Path) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == "path" and isinstance(n.value, ast.Name)
               and n.value.id == "sys" for n in ast.walk(ast.parse(path.read_text(), str(path))))


def test_only_leadgen_pack_edits_sys_path_in_production_code():
    offenders = [str(p.relative_to(ROOT)) for p in _python_files(*RUNTIME)
                 if _touches_sys_path(p) and p != ROOT / "leadgen" / "pack.py"]
    assert offenders == []
    assert _touches_sys_path(ROOT / "leadgen" / "pack.py")
