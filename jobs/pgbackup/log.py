"""One JSON object per line on stdout for each step, so the CronJob's logs can be queried."""
import json
import sys
import time
from datetime import datetime, timezone


class StepLog:
    def __init__(self, command: str, stream=None):
        self.command = command
        self.stream = stream or sys.stdout

    def step(self, step: str, status: str = "ok", **fields) -> None:
        record = {
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "command": self.command,
            "step": step,
            "status": status,
        }
        record.update(fields)
        self.stream.write(json.dumps(record, sort_keys=False, default=str) + "\n")
        self.stream.flush()


class Timer:
    """Monotonic stopwatch for the ``seconds`` field of each step."""

    def __init__(self):
        self.start = time.monotonic()

    def seconds(self) -> float:
        return round(time.monotonic() - self.start, 3)
