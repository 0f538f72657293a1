"""`platformctl change new|show|digest|approve|verify|evidence|smoke|attest`: write, read, sign and check change requests,
and (the staging pipeline) attest that a commit was applied and passed its smoke tests.

An approval is an SSH signature (`ssh-keygen -Y sign`, namespace `leadgen-change-approval`, the
format git uses for signed commits) over the request's canonical content plus the approver, role
and time. These commands make and check exactly what the policy pack verifies, with the pack's own
modules, so the two cannot disagree:

    platformctl change new CR-2026-017 --title "..." --requested-by me@example.com
    platformctl change approve CR-2026-017 --role requester --key ~/.ssh/id_ed25519 --by me@example.com  # you asked
    platformctl change digest CR-2026-017 --by lead@example.com --role team-lead   # the bytes signed
    platformctl change approve CR-2026-017 --role team-lead --key ~/.ssh/id_ed25519 --by lead@example.com
    platformctl change verify CR-2026-017 --stack production
    platformctl change show CR-2026-017 --field database_migration                    # true or false

No private key is read here: `ssh-keygen` uses the key file (or the running agent) given.
Exit codes: 0 done / every approval valid, 2 `verify` found problems, 1 bad input.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pathlib
import subprocess
import sys

from platformctl.errors import InputError
from platformctl.files import write_atomically
from platformctl.project import ROOT

SKELETON = """\
# {id}: fill in every field, sign it as its requester (platformctl change approve --role requester),
# then ask the approvers to sign it (platformctl change approve).
# Times are quoted, in UTC: "2026-12-15T02:00:00Z". The window is at most 24h.
id: {id}
title: {title}
description: {description}
service: {service}
change_type: {change_type}          # standard | normal | emergency
risk_level: {risk_level}             # low | medium | high | critical
impact_analysis: {impact_analysis}
rollback_plan:                  # concrete steps, in order
{rollback_plan}
requested_by: {requested_by}
approvals: []
window: {{start: "{start}", duration: {duration}}}
stacks: [{stacks}]
database_migration: false       # true: the update changes the schema; a pgbackup backup runs first
"""


def _pack():
    # The pack's modules through platformctl's one door to them, loaded only when a subcommand runs.
    from platformctl.pack import approvers, changes, compliance, signing
    return approvers, changes, compliance, signing


def changes_module():
    return _pack()[1]


def _path(root: pathlib.Path, change_id: str) -> pathlib.Path:
    _, changes, _, _ = _pack()
    if not changes.ID_PATTERN.match(change_id):
        raise InputError(f"{change_id!r} is not a change request ID like CR-2026-014")
    return root / changes.CHANGES_DIR / f"{change_id}.yaml"


def _load(root: pathlib.Path, change_id: str):
    _, changes, _, _ = _pack()
    _path(root, change_id)
    loaded = changes.load(root, changes.CHANGES_DIR, change_id)
    if loaded.change is None:
        raise InputError(loaded.problems[0] if len(loaded.problems) == 1
                         else f"{loaded.problems[0]} (and {len(loaded.problems) - 1} more problems)")
    return loaded.change


def _time(text: str | None, flag: str) -> dt.datetime:
    _, changes, _, _ = _pack()
    if text is None:
        return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    try:
        return changes.parse_time(text)
    except ValueError as err:
        raise InputError(f"{flag} {err}") from None


def _git_email() -> str:
    try:
        out = subprocess.run(["git", "config", "user.email"], capture_output=True, text=True, timeout=5, cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip()


# --- new ------------------------------------------------------------------------------------------
def new(args: argparse.Namespace, root: pathlib.Path = ROOT) -> int:
    path = _path(root, args.id)
    if path.exists() or path.is_symlink():
        raise InputError(f"changes/{args.id}.yaml already exists; a change request is never overwritten")
    requested_by = args.requested_by or _git_email()
    if not requested_by:
        raise InputError("--requested-by is required (no git user.email to default to)")
    start = _time(args.start, "--start") if args.start else (
        dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=7)).replace(hour=2, minute=0, second=0, microsecond=0)
    if not changes_module().EMAIL.match(requested_by):
        raise InputError(f"--requested-by {requested_by!r} must be an e-mail address")
    # The fields a runbook knows when it opens the request come as flags (runbooks once edited the
    # template with sed); what is not given stays the template's text, which verify refuses.
    template = changes_module().TEMPLATE_TEXT
    given = {"description": args.description, "impact_analysis": args.impact}
    for field, flag in (("description", "--description"), ("impact_analysis", "--impact")):
        if given[field] is not None and not given[field].strip():
            raise InputError(f"{flag} must not be empty; say what this change does")
    steps = args.rollback or [template["rollback_plan"]]
    if any(not step.strip() for step in steps):
        raise InputError("--rollback must not be empty; give the first command or action that undoes the change")
    # Every free text as a JSON string, which is a YAML double-quoted scalar: `--title "A: B"` once
    # wrote a mapping where a title belongs, and the tool then refused its own file.
    quoted = {k: json.dumps(v) for k, v in {"title": args.title, "service": args.service,
                                            "requested_by": requested_by,
                                            "description": given["description"] or template["description"],
                                            "impact_analysis": given["impact_analysis"] or template["impact_analysis"],
                                            }.items()}
    text = SKELETON.format(id=args.id, change_type=args.change_type, risk_level=args.risk_level, **quoted,
                           rollback_plan="\n".join(f"  - {json.dumps(step)}" for step in steps),
                           start=start.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                           duration=args.duration, stacks=", ".join(args.stacks))
    path.parent.mkdir(exist_ok=True)
    with open(path, "x", encoding="utf-8") as handle:  # "x": never replace a file created meanwhile
        handle.write(text)
    left = [f for f, v in (("description", args.description), ("impact_analysis", args.impact),
                           ("rollback_plan", args.rollback)) if not v]
    todo = f"fill in {', '.join(left)}, " if left else ""
    print(f"wrote changes/{args.id}.yaml: {todo}commit it, sign "
          f"it as its requester (platformctl change approve {args.id} --role requester --by {requested_by} --key "
          "<your ssh key>), then ask for approvals")
    return 0


# --- show ---------------------------------------------------------------------------------------
# What a pipeline step or a reviewer asks of a request, as the pack parsed it (a request that does
# not parse is refused, so a step never acts on half of one).
SHOWN = ("id", "title", "service", "change_type", "risk_level", "requested_by", "stacks", "window",
         "database_migration")


def _shown(change, field: str) -> str:
    if field == "window":
        return f"{_fmt(change.window_start)} to {_fmt(change.window_end)}"
    value = getattr(change, field)
    if isinstance(value, bool):
        return "true" if value else "false"
    return ", ".join(value) if isinstance(value, tuple) else str(value)


def _say(text: str) -> None:
    """One line of output quoting a request's own text: its control characters shown escaped,
    as the reports show them, so an ESC or CR in a title cannot repaint the terminal or forge a line."""
    from platformctl.errors import terminal_line
    print(terminal_line(text))


def show(args: argparse.Namespace, root: pathlib.Path = ROOT) -> int:
    change = _load(root, args.id)
    if args.field:
        _say(_shown(change, args.field))
    else:
        for field in SHOWN:
            _say(f"{field}: {_shown(change, field)}")
        _say(f"requester: {_requester(root, change)}")
    return 0


def _requester(root: pathlib.Path, change) -> str:
    """Who asked, as the gate establishes it: the key that signed the `requester` entry."""
    approvers = _pack()[0]
    reason, key = approvers.requester(change, approvers.load(root))
    if reason:
        return f"unverified: {reason}"
    return f"{change.request_signature.by}, signature verified (key {key})"


# --- digest ---------------------------------------------------------------------------------------
def digest(args: argparse.Namespace, root: pathlib.Path = ROOT) -> int:
    _, _, _, signing = _pack()
    change = _load(root, args.id)
    if args.by is None and args.role is None:
        data = change.canonical + b"\n"
    elif args.by and args.role:
        commit, config = _binding(root, change, args.commit)
        data = signing.approval_message_for(change.canonical, by=args.by, role=args.role, at=_time(args.at, "--at"),
                                            commit=commit, config=config)
    else:
        raise InputError("--by and --role go together (the message names the approver and the role)")
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
    return 0


# --- what an approval binds ---------------------------------------------------------------------------
def _binding(root: pathlib.Path, change, commit: str | None) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The program commit an approval signs (`--commit`, default the checkout's HEAD) and the digest
    of the resolved config of each stack the request names that has a stack file here."""
    from platformctl.pack import config
    from platformctl.project import pack_config

    if commit is None:
        try:
            done = subprocess.run(["git", "-C", str(root), "rev-parse", "--verify", "HEAD"], capture_output=True,
                                  text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            done = None
        if done is None or done.returncode != 0:
            raise InputError(f"{root} is not a git checkout with a commit: name the program commit you approve "
                             "with --commit")
        commit = done.stdout.strip()
    commit = commit.strip().lower()
    if not changes_module().COMMIT.match(commit):
        raise InputError(f"--commit {commit!r} must be a full 40-hex git commit")
    digests = tuple(sorted((stack, config.config_digest(pack_config(stack, root))) for stack in change.stacks
                           if (root / f"Pulumi.{stack}.yaml").exists()))
    return commit, digests


# --- approve --------------------------------------------------------------------------------------
def approve(args: argparse.Namespace, root: pathlib.Path = ROOT) -> int:
    approvers, changes, _, signing = _pack()
    change = _load(root, args.id)
    by = args.by or _git_email()
    if not by or not changes.EMAIL.match(by):
        raise InputError(f"--by {by!r} must be the approver's e-mail address (as in governance/approvers.yaml)")
    if args.role not in changes.ENTRY_ROLES:
        raise InputError(f"--role {args.role!r} must be one of {', '.join(changes.ENTRY_ROLES)}")
    requesting = args.role == changes.REQUESTER
    if requesting and by.casefold() != change.requested_by.casefold():
        raise InputError(f"--by {by} is not {change.id}'s requested_by ({change.requested_by}); only the requester "
                         "signs as requester; nothing was written")
    if not requesting and by.casefold() == change.requested_by.casefold():
        raise InputError(f"{by} requested {change.id}; the requester approves nothing")
    directory = approvers.load(root)
    if directory.problems:
        raise InputError(directory.problems[0])
    if requesting:
        # Anyone with a key in allowed_signers may request a change: no role in approvers.yaml.
        if change.request_signature is not None:
            raise InputError(f"approvals[{change.request_signature.index}] is already the requester's signature; "
                             "a request has one; nothing was written")
    else:
        held = directory.roles.get(by.casefold())
        if held is None:
            raise InputError(f"--by {by} is not an approver in governance/approvers.yaml; nothing was written")
        if args.role not in held:
            raise InputError(f"--by {by} does not hold the role {args.role} in governance/approvers.yaml; nothing "
                             "was written")
        same = next((a for a in change.approvals if a.by.casefold() == by.casefold() and a.role == args.role), None)
        if same is not None:
            raise InputError(f"approvals[{same.index}] is already {by}'s {args.role} approval; nothing was written")
    at = _time(args.at, "--at")
    if at > dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=1):
        raise InputError(f"--at {args.at} is in the future; an approval is dated when it is given")
    key = pathlib.Path(os.path.expanduser(args.key))
    if not key.exists():
        raise InputError(f"--key {args.key}: no such key file")
    commit, config = _binding(root, change, args.commit)
    message = signing.approval_message_for(change.canonical, by=by, role=args.role, at=at, commit=commit,
                                           config=config)
    try:
        signature = signing.sign(message, key_file=key, namespace=signing.APPROVAL_NAMESPACE)
    except signing.SigningError as err:
        raise InputError(str(err)) from None
    path = _path(root, args.id)
    original = path.read_text(encoding="utf-8")
    updated = _with_approval(original, by=by, role=args.role, at=at, signature=signature, commit=commit,
                             config=config)
    # The request's content must be exactly what was signed, and the new approval must parse.
    check = changes.parse(updated, f"changes/{args.id}.yaml", args.id)
    added = None
    if check.change is not None:
        added = check.change.request_signature if requesting else (
            check.change.approvals[-1] if check.change.approvals else None)
    if check.change is None or check.change.canonical != change.canonical or added is None or \
            added.signature != signature.strip():
        raise InputError(f"changes/{args.id}.yaml: could not add the approval without changing the request "
                         "(is `approvals:` a top-level list?)")
    if requesting:
        verdict, key_used = approvers.requester(check.change, directory)
    else:
        verdict, key_used = approvers.check(check.change, directory)[-1], approvers.fingerprints(
            check.change, directory)[-1]
    if verdict:
        # A signature that does not verify is not an approval: nothing is written.
        raise InputError(f"the signature by {args.key} does not verify for {by}: {verdict}; nothing was written")
    asked, asked_key = approvers.requester(check.change, directory) if not requesting else ("", "")
    if not requesting and not asked and asked_key and asked_key == key_used:
        # One key is one person: the key that signed as requester approves nothing, under any address.
        raise InputError(f"--key {args.key} is the key that signed {change.id} as requester "
                         f"({change.requested_by}, {asked_key}); the requester approves nothing; nothing was written")
    write_atomically(path, updated)
    what = "the requester's signature" if requesting else f"approval by {by} as {args.role}"
    print(f"changes/{args.id}.yaml: {what} at {_fmt(at)} verified against governance/allowed_signers"
          + (f" (key {key_used})" if requesting and key_used else ""))
    return 0


