"""Observability artefacts generated from stack config.

Pure functions only: SLO recording rules and burn-rate alerts, platform alerts, the Alertmanager
configuration and the Grafana dashboards are plain dicts, so they are checked by the tools that
consume them (`promtool`, `amtool`, Grafana's JSON model) without a cluster. The components in
`components/monitoring*.py` put them into PrometheusRule objects, the kube-prometheus-stack
release and dashboard ConfigMaps; `platformctl render` writes them as files.
"""


class SpecError(ValueError):
    """Bad observability input: `path` is the config key (e.g. `observability.slos[1].window`)."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path} {message}")
        self.path = path
        self.message = message
