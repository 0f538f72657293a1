"""Deploy readiness: the stack's resource graph (`graph`) and the rules that judge it (`rules`)."""
