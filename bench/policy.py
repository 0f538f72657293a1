"""Benchmark: the leadgen-governance pack over 10,000 resources, against checkov on the program's
rendered Kubernetes manifests, per resource, in the same run. Prints ratios, not absolute claims.

    .venv/bin/python bench/policy.py
"""
from __future__ import annotations

import copy
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
# The pack's modules come through platformctl.pack, the one door to them; the baseline is test data.
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "policies")]

from platformctl.pack import PACK_DIR, catalog  # noqa: E402  (first: it puts the pack on the path)
from policy_baseline import PROJECT, STACK, baseline, to_model  # noqa: E402

from platformctl.policy_client import PolicyClient  # noqa: E402

N = 10_000
BENCH_STACK = "bench"
RUNS = 3  # the gRPC run is repeated in the same pack process: other jobs share these 2 cores
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


def resources(n: int) -> list[dict]:
    """n resources: copies of the compliant baseline under distinct names."""
    base = [r for r in baseline() if r["type"] != "pulumi:pulumi:Stack"]
    stack = baseline()[0]
    out = [stack]
    # Each copy depends on its own copies, so graph rules (deploy readiness) see a whole graph.
    renamed = {r["urn"] for r in base if not r["type"].startswith("pulumi:providers:")}
    i = 0
    while len(out) < n:
        for r in base:
            if len(out) >= n:
                break
            c = copy.deepcopy(r)
            if not c["type"].startswith("pulumi:providers:"):
                c["name"] = f"{r['name']}-{i}"
                c["urn"] = f"{r['urn']}-{i}"
            c["dependencies"] = [f"{d}-{i}" if d in renamed else d for d in c.get("dependencies") or []]
            if c.get("parent") in renamed:
                c["parent"] = f"{c['parent']}-{i}"
            out.append(c)
        i += 1
    return out


def main() -> None:
    items = resources(N)
    # Guardrails, readiness and cost: a stack no one protects (a stack's config cannot lift
    # protection from `production`, so the copies run under another name) with a budget they fit.
    config = {"leadgen:environment": "staging", "leadgen:governance.monthlyBudgetUsd": "1000000000"}
    runs = []
    with PolicyClient(PACK_DIR, project=PROJECT, stack=BENCH_STACK, config=config) as pack:
        for _ in range(RUNS):
            started = time.perf_counter()
            violations = pack.analyze(items)
            runs.append(time.perf_counter() - started)
            assert not [v for v in violations if v.level == "mandatory"], violations[:3]
    grpc_s = statistics.median(runs)

    from platformctl.pack import clock, config as gconfig, model as gmodel
    ctx = gmodel.Context(BENCH_STACK, PROJECT, gconfig.from_mapping(config), ROOT, clock.read({}))
    model = to_model(items)
    started = time.perf_counter()
    found = catalog.evaluate(model, ctx)
    assert not found, found[:3]
    pure_s = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, "-m", "platformctl", "render", "--stack", STACK, "--out", out],
                       cwd=ROOT, check=True, capture_output=True)
        manifests = sorted((pathlib.Path(out) / "manifests").rglob("*.yaml"))
        started = time.perf_counter()
        subprocess.run([str(CHECKOV), "-d", str(pathlib.Path(out) / "manifests"), "--framework", "kubernetes",
                        "--quiet", "--compact", "-o", "json"], capture_output=True)
        checkov_s = time.perf_counter() - started

    pack_rate, pure_rate = N / grpc_s, N / pure_s
    checkov_rate = len(manifests) / checkov_s
    print(f"pack over gRPC:     {N} resources, {pack_rate:,.0f} resources/s (median of {RUNS}; best "
          f"{N / min(runs):,.0f}/s)")
    print(f"pack predicates:    {N} resources, {pure_rate:,.0f} resources/s (in process, no gRPC)")
    print(f"checkov:            {len(manifests)} manifests, {checkov_rate:,.1f} resources/s")
    print(f"ratio pack/checkov per resource: {pack_rate / checkov_rate:,.0f}x faster")
    print(f"aim 2,000 resources/s over gRPC: {'met' if pack_rate >= 2000 else 'NOT met'} "
          f"({pack_rate / 2000:.2f}x the aim)")


if __name__ == "__main__":
    main()
