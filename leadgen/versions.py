"""Every version the foundation pins, in one place, so an upgrade is one reviewed diff.

EKS add-on versions are the `aws eks describe-addon-versions --kubernetes-version 1.35` defaults
as of 2026-11; Helm chart versions are the charts' releases as of the same date.
"""
from __future__ import annotations

# Managed add-ons per Kubernetes minor version.
EKS_ADDONS: dict[str, dict[str, str]] = {
    "1.34": {
        "vpc-cni": "v1.20.4-eksbuild.1",
        "coredns": "v1.12.3-eksbuild.1",
        "kube-proxy": "v1.34.1-eksbuild.2",
        "aws-ebs-csi-driver": "v1.52.1-eksbuild.1",
        "eks-pod-identity-agent": "v1.3.9-eksbuild.3",
    },
    "1.35": {
        "vpc-cni": "v1.21.1-eksbuild.1",
        "coredns": "v1.13.1-eksbuild.1",
        "kube-proxy": "v1.35.0-eksbuild.2",
        "aws-ebs-csi-driver": "v1.54.0-eksbuild.1",
        "eks-pod-identity-agent": "v1.3.10-eksbuild.1",
    },
}

# Helm charts the foundation installs: (repository, chart, version).
CLUSTER_AUTOSCALER = ("https://kubernetes.github.io/autoscaler", "cluster-autoscaler", "9.52.1")
METRICS_SERVER = ("https://kubernetes-sigs.github.io/metrics-server/", "metrics-server", "3.13.0")

# Cluster-autoscaler's minor must match the cluster's.
CLUSTER_AUTOSCALER_IMAGE_TAG = {"1.34": "v1.34.1", "1.35": "v1.35.0"}
