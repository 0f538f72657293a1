"""A test-only `pulumi` for running runbook commands verbatim (tests/runbooks/harness.py puts it
on PATH). It implements exactly what the runbooks use, as the real CLI (3.272) does it:

- `pulumi config set [--path] KEY VALUE --stack S` / `-s S` and `pulumi config rm [--path] KEY --stack S`:
  the key takes the project's namespace when it has none (`leadgen:`), and is written into
  `Pulumi.<S>.yaml` under `config:`. A plain key is written whole (`leadgen:canary.weight`) and its
  value is always a string; with `--path` the dots are a path into objects (`leadgen:workloads` ->
  `api` -> `tag`) and `true`/`false` become booleans and integers numbers, all else a string
  ("pulumi config set" reference: "Top level entries are always treated as strings").
- `pulumi up|preview --stack S --policy-pack policies`: the program under the offline engine and
  the pack served as the CLI serves it, as `platformctl preview --update` (up) or
  `platformctl preview` (preview) run them; exit 255 (the CLI's failure code) on a mandatory
  finding or a program error.

Anything else (another subcommand, a missing --stack, `up` without `--policy-pack policies`,
which the real CLI would run with no gate at all) is refused with one line and exit 2, so a
runbook cannot lean on something the stand-in fakes. Each `up`/`preview` appends one JSON line to
$RUNBOOK_PULUMI_LOG: the arguments, platformctl's exit code and its output.
"""
from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys

import yaml

PROJECT = "leadgen"
FAILED = 255  # what the pulumi CLI exits with when an update or preview fails
NO_TYPE_PATH = re.compile(r"^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*$")


def refuse(message: str) -> "NoReturn":  # noqa: F821
    print(f"pulumi (test stand-in): {message}", file=sys.stderr)
    sys.exit(2)


def take(args: list[str], *names: str, value: bool = True):
    """Remove flag `names` (with its value when `value`) from `args`; the value, True or None."""
    for i, arg in enumerate(args):
        for name in names:
            if arg == name:
                del args[i]
                if not value:
                    return True
                if i >= len(args):
                    refuse(f"{name} needs a value")
                return args.pop(i)
            if value and arg.startswith(name + "="):
                del args[i]
                return arg.split("=", 1)[1]
    return None


def full_key(key: str) -> str:
    return key if ":" in key else f"{PROJECT}:{key}"


def path_value(text: str):
    # `--path`: "true"/"false" are booleans and integers numbers; everything else stays a string.
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    return text


def stack_file(stack: str) -> pathlib.Path:
    path = pathlib.Path.cwd() / f"Pulumi.{stack}.yaml"
    if not path.exists():
        refuse(f"no stack named {stack!r} (no Pulumi.{stack}.yaml in {pathlib.Path.cwd()})")
    return path


def load(path: pathlib.Path) -> dict:
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    doc.setdefault("config", {})
    return doc


def save(path: pathlib.Path, doc: dict) -> None:
    path.write_text(yaml.safe_dump(doc, sort_keys=False, default_flow_style=False), encoding="utf-8")


def config(args: list[str]) -> int:
    if not args or args[0] not in ("set", "rm"):
        refuse(f"config {' '.join(args[:1])} is not implemented (set and rm are)")
    action, rest = args[0], args[1:]
    stack = take(rest, "--stack", "-s")
    path_mode = bool(take(rest, "--path", value=False))
    take(rest, "--plaintext", value=False)
    if stack is None:
        refuse(f"config {action} needs --stack (the runbooks name the stack they change)")
    if any(a.startswith("-") for a in rest):
        refuse(f"config {action}: unsupported flag {next(a for a in rest if a.startswith('-'))}")
    wanted = 2 if action == "set" else 1
    if len(rest) != wanted:
        refuse(f"config {action} takes {'KEY VALUE' if action == 'set' else 'KEY'}, got {rest!r}")
    path = stack_file(stack)
    doc = load(path)
    values = doc["config"]
    key = full_key(rest[0])
    if not path_mode:
        if action == "set":
            values[key] = rest[1]  # top-level entries are always strings
        elif key in values:
            del values[key]
        save(path, doc)
        return 0
    namespace, _, dotted = key.partition(":")
    if not NO_TYPE_PATH.match(dotted):
        refuse(f"config {action} --path {rest[0]!r}: only dotted object paths are implemented")
    parts = dotted.split(".")
    top = f"{namespace}:{parts[0]}"
    if len(parts) == 1:
        if action == "set":
            values[top] = rest[1]
        else:
            values.pop(top, None)
        save(path, doc)
        return 0
    node = values.setdefault(top, {}) if action == "set" else values.get(top)
    if node is not None and not isinstance(node, dict):
        refuse(f"config {action} --path {rest[0]!r}: {top} is not an object")
    for part in parts[1:-1]:
        if node is None:
            break
        node = node.setdefault(part, {}) if action == "set" else node.get(part)
        if node is not None and not isinstance(node, dict):
            refuse(f"config {action} --path {rest[0]!r}: {part} is not an object")
    if action == "set":
        node[parts[-1]] = path_value(rest[1])
    elif node is not None:
        node.pop(parts[-1], None)
    save(path, doc)
    return 0


def update(command: str, args: list[str]) -> int:
    stack = take(args, "--stack", "-s")
    pack = take(args, "--policy-pack")
    for flag in ("--yes", "-y", "--non-interactive", "--diff"):
        take(args, flag, value=False)
    take(args, "--message", "-m")
    if stack is None:
        refuse(f"{command} needs --stack")
    if pack != "policies":
        refuse(f"{command} without --policy-pack policies runs no gate; the runbooks always name the pack")
    if args:
        refuse(f"{command}: unsupported arguments {args!r}")
    stack_file(stack)
    # Through the test worker's warm interpreter when it has one (tests/warm.py): same run, less import.
    warm = pathlib.Path(__file__).resolve().parents[1] / "warm.py"
    argv = [sys.executable, str(warm), "-m", "platformctl", "preview", "--stack", stack]
    if command == "up":
        argv.append("--update")  # PULUMI_DRY_RUN=false, the real clock: the gates judge the update
    done = subprocess.run(argv, capture_output=True, text=True, cwd=pathlib.Path.cwd())
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    log = os.environ.get("RUNBOOK_PULUMI_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"command": command, "stack": stack, "code": done.returncode,
                                     "output": done.stdout + done.stderr}) + "\n")
    return 0 if done.returncode == 0 else FAILED


def main(argv: list[str]) -> int:
    args = list(argv)
    take(args, "--non-interactive", value=False)
    if not args:
        refuse("no command")
    if args[0] == "config":
        return config(args[1:])
    if args[0] in ("up", "preview"):
        return update(args[0], args[1:])
    refuse(f"{args[0]} is not implemented (config set|rm, up, preview are)")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
