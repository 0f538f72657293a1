"""The kubeconfig the Kubernetes provider uses, built from the cluster's outputs.

It authenticates with `aws eks get-token`, so it holds no credential of its own; it is still
exported as a secret because it names the endpoint and CA of a private cluster.
"""
from __future__ import annotations

import json

import pulumi


def render_kubeconfig(name: str, endpoint: str, ca_data: str, region: str) -> str:
    return json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": name,
        "clusters": [{"name": name, "cluster": {"server": endpoint,
                                                "certificate-authority-data": ca_data}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "users": [{"name": name, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", name, "--region", region],
            "interactiveMode": "Never"}}}],
    })


def kubeconfig_json(name: pulumi.Input[str], endpoint: pulumi.Input[str], ca_data: pulumi.Input[str],
                    region: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.all(name, endpoint, ca_data, region).apply(lambda v: render_kubeconfig(*v))
