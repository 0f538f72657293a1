"""pgbackup: PostgreSQL backups to S3 that are verified by restoring them (a backup never restored is a hope).

Commands: backup, verify, restore, list. Run as ``python -m jobs.pgbackup <command>``.
"""


def startup_done() -> None:
    """Gives the cyclic garbage collector back once the heavy objects exist.

    ``python -m jobs.pgbackup`` starts with the collector off: importing psycopg and botocore and
    building the S3 client's models allocate hundreds of thousands of objects that live until the
    end, and collecting over and over while they are made costs a fifth of that CPU. Frozen, they
    are never walked again. A process that never turned the collector off (a test) is left as it is.
    """
    import gc
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
