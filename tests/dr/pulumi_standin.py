"""A `pulumi` for running the DR runbook's blocks verbatim (runbook_runner.py), test-only.

- `pulumi config set KEY VALUE --stack S`: writes `leadgen:KEY` (or a namespaced KEY) into
  Pulumi.S.yaml as the CLI does (a top-level string);
- `pulumi up --stack S --policy-pack policies`: the program under the offline engine and the pack
  as `pulumi up` judges it (`platformctl preview --stack S --update`); its exit code and output are
  appended to $RUNBOOK_PULUMI_LOG.
Anything else fails with one line, so a runbook cannot silently rely on an unimplemented command.
"""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import yaml


def refuse(message: str) -> int:
    print(f"pulumi (test stand-in): {message}", file=sys.stderr)
    return 2


def take(args: list[str], flag: str):
    if flag in args:
        i = args.index(flag)
        value = args[i + 1] if i + 1 < len(args) else None
        del args[i:i + 2]
        return value
    return None


def main(argv: list[str]) -> int:
    args = list(argv)
    stack = take(args, "--stack")
    if stack is None or not (pathlib.Path.cwd() / f"Pulumi.{stack}.yaml").is_file():
        return refuse(f"{' '.join(argv)}: needs --stack naming a stack file")
    path = pathlib.Path.cwd() / f"Pulumi.{stack}.yaml"
    if args[:2] == ["config", "set"] and len(args) == 4:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        key = args[2] if ":" in args[2] else f"leadgen:{args[2]}"
        doc["config"][key] = args[3]
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return 0
    if args == ["up", "--policy-pack", "policies"]:
        done = subprocess.run([sys.executable, "-m", "platformctl", "preview", "--stack", stack, "--update"],
                              capture_output=True, text=True)
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
        with open(os.environ["RUNBOOK_PULUMI_LOG"], "a", encoding="utf-8") as log:
            log.write(json.dumps({"stack": stack, "code": done.returncode, "output": done.stdout + done.stderr}) + "\n")
        return done.returncode
    return refuse(f"{' '.join(argv)} is not implemented (config set, up --policy-pack policies are)")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
