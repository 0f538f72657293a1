"""The application's side of the SLIs: which series, labels and buckets the SLO rules read.

The rules in `slo.py` are the one place these names are written; this module renders them as the
table the README and docs/app-contract.md carry, so the page an application team reads and the
rules that judge their service cannot disagree. `python -m leadgen.observability.contract --write`
rewrites both tables (`make config-docs` runs it), `--check` exits 1 when either is stale (the
test suite runs the check).
"""
from __future__ import annotations

import argparse
import sys
from decimal import Decimal
from pathlib import Path

from leadgen.observability import slo

ROOT = Path(__file__).resolve().parents[2]
BEGIN = "<!-- app-contract:begin (generated from leadgen/observability/slo.py by `make config-docs`) -->"
END = "<!-- app-contract:end -->"
FILES = ("README.md", "docs/app-contract.md")


THRESHOLD_KEY = "workloads.<name>.slo.latencyThreshold"


def _default_threshold() -> Decimal:
    # The workload entry's declared default: the bucket a service must export when it names none.
    from leadgen.config import all_keys
    (key,) = [k for k in all_keys() if k.path == THRESHOLD_KEY]
    return Decimal(str(key.default))


def rows() -> list[tuple[str, str, str]]:
    """(series, labels it must carry, what reads it), from the SLO rules' own definitions."""
    threshold = _default_threshold()
    le = slo.format_bound(threshold)
    return [
        (f"`{slo.REQUESTS}` (counter)",
         f"`{slo.STATUS_LABEL}`: the HTTP status as three digits (`200`, `503`); not `status`, not a class",
         f"the availability SLO: `{slo.STATUS_LABEL}=~\"{slo.ERROR_CODES}\"` over all requests; "
         f"`SLOErrorLabelMissing` pages when requests arrive without `{slo.STATUS_LABEL}`"),
        (f"`{slo.DURATION}_bucket` (histogram)",
         f"`le`: the buckets must include the latency threshold (`slo.latencyThreshold`, default `{le}`; "
         + (f"`{le}` and `{le}.0` both match)" if threshold == threshold.to_integral_value()
            else "prom-client's default buckets have no such bound)"),
         f"the latency SLO: requests at or under the threshold; `SLOSignalMissing` (`signal=\"{slo.DURATION}_bucket\"`) "
         "pages when that bucket is absent"),
        (f"`{slo.DURATION}_count`", "",
         f"the latency SLO's total; `SLOSignalMissing` pages when absent"),
        (f"`{slo.DURATION}_sum`", "", "dashboards (mean latency)"),
    ]


def table() -> str:
    lines = ["| series | labels | read by |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows()]
    lines.append("")
    lines.append(f"The scrape adds `service` (the workload's name, every track alike) and `track` (`stable`, "
                 "`canary`); an application must not set them itself. A series an SLO reads that is absent for "
                 "10 minutes pages (`SLOSignalMissing`).")
    return "\n".join(lines)


def with_table(text: str, name: str) -> str:
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{name}: the markers {BEGIN!r} and {END!r} are missing")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table()}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m leadgen.observability.contract")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    stale = []
    for name in FILES:
        path = ROOT / name
        text = path.read_text(encoding="utf-8")
        wanted = with_table(text, name)
        if wanted != text:
            if args.write:
                path.write_text(wanted, encoding="utf-8")
            else:
                stale.append(name)
    if stale:
        print(f"stale: {', '.join(stale)}; run `make config-docs`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
