import gc
import sys

# Off while the tool starts: jobs.pgbackup.startup_done() turns it back on (see there).
gc.disable()

from jobs.pgbackup.cli import main  # noqa: E402

code = main()
# Everything is written and closed by now. Interpreter shutdown would still walk the hundreds of
# thousands of objects that psycopg and botocore keep, collection after collection: 0.2-0.35 s of
# CPU per run, as much as a whole pg_dump of a small database. Frozen objects are not walked.
gc.freeze()
sys.exit(code)
