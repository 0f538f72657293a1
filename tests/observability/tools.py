"""Running promtool and amtool, and predicting what an alert's annotations render to."""
from __future__ import annotations

import pathlib
import re
import shutil
import subprocess

from leadgen.observability.yamlout import dump


def tool(name: str) -> str:
    path = shutil.which(name)
    # Never skip: CI installs these through scripts/install-system-deps.sh.
    assert path, f"{name} is not installed; run `make system-deps`"
    return path


def run(name: str, *args: str, cwd: pathlib.Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([tool(name), *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def write(path: pathlib.Path, data) -> pathlib.Path:
    path.write_text(dump(data))
    return path


_TEMPLATE = re.compile(r"\{\{\s*(.*?)\s*\}\}")


def render(template: str, labels: dict, value: float) -> str:
    """The few Go-template forms the rules use, rendered as Prometheus would."""
    def one(match: re.Match) -> str:
        expr = match.group(1)
        if expr.startswith("$labels."):
            return str(labels.get(expr[len("$labels."):], ""))
        if expr == "$value | humanizePercentage":
            return "%.4g%%" % (value * 100)
        m = re.fullmatch(r'\$value \| printf "(%[^"]+)"', expr)
        if m:
            return m.group(1) % value
        if expr == "$value":
            return "%g" % value
        raise AssertionError(f"test renderer does not know {{{{ {expr} }}}}")
    return _TEMPLATE.sub(one, template)


def expected_alert(rule: dict, series_labels: dict, value: float) -> dict:
    labels = {**series_labels, **rule.get("labels", {})}
    return {"exp_labels": labels,
            "exp_annotations": {k: render(v, labels, value) for k, v in rule.get("annotations", {}).items()}}


def relabel_keeps(relabelings: list[dict], labels: dict) -> bool:
    """Whether Prometheus' `keep` relabelings (the only action remote write uses here) keep a
    series with these labels: source labels joined by the separator, the regex anchored."""
    for rule in relabelings:
        assert rule["action"] == "keep", rule
        value = rule.get("separator", ";").join(labels.get(n, "") for n in rule["sourceLabels"])
        if not re.fullmatch(rule["regex"], value):
            return False
    return True