def _with_approval(text: str, *, by: str, role: str, at: dt.datetime, signature: str, commit: str = "",
                   config: tuple = ()) -> str:
    """`text` with one approval appended to its top-level `approvals:` list, leaving every other
    line (and comment) as it was, so the canonical content does not move."""
    lines = text.splitlines()
    # The new entry is indented as the list's entries already are (a file written by another tool
    # may start them at column 0): YAML refuses a list whose entries disagree.
    start = next((i for i, line in enumerate(lines) if line.startswith("approvals:")), None)
    indent = "  "
    if start is not None:
        first = next((line for line in lines[start + 1:] if line.strip()), "")
        if first.lstrip().startswith("- ") and (first.startswith(" ") or first.startswith("-")):
            indent = first[:len(first) - len(first.lstrip())]
    pad = indent + "  "
    item = [f"{indent}- by: {by}", f"{pad}role: {role}", f'{pad}at: "{_fmt(at)}"']
    if commit:
        item.append(f'{pad}commit: "{commit}"')
    if config:
        item.append(f"{pad}config:")
        item += [f'{pad}  {json.dumps(stack)}: "{digest}"' for stack, digest in config]
    item.append(f"{pad}signature: |")
    item += [f"{pad}  {line}" for line in signature.strip().splitlines()]
    for i, line in enumerate(lines):
        if line.startswith("approvals:"):
            rest = line[len("approvals:"):].split("#", 1)[0].strip()
            if rest in ("", "[]"):
                end = i + 1
                while end < len(lines) and (lines[end].startswith((" ", "-")) or not lines[end].strip()):
                    end += 1
                while end > i + 1 and not lines[end - 1].strip():
                    end -= 1
                head = ["approvals:"] if rest == "[]" else [line]
                return "\n".join(lines[:i] + head + lines[i + 1:end] + item + lines[end:]) + "\n"
            raise InputError("approvals is written inline; write it as a block list (one `- ` entry per line) "
                             "before adding a signed approval")
    return text.rstrip("\n") + "\napprovals:\n" + "\n".join(item) + "\n"


