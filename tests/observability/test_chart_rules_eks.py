"""kube-prometheus-stack's own rules and scrapes, as the rendered values switch them, on EKS.

No helm here, so the chart's switches are transcribed from its templates at the pinned version
(kube-prometheus-stack 88.5.3, tag commit ea930ba): every rule that fires on the *absence* of a
target (`absent(up{job=...})`), and every component scrape whose target may not be reachable, with
the values that must all be true for the chart to render it. The test evaluates the program's
rendered values against them and lists what would fire forever on EKS.
"""
from __future__ import annotations

import pytest

from leadgen import versions
from tests.helpers import run_program

SOURCE = ("https://github.com/prometheus-community/helm-charts/blob/kube-prometheus-stack-88.5.3/"
          "charts/kube-prometheus-stack/templates/prometheus/rules-1.14/")
# alert -> (scrape job it needs a target of, the values the template's `if and` requires, file)
ABSENCE_ALERTS = {
    "KubeAPIDown": ("apiserver", ("defaultRules.create", "defaultRules.rules.kubernetesSystem"),
                    "kubernetes-system-apiserver.yaml"),
    "KubeControllerManagerDown": ("kube-controller-manager", (
        "defaultRules.create", "kubeControllerManager.enabled", "defaultRules.rules.kubeControllerManager"),
        "kubernetes-system-controller-manager.yaml"),
    "KubeSchedulerDown": ("kube-scheduler", (
        "defaultRules.create", "kubeScheduler.enabled", "defaultRules.rules.kubeSchedulerAlerting"),
        "kubernetes-system-scheduler.yaml"),
    "KubeProxyDown": ("kube-proxy", ("defaultRules.create", "kubeProxy.enabled", "defaultRules.rules.kubeProxy"),
                      "kubernetes-system-kube-proxy.yaml"),
}
# Component scrapes the chart adds (a Service and ServiceMonitor each): a target that exists but
# cannot be reached is `TargetDown` (general.rules.yaml) for as long as it exists.
SCRAPES = {"apiserver": "kubeApiServer.enabled", "kubelet": "kubelet.enabled", "coredns": "coreDns.enabled",
           "kube-controller-manager": "kubeControllerManager.enabled", "kube-scheduler": "kubeScheduler.enabled",
           "kube-etcd": "kubeEtcd.enabled", "kube-proxy": "kubeProxy.enabled"}
# Every switch above defaults to true in the chart's values.yaml.
CHART_DEFAULT = True
# What EKS lets a Prometheus in the cluster scrape: the API server (the `kubernetes` Service),
# the kubelets and CoreDNS. The control plane is AWS's; kube-proxy binds metrics to 127.0.0.1.
EKS_REACHABLE = {"apiserver", "kubelet", "coredns"}


def _get(values: dict, path: str):
    node = values
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return CHART_DEFAULT
        node = node[part]
    return node


def always_firing_on_eks(values: dict) -> list[str]:
    firing = [f"{alert} (absent(up{{job={job!r}}}), {SOURCE}{source})"
              for alert, (job, switches, source) in ABSENCE_ALERTS.items()
              if all(_get(values, s) for s in switches) and job not in EKS_REACHABLE]
    firing += [f"TargetDown (job={job!r} scraped, unreachable on EKS)"
               for job, switch in SCRAPES.items() if _get(values, switch) and job not in EKS_REACHABLE]
    return firing


@pytest.fixture(scope="module")
def values():
    run = run_program("production")
    (release,) = [r for r in run.by_type("kubernetes:helm.sh/v3:Release")
                  if r["inputs"]["name"] == "kube-prometheus-stack"]
    return release["inputs"]["values"]


def test_the_pinned_chart_is_the_one_transcribed():
    assert versions.KUBE_PROMETHEUS_STACK.version == "88.5.3"


def test_no_chart_alert_fires_forever_on_eks(values):
    assert always_firing_on_eks(values) == []


def test_the_chart_defaults_would_page_every_hour():
    """What the chart does with no values: the controller-manager, scheduler and kube-proxy
    absence pages, and TargetDown for the scrapes EKS cannot serve."""
    firing = always_firing_on_eks({})
    assert [f.split(" ")[0] for f in firing] == ["KubeControllerManagerDown", "KubeSchedulerDown", "KubeProxyDown",
                                                "TargetDown", "TargetDown", "TargetDown", "TargetDown"]


def test_what_eks_does_serve_stays_watched(values):
    """The API server and kubelet absence alerts stay: those targets exist on EKS."""
    for alert in ("KubeAPIDown",):
        job, switches, _ = ABSENCE_ALERTS[alert]
        assert all(_get(values, s) for s in switches) and job in EKS_REACHABLE
    assert all(_get(values, SCRAPES[job]) for job in EKS_REACHABLE)
