"""Guardrails for AWS resources, one module per service family; shared readers in `keys` and
`documents`."""
