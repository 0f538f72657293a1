"""governance/kubernetes/traffic.py, from the compliant baseline (tests/policies/guardrails.py): one field
changed per case, the exact message."""
import pytest

from guardrails import GW, SVC, case_id, one_field_changed

CASES = [
    # (policy, type, name, path, value, resource the violation names, message)
    ("kubernetes-listener-tls", GW, "public", "spec.listeners.0.protocol", "HTTP", None,
     "public: listener https speaks HTTP; use HTTPS or TLS (HTTP only with routes that redirect to https)"),
    ("kubernetes-service-load-balancer-restricted", SVC, "api", "spec.type", "LoadBalancer", None,
     "api: a LoadBalancer Service open to the world; make it internal or list spec.loadBalancerSourceRanges "
     "(public traffic enters through the Gateway)"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_one_field_changed_fires_exactly_one_policy(case):
    one_field_changed(*case)
