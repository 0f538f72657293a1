"""Render extension: the observability artefacts as the files their tools check.

Taken from what the program declared (not regenerated), so the files are exactly what the
cluster receives:
- `observability/rules/<PrometheusRule name>.yaml` - rule files for `promtool check rules`;
- `observability/alertmanager.yaml` - the kube-prometheus-stack release's Alertmanager config,
  for `amtool check-config` and `amtool config routes test`;
- `observability/dashboards/<uid>.json` - each dashboard ConfigMap's Grafana JSON.
"""
from __future__ import annotations

import json
from pathlib import Path

from leadgen.observability.dashboards import SIDECAR_LABEL
from leadgen.observability.yamlout import dump

PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


def render(resources: list[dict], out_dir: Path) -> list[Path]:
    root = out_dir / "observability"
    written: list[Path] = []

    def write(path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            raise ValueError(f"two objects render to {path}")
        path.write_text(text)
        written.append(path)

    for r in resources:
        inputs = r.get("inputs") or {}
        meta = inputs.get("metadata") or {}
        if r["type"] == PROMETHEUS_RULE:
            write(root / "rules" / f"{meta['name']}.yaml", dump(inputs["spec"]))
        elif r["type"] == CONFIG_MAP and (meta.get("labels") or {}).get(SIDECAR_LABEL) == "1":
            for key, body in (inputs.get("data") or {}).items():
                write(root / "dashboards" / key, json.dumps(json.loads(body), indent=2, sort_keys=True) + "\n")
        elif r["type"] == HELM_RELEASE and inputs.get("chart") == "kube-prometheus-stack":
            config = ((inputs.get("values") or {}).get("alertmanager") or {}).get("config")
            if config:
                write(root / "alertmanager.yaml", dump(config))
    return written
