"""A hardened Deployment with its Service, ServiceAccount, autoscaler and disruption budget.

The Deployment declares no replica count when an HPA owns it, so the HPA's changes never show
as drift. Object names are the runbook's (`deployment/api`), set explicitly.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from leadgen.workloads import HTTP_PORT_NAME, METRICS_PORT_NAME, labels as workload_labels, selector as workload_selector

RUN_AS_USER = 10001


# The type token this component had before tokens followed `leadgen:<module>:<Class>`; the alias
# keeps a real stack's state (and every child's) instead of replacing it.
PREVIOUS_TYPE = "leadgen:workloads:Workload"

@dataclass(kw_only=True)
class WorkloadArgs:
    namespace: str
    image: pulumi.Input[str]  # repository:tag[@sha256:...], never latest (config validation)
    # Always unless the image is pinned by digest (domains/images.py says why).
    image_pull_policy: str = "Always"
    port: int
    # /metrics on its own port, which the public route never serves.
    metrics_port: Optional[int] = None
    # The Service's ports (leadgen/workloads.py: `http` and `metrics`); empty: no Service.
    service_ports: Sequence[dict] = ()
    cpu_request: str = "500m"
    memory_request: str = "512Mi"
    cpu_limit: str = "1000m"
    memory_limit: str = "1Gi"
    min_replicas: int = 3
    max_replicas: int = 10
    target_cpu: int = 70
    # A fixed replica count instead of an HPA (a canary's small, steady footprint).
    replicas: Optional[int] = None
    app: Optional[str] = None  # the `app` label the runbook selects on; defaults to the name
    track: str = "stable"
    env: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    # variable -> (Secret, key): credentials the container reads from a Secret, never a value.
    secret_env: dict[str, tuple[str, str]] = field(default_factory=dict)
    # The PodDisruptionBudget's spec without its selector; None: no budget.
    disruption_budget: Optional[dict] = field(default_factory=lambda: {"maxUnavailable": 1})
    # What the pods need before they can start (the ExternalSecrets their variables read).
    deployment_depends_on: Sequence[pulumi.Resource] = ()
    service_account_annotations: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    # Run as another workload's ServiceAccount (and so its IAM role) instead of one of its own:
    # a canary track is the same service, with the same grants.
    service_account_name: Optional[str] = None
    health_path: str = "/health"


class Workload(pulumi.ComponentResource):
    def __init__(self, name: str, args: WorkloadArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("leadgen:workload:Workload", name, None, pulumi.ResourceOptions.merge(
            pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=PREVIOUS_TYPE)]), opts))
        child = pulumi.ResourceOptions(parent=self)
        app = args.app or name
        labels = workload_labels(app, args.track)
        selector = workload_selector(app, args.track)
        ports = [(HTTP_PORT_NAME, args.port)]
        if args.metrics_port is not None:
            ports.append((METRICS_PORT_NAME, args.metrics_port))
        meta = lambda: {"name": name, "namespace": args.namespace, "labels": labels}  # noqa: E731

        self.service_account = None
        if args.service_account_name is None:
            self.service_account = k8s.core.v1.ServiceAccount(
                f"{name}-sa", metadata={**meta(), "annotations": args.service_account_annotations},
                automount_service_account_token=False, opts=child)

        probe = lambda delay, period, failures: {  # noqa: E731
            "httpGet": {"path": args.health_path, "port": "http"},
            "initialDelaySeconds": delay, "periodSeconds": period, "failureThreshold": failures,
            "timeoutSeconds": 2}
        spec: dict = {
            "selector": {"matchLabels": selector},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
            "revisionHistoryLimit": 10,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": args.service_account_name or name,
                    "automountServiceAccountToken": False,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": RUN_AS_USER,
                                        "runAsGroup": RUN_AS_USER, "fsGroup": RUN_AS_USER,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "nodeSelector": {"leadgen.io/capacity-type": "on_demand"},
                    "topologySpreadConstraints": [
                        {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                         "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": selector}},
                        {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                         "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": selector}},
                    ],
                    "terminationGracePeriodSeconds": 30,
                    "containers": [{
                        "name": app,
                        "image": args.image,
                        "imagePullPolicy": args.image_pull_policy,
                        "ports": [{"name": n, "containerPort": p, "protocol": "TCP"} for n, p in ports],
                        "env": [*({"name": k, "value": v} for k, v in args.env.items()),
                                *({"name": k, "valueFrom": {"secretKeyRef": {"name": s, "key": key}}}
                                  for k, (s, key) in args.secret_env.items())],
                        "resources": {
                            "requests": {"cpu": args.cpu_request, "memory": args.memory_request},
                            "limits": {"cpu": args.cpu_limit, "memory": args.memory_limit},
                        },
                        "startupProbe": probe(0, 5, 30),
                        "readinessProbe": probe(0, 10, 3),
                        "livenessProbe": probe(0, 20, 3),
                        "securityContext": {"allowPrivilegeEscalation": False,
                                            "readOnlyRootFilesystem": True, "privileged": False,
                                            "runAsNonRoot": True,
                                            "capabilities": {"drop": ["ALL"]}},
                        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                    }],
                    # The root filesystem is read-only; scratch space is a bounded emptyDir.
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
                },
            },
        }
        if args.replicas is not None:
            spec["replicas"] = args.replicas
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment", metadata=meta(), spec=spec,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=list(args.deployment_depends_on))))

        self.service = None
        if args.service_ports:
            self.service = k8s.core.v1.Service(
                f"{name}-service", metadata=meta(),
                spec={"type": "ClusterIP", "selector": selector, "ports": [dict(p) for p in args.service_ports]},
                opts=child)

        self.hpa = None
        if args.replicas is None:
            self.hpa = k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-hpa", metadata=meta(),
                spec={"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                      "minReplicas": args.min_replicas, "maxReplicas": args.max_replicas,
                      "metrics": [{"type": "Resource", "resource": {
                          "name": "cpu", "target": {"type": "Utilization",
                                                    "averageUtilization": args.target_cpu}}}],
                      # Scale down slowly: a traffic dip should not strand the next spike.
                      "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}}},
                opts=child)

        # One pod at a time may be evicted: node drains and upgrades never take the service down.
        self.pdb = None
        if args.disruption_budget is not None:
            self.pdb = k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb", metadata=meta(),
                spec={**args.disruption_budget, "selector": {"matchLabels": selector}}, opts=child)

        self.name = name
        self.service_name = name
        self.register_outputs({"name": self.name})