def _fmt(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- verify ---------------------------------------------------------------------------------------
def verify(args: argparse.Namespace, root: pathlib.Path = ROOT) -> int:
    approvers, _, compliance, _ = _pack()
    change = _load(root, args.id)
    directory = approvers.load(root)
    reasons = approvers.check(change, directory)
    requester = approvers.requester(change, directory)
    for problem in directory.problems:
        _say(f"  ! {problem}")
    entry = change.request_signature
    if entry is None:
        _say(f"  NO requester: {requester[0]}")
    else:
        _say(f"  {'ok' if not requester[0] else 'NO'} approvals[{entry.index}] requester by {entry.by} at "
             f"{_fmt(entry.at)}" + (f": {requester[0]}" if requester[0] else f" (key {requester[1]})"))
    for approval, reason in zip(change.approvals, reasons):
        mark = "ok" if not reason else "NO"
        _say(f"  {mark} approvals[{approval.index}] {approval.role} by {approval.by} at {_fmt(approval.at)}"
             + (f": {reason}" if reason else ""))
    stacks = [args.stack] if args.stack else list(change.stacks)
    from platformctl.pack import changes as pack_changes

    loaded = pack_changes.Loaded(change.file, change, (), change.id)
    problems: list[str] = []
    for stack in stacks:
        # Judged as the gate judges the stack: dev and staging are not protected and need no
        # signed approval (this command once held every stack a request names to production's rules).
        verdict = compliance.assess(loaded, stack=stack, protected=_protected(root, stack), at=_time(args.at, "--at"),
                                    signatures=reasons, keys=approvers.fingerprints(change, directory),
                                    requester=requester)
        # A window still ahead is not a problem of the request: the update waits for it.
        ahead = [f for f in verdict.findings if f.rule == compliance.WINDOW and f.deferrable]
        problems += [f.message for f in verdict.findings if f not in ahead and f.message not in problems]
        for f in ahead:
            _say(f"  . {f.forecast}")
    for line in problems:
        _say(f"  - {line}")
    print(f"{change.id}: " + ("ready" if not problems else f"{len(problems)} problem(s)"))
    return 0 if not problems else 2


def _protected(root: pathlib.Path, stack: str) -> bool:
    from platformctl.pack import config, gate_settings
    from platformctl.project import pack_config

    raw = pack_config(stack, root) if (root / f"Pulumi.{stack}.yaml").exists() else {}
    settings = gate_settings.apply(config.from_mapping(raw), stack, gate_settings.load(root))
    return config.is_protected(stack, settings)


# --- attest ---------------------------------------------------------------------------------------
def attest(args: argparse.Namespace, root: pathlib.Path = ROOT) -> int:
    from platformctl.attestation import attest as write

    path = write(root, stack=args.stack, commit=args.commit, smoke_tests=args.smoke_tests,
                 key=pathlib.Path(args.key), at=_time(args.at, "--at"))
    print(f"{path.relative_to(root)}: {args.stack} applied {args.commit[:12]}; commit this file so the "
          "promotion gate finds it")
    return 0


# --- evidence -------------------------------------------------------------------------------------
def evidence(args: argparse.Namespace, root: pathlib.Path = ROOT) -> int:
    """Print LEADGEN_CHANGE_EVIDENCE for `pulumi up` of --stack under this request (one line of JSON):
    what a published pack reads instead of the repository (policies/governance/source.py)."""
    from platformctl.evidence import build

    text = build(root, args.stack, args.id)
    if args.out:
        write_atomically(pathlib.Path(args.out), text + "\n")
    else:
        print(text)
    return 0


# --- smoke ---------------------------------------------------------------------------------------
def smoke(args: argparse.Namespace, root: pathlib.Path = ROOT) -> int:
    """Run governance/smoke-tests.yaml against the stack's public name; print one line per test and,
    last, the names that passed (what `change attest --smoke-tests` takes). 0 all passed, 2 not."""
    from platformctl import smoke as runner
    from platformctl.errors import StackError
    from platformctl.project import existing_stack_file, pack_config

    tests = runner.load(root)
    try:
        existing_stack_file(args.stack, root)
    except StackError as err:
        raise InputError(str(err)) from None
    host = pack_config(args.stack, root).get("leadgen:traffic.hostname", "")
    if not host and not args.base_url:
        raise InputError(f"Pulumi.{args.stack}.yaml has no leadgen:traffic.hostname to test against")
    results = runner.run_all(tests, host, args.base_url)
    for name, why in results:
        print(f"  {'ok' if not why else 'FAIL'} {name}" + (f": {why}" if why else ""))
    passed = [name for name, why in results if not why]
    print(" ".join(passed))
    return 0 if len(passed) == len(results) else 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = sub.add_parser("new", help="write a change request skeleton to fill in")
    p.add_argument("id", metavar="CR-ID")
    p.add_argument("--title", required=True)
    p.add_argument("--requested-by", metavar="EMAIL")
    p.add_argument("--service", default="api-service")
    p.add_argument("--change-type", default="normal", choices=("standard", "normal", "emergency"))
    p.add_argument("--risk-level", default="low", choices=("low", "medium", "high", "critical"))
    p.add_argument("--start", metavar="TIME", help='window start, e.g. "2026-12-15T02:00:00Z"')
    p.add_argument("--duration", default="1h")
    p.add_argument("--stacks", nargs="+", default=["production"])
    p.add_argument("--description", metavar="TEXT", help="what changes, in one or two sentences")
    p.add_argument("--impact", metavar="TEXT", help="impact_analysis: who or what notices, and for how long")
    p.add_argument("--rollback", metavar="STEP", action="append",
                   help="a step of the rollback plan, in order (repeat for each step)")
    p.set_defaults(action_func=new)
    p = sub.add_parser("show", help="print the request's fields as the policy pack reads them")
    p.add_argument("id", metavar="CR-ID")
    p.add_argument("--field", choices=SHOWN, help="print this field's value only (booleans: true or false)")
    p.set_defaults(action_func=show)
    p = sub.add_parser("digest", help="print the exact bytes an approval signs")
    p.add_argument("id", metavar="CR-ID")
    p.add_argument("--by", metavar="EMAIL")
    p.add_argument("--role")
    p.add_argument("--at", metavar="TIME", help="approval time (default: now)")
    p.add_argument("--commit", metavar="SHA", help="the program commit approved (default: the checkout's HEAD)")
    p.set_defaults(action_func=digest)
    p = sub.add_parser("approve", help="sign the request with your SSH key and add the approval "
                                       "(--role requester: the requester signs that they asked for it)")
    p.add_argument("id", metavar="CR-ID")
    p.add_argument("--role", required=True, help="team-lead, engineering-manager, cto, cab; or requester, signed "
                                                 "by requested_by before any approval")
    p.add_argument("--key", required=True, help="your SSH private key file, or its .pub with the key in ssh-agent")
    p.add_argument("--by", metavar="EMAIL", help="your address in governance/approvers.yaml (default: git user.email)")
    p.add_argument("--at", metavar="TIME", help="approval time (default: now)")
    p.add_argument("--commit", metavar="SHA", help="the program commit approved (default: the checkout's HEAD); "
                   "the update must run it, or a descendant that changes only changes/ and attestations/")
    p.set_defaults(action_func=approve)
    p = sub.add_parser("verify", help="check every approval's signature and the CAB rules")
    p.add_argument("id", metavar="CR-ID")
    p.add_argument("--stack", help="judge for this stack only (default: every stack the request names)")
    p.add_argument("--at", metavar="TIME", help="judge as of this time (default: now)")
    p.set_defaults(action_func=verify)
    p = sub.add_parser("evidence", help="print the change evidence a published pack reads (LEADGEN_CHANGE_EVIDENCE)")
    p.add_argument("id", metavar="CR-ID")
    p.add_argument("--stack", required=True)
    p.add_argument("--out", metavar="FILE", help="write it to FILE instead of standard output")
    p.set_defaults(action_func=evidence)
    p = sub.add_parser("smoke", help="run the smoke tests (governance/smoke-tests.yaml) against a stack's public name")
    p.add_argument("--stack", required=True)
    p.add_argument("--base-url", metavar="URL", help="test this URL's scheme and host instead (e.g. a local server)")
    p.set_defaults(action_func=smoke)
    p = sub.add_parser("attest", help="sign that a stack applied a commit and its smoke tests passed (the pipeline)")
    p.add_argument("--stack", required=True)
    p.add_argument("--commit", required=True, metavar="SHA")
    p.add_argument("--smoke-tests", required=True, nargs="+", metavar="TEST")
    p.add_argument("--key", required=True, help="the pipeline's SSH private key file, or its .pub with the key in ssh-agent")
    p.add_argument("--at", metavar="TIME", help="when the stack applied it (default: now)")
    p.set_defaults(action_func=attest)


def main(args: argparse.Namespace) -> int:
    try:
        return args.action_func(args)
    except InputError as exc:
        print(f"platformctl change {args.action}: {exc}", file=sys.stderr)
        return 1
