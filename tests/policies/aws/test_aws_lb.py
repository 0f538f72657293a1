"""governance/aws/lb.py, from the compliant baseline (tests/policies/guardrails.py): one field
changed per case, the exact message."""
import pytest

from guardrails import LST, case_id, one_field_changed

CASES = [
    # (policy, type, name, path, value, resource the violation names, message)
    ("aws-lb-listener-tls", LST, "https", "protocol", "HTTP", None,
     "https: protocol HTTP must be HTTPS or TLS (HTTP only to redirect to HTTPS)"),
    ("aws-lb-listener-tls", LST, "http-redirect", "defaultActions.0.redirect.protocol", "HTTP", None,
     "http-redirect: protocol HTTP must be HTTPS or TLS (HTTP only to redirect to HTTPS)"),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_one_field_changed_fires_exactly_one_policy(case):
    one_field_changed(*case)
