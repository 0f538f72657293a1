"""The figures the command line offers as defaults and limits, in a module that imports nothing.

The CLI parses its flags and starts psql before it loads the rest of the tool (psql logs in while
the S3 client and the catalogue are imported); the modules that use these figures import them
from here.
"""

MIN_PART_SIZE = 5 * 1024 * 1024  # S3's minimum for every part but the last
DEFAULT_PART_SIZE = 16 * 1024 * 1024
# Largest gap between a manifest's recorded finish time and S3's LastModified of it before the
# backup is suspect (catalogue.judge).
DEFAULT_CLOCK_TOLERANCE_SECONDS = 300
# Backups a verify run restores (``catalogue.verification_order``): the latest plus one in turn,
# so every retained backup is restored now and then.
DEFAULT_VERIFY_COUNT = 2
DEFAULT_VERIFY_ROLE = "pgbackup_verify"
