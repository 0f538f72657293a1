"""pgbackup: PostgreSQL backups to S3 that are verified by restoring them (a backup never restored is a hope).

Commands: backup, verify, restore, list. Run as ``python -m jobs.pgbackup <command>``.
"""
