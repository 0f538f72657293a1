"""Render extension: the observability artefacts as the files their tools check.

Taken from what the program declared (not regenerated), so the files are exactly what the
cluster receives:
- `observability/rules/<PrometheusRule name>.yaml` - rule files for `promtool check rules`, and
  `observability/rules/<namespace name>.yaml` for each Amazon Managed Prometheus rule group
  namespace (its `data` is a Prometheus rule file too);
- `observability/alertmanager.yaml` - the Alertmanager config as External Secrets renders it from
  the `monitoring/leadgen-alertmanager-config` ExternalSecret's template (the SMTP user, which only
  Secrets Manager holds, shown as `<smtp-user>`), for `amtool check-config` and
  `amtool config routes test`;
- `observability/dashboards/<uid>.json` - each dashboard ConfigMap's Grafana JSON.
"""
from __future__ import annotations

import json
from pathlib import Path

from leadgen.observability import alertmanager as am
from leadgen.observability.dashboards import SIDECAR_LABEL
from leadgen.observability.yamlout import dump

PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
AMP_RULES = "aws:amp/ruleGroupNamespace:RuleGroupNamespace"
ALERTMANAGER_NAMESPACE = "monitoring"
# What the rendered config shows where External Secrets writes the SMTP user.
SMTP_USER_PLACEHOLDER = "<smtp-user>"


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
        elif r["type"] == AMP_RULES:
            write(root / "rules" / f"{inputs['name']}.yaml", inputs["data"])
        elif (r["type"] == EXTERNAL_SECRET and meta.get("namespace") == ALERTMANAGER_NAMESPACE
              and meta.get("name") == am.CONFIG_SECRET):
            # The operator reads the whole config from the Secret this ExternalSecret makes, so the
            # template is the config; rendered as External Secrets would, it is what amtool checks.
            template = inputs["spec"]["target"]["template"]["data"][am.CONFIG_KEY]
            write(root / "alertmanager.yaml",
                  am.render_template(template, {am.SMTP_USER_VAR: SMTP_USER_PLACEHOLDER}))
    return written
