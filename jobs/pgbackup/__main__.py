import sys

from jobs.pgbackup.cli import main

sys.exit(main())
