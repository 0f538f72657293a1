"""Benchmark: `platformctl audit` over a 10,000-resource export vs checkov on rendered manifests.

Both run in this process's run, on this machine, and the result is printed as rates and their
ratio (never compared with a figure from another run):
  1. the production stack is previewed with outputs and exported, then its resources are copied
     (new URNs) up to 10,000 and audited end to end by the real pack: `python -m platformctl audit`;
  2. the same stack is rendered (`platformctl render`) and checkov scans the Kubernetes manifests.
Run: `make bench` or `.venv/bin/python bench/audit.py`.
"""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
PY = sys.executable
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
TARGET = 10_000


def timed(cmd: list[str], ok=(0,)) -> float:
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode not in ok:
        sys.exit(f"bench: {' '.join(map(str, cmd[:4]))} exited {result.returncode}: {result.stderr.strip()[-400:]}")
    return elapsed


def scale(export_path: pathlib.Path, out: pathlib.Path) -> int:
    doc = json.loads(export_path.read_text())
    resources = doc["deployment"]["resources"]
    fixed = [r for r in resources if r["type"] == "pulumi:pulumi:Stack" or r["type"].startswith("pulumi:providers:")]
    body = [r for r in resources if r not in fixed]
    copies, n = [], 0
    while len(fixed) + len(copies) < TARGET:
        for r in body:
            if len(fixed) + len(copies) >= TARGET:
                break
            text = json.dumps(r)
            # A copy of the whole stack with every name suffixed, parents and dependencies included.
            for u in {r["urn"], r.get("parent", "")} | set(r.get("dependencies", [])):
                if u and not u.endswith("leadgen-production") and "pulumi:providers:" not in u:
                    text = text.replace(json.dumps(u)[1:-1], json.dumps(f"{u}-c{n}")[1:-1])
            copies.append(json.loads(text))
        n += 1
    doc["deployment"]["resources"] = fixed + copies
    out.write_text(json.dumps(doc))
    return len(doc["deployment"]["resources"])


def main() -> None:
    if not CHECKOV.exists():
        sys.exit("bench: checkov is not installed (make checkov)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        timed([PY, "-m", "platformctl", "preview", "--stack", "production", "--no-policy",
               "--export", str(tmp / "prod.json"), "--json", "--out", str(tmp / "preview.json")])
        count = scale(tmp / "prod.json", tmp / "big.json")
        size_mb = (tmp / "big.json").stat().st_size / 2**20
        audit_s = timed([PY, "-m", "platformctl", "audit", "--state", str(tmp / "big.json"), "--format", "json",
                         "--out", str(tmp / "audit.json")], ok=(0, 2))
        timed([PY, "-m", "platformctl", "render", "--stack", "production", "--out", str(tmp / "render")])
        manifests = sorted((tmp / "render").rglob("*.yaml"))
        checkov_s = timed([str(CHECKOV), "-d", str(tmp / "render"), "--framework", "kubernetes", "--quiet",
                           "--compact", "-o", "json", "--output-file-path", str(tmp / "checkov")], ok=(0, 1))
    audit_rate = count / audit_s
    checkov_rate = len(manifests) / checkov_s
    print(f"platformctl audit: {count} resources ({size_mb:.1f} MB export) in {audit_s:.2f} s = {audit_rate:,.0f} resources/s")
    print(f"checkov:           {len(manifests)} manifests in {checkov_s:.2f} s = {checkov_rate:,.1f} resources/s")
    print(f"ratio (audit per-resource rate / checkov per-resource rate, same run): {audit_rate / checkov_rate:,.1f}x")


if __name__ == "__main__":
    main()
