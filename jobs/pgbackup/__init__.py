"""pgbackup: PostgreSQL backups to S3 that are verified by restoring them (issue 4).

Commands: backup, verify, restore, list. Run as ``python -m jobs.pgbackup <command>``.
"""
