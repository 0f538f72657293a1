"""Benchmark: the offline production preview against its floor, importing the provider SDKs.

Prints, from one run on this machine:
- the wall time of `platformctl preview --stack production --no-policy` in a fresh interpreter,
  the strict checks (names, principals, Kubernetes names) included: they run in every preview,
- the wall time of a fresh interpreter importing exactly the pulumi_aws / pulumi_kubernetes / pulumi_random
  modules the program ends up importing (the floor: importing them is most of the cost),
- their ratio (aim: within 1.5x),
- program time at 1x, 10x and 50x the number of services (aim: linear growth).
Each figure is the median of several runs. Not a test: no figure here is asserted anywhere.
"""
from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
RUNS = 5


def wall(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child): on a machine shared with other jobs the wall time
    moves with their load, the CPU time much less, so both are printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median_wall(cmd: list[str]) -> tuple[float, float]:
    runs = [wall(cmd) for _ in range(RUNS)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


PROGRAM_MODULES = """
import json, sys
from platformctl.program.engine import run_program
run_program("production")
mods = sorted(m for m in sys.modules if m.split(".")[0] in ("pulumi_aws", "pulumi_kubernetes", "pulumi_random"))
print(json.dumps(mods))
"""

SCALED = """
import sys, time
import pulumi
from platformctl.program.engine import run_program
from platformctl.project import ROOT

# Extra services are more Workload components in the same program run: the program's per-service
# cost is what grows with the number of services.
factor = int(sys.argv[1])
real_main = ROOT / "__main__.py"
code = real_main.read_text() + '''
from components.workload import Workload as _W, WorkloadArgs as _WA
for _i in range(1, %d):
    for _w in (cfg.workloads.api, cfg.workloads.backend):
        _W(f"{_w.name}-{_i}", _WA(namespace=PRODUCTION, image=image(_w.image, _w.name, _w.tag), port=_w.port), opts=workload_opts)
''' % factor
scaled = ROOT / "build" / "bench-main" / "__main__.py"
scaled.parent.mkdir(parents=True, exist_ok=True)
scaled.write_text(code)
import runpy
orig = runpy.run_path
runpy.run_path = lambda path, run_name=None: orig(str(scaled), run_name=run_name)
run_program("production")          # warm: imports and the first run
t = time.perf_counter()
run = run_program("production")
print(time.perf_counter() - t, len(run.resources))
"""


def main() -> None:
    mods = json.loads(subprocess.run([PY, "-c", PROGRAM_MODULES], cwd=ROOT, check=True,
                                     capture_output=True, text=True).stdout)
    preview = median_wall([PY, "-m", "platformctl", "preview", "--stack", "production", "--no-policy"])
    floor = median_wall([PY, "-c", "import " + ", ".join(mods)])
    (preview, preview_cpu), (floor, floor_cpu) = preview, floor
    print(f"offline production preview (fresh interpreter): {preview:.2f} s wall, {preview_cpu:.2f} s CPU")
    print(f"bare import of the {len(mods)} provider SDK modules the program uses: {floor:.2f} s wall, "
          f"{floor_cpu:.2f} s CPU")
    print(f"preview / bare import: {preview / floor:.2f}x wall, {preview_cpu / floor_cpu:.2f}x CPU (aim: <= 1.5x)")

    base = None
    for factor in (1, 10, 50):
        times = []
        for _ in range(3):
            out = subprocess.run([PY, "-c", SCALED, str(factor)], cwd=ROOT, check=True,
                                 capture_output=True, text=True).stdout.split()
            times.append(float(out[0]))
            count = int(out[1])
        t = statistics.median(times)
        base = base or t
        print(f"program time at {factor:>2}x services ({2 * factor} workloads, {count} resources): "
              f"{t:.3f} s, {t / base:.1f}x the 1x time")


if __name__ == "__main__":
    main()
