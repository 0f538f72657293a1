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


def scoped(rules: dict, alerts) -> dict:
    """The rule file cut to the alerts named and the recording rules they read, transitively, for
    `promtool test rules` runs that simulate days: a rule outside that set cannot change those
    alerts (an alert's state depends only on its expression, and so on the series it reads), so
    promtool's verdict on them is the same with a fraction of the evaluations. Every alert of a
    named alertname is kept, so `exp_alerts` still lists the complete set. An expression that
    selects without a metric name, or reads ALERTS, keeps the whole file."""
    import promql_parser

    def names(expr: str):
        found, whole = set(), []

        def visit(node) -> None:
            if isinstance(node, promql_parser.VectorSelector):
                if not node.name or node.name in ("ALERTS", "ALERTS_FOR_STATE"):
                    whole.append(node)
                else:
                    found.add(node.name)
        promql_parser.walk(promql_parser.parse(expr), visit)
        return None if whole else found

    every = [r for g in rules["groups"] for r in g["rules"]]
    producers: dict[str, list[dict]] = {}
    for r in every:
        if "record" in r:
            producers.setdefault(r["record"], []).append(r)
    queue = [r for r in every if r.get("alert") in set(alerts)]
    assert queue, f"no alert named {sorted(alerts)} in the rule file"
    needed: set[int] = set()
    while queue:
        r = queue.pop()
        if id(r) in needed:
            continue
        needed.add(id(r))
        read = names(r["expr"])
        if read is None:
            return rules
        for name in read:
            queue += producers.get(name, [])
    groups = [{**g, "rules": [r for r in g["rules"] if id(r) in needed]} for g in rules["groups"]]
    return {**rules, "groups": [g for g in groups if g["rules"]]}


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
