"""The Insurance Lead Gen platform: read config once, build it domain by domain, export.

`pulumi preview` runs this file as it is; `python -m platformctl preview` runs it unchanged under
the SDK's mock engine. Config is validated before anything is registered. Each domain lives in
domains/: it builds its part from the config and what earlier domains built.
"""
import pulumi

from domains import cluster, data, dr, images, network, observability, traffic, workloads
from leadgen.config import load_from_pulumi

cfg = load_from_pulumi()
primary = dr.primary_outputs(cfg)

vpc = network.build(cfg)
k8s = cluster.build(cfg, vpc)
registry = images.build(cfg)
stores = data.build(cfg, vpc, k8s, registry, dr.writer_outputs(cfg, primary))
monitoring = observability.build(cfg, k8s, stores)
apps = workloads.build(cfg, k8s, stores, registry, monitoring)
traffic.build(cfg, k8s, stores, registry, apps)
dr.build(cfg, stores, primary)

# --- governance: the change this update ran under ------------------------------------------------
pulumi.export("changeRequest", cfg.governance.change_request)
