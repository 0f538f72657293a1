"""`platformctl weekly`: the operations runbook's weekly checklist as one report."""
