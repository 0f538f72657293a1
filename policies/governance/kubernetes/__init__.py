"""Guardrails for Kubernetes objects, one module per family; the shared readers of an object's
name, namespace and pod spec are in `objects`."""
