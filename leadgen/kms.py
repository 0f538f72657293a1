"""How every customer-managed KMS key of the platform is made, said once.

Rotated yearly by AWS (checkov CKV_AWS_7, the pack's `aws-kms-key-rotation-enabled`), and deleted
only after the longest waiting period KMS allows, 30 days: a key scheduled for deletion by mistake
can be recovered for a month, while everything it encrypted (a database, its snapshots, backups,
logs) would otherwise be lost with it. A component spreads these into its `aws.kms.Key(...)`.
"""
from __future__ import annotations

ROTATION = True
DELETION_WINDOW_DAYS = 30  # the KMS maximum (7-30)

KEY_DEFAULTS = {"enable_key_rotation": ROTATION, "deletion_window_in_days": DELETION_WINDOW_DAYS}
