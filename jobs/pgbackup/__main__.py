import gc
import sys

# Off while the tool starts: jobs.pgbackup.startup_done() turns it back on (see there).
gc.disable()

from jobs.pgbackup.cli import main  # noqa: E402

code = main()
# Everything is written and closed by now: interpreter shutdown need not walk the objects the run
# made collection after collection. Frozen objects are not walked.
gc.freeze()
sys.exit(code)
