"""Failover and failback as the runbook walks them: each update's stack, config and expected changes.

docs/runbooks/disaster-recovery.md gives the DBA these steps; `platformctl dr drill` runs them
offline (each stack's program under the mocks, each update's diff against the state the previous
one left, as `preview --against` computes it) and checks each diff against `expect` here. A step
is an update of one stack: its config is the stack file with every earlier step's keys on that
stack and its own. Steps that are not updates (the decision, waiting for lag, the 10 healthy
minutes) are `actions` of the step they precede or follow. `primary_down`: the step runs while
the primary's region is lost, so nothing it changes may be there.

The final snapshot names are the drill's: in an outage the DBA writes the time of the update.
"""
from __future__ import annotations

import datetime as dt
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

PRIMARY, RECOVERY = "production", "production-dr"
PRIMARY_REGION, RECOVERY_REGION = "us-east-1", "us-west-2"


@dataclass(frozen=True)
class Step:
    name: str
    stack: str
    config: dict  # leadgen:* keys this update sets ("" or a value), on top of earlier steps'
    # What the update changes, by step kind, as resource names (the last part of the URN).
    expect: dict = field(default_factory=dict)
    primary_down: bool = False
    before: tuple = ()  # what the DBA does and checks before the update
    after: tuple = ()  # ... and after it, before the next step


_DB_P, _DB_R = "leadgen-production-postgres", "leadgen-production-dr-postgres"
_JOBS = ("pgbackup", "pgbackup-backup", "pgbackup-verify", "pgbackup-sa", "pgbackup-verify-sa",
         "pgbackup-irsa", "pgbackup-verify-irsa", "pgbackup-irsa-role", "pgbackup-verify-irsa-role",
         "pgbackup-irsa-policy", "pgbackup-verify-irsa-policy")


def _jobs(stack: str) -> list[str]:
    return sorted(f"leadgen-{stack}-{j}" for j in _JOBS)


STEP_CHECK = "platformctl dr step-check --stack {stack} --prometheus <its sloStore.queryUrl>: 10 healthy minutes"

STEPS: tuple[Step, ...] = (
    Step("failover", RECOVERY, {"dr.state": "active"}, primary_down=True,
         before=("confirm the region failure; note the replica's lag (the data lost)",
                 "emergency change request signed by the on-call DBA and the CTO",
                 "decision: FailoverDecision=1 in us-west-2 (clients move to us-west-2, read-only until this update)"),
         after=("writes succeed in us-west-2",),
         expect={"create": _jobs("production-dr"),
                 "update": sorted([_DB_R, "leadgen-production-dr-redis", "leadgen-production-dr-general-ng",
                                   "leadgen-production-dr-spot-ng"]),
                 "delete": ["leadgen-production-dr-standby-replica-lag"]}),
    Step("unprotect-primary", PRIMARY,
         {"dr.unprotectDatabase": "true", "dr.finalSnapshot": f"{_DB_P}-final-20261203-0900"},
         before=("us-east-1 restored (AWS Health Dashboard); the decision stays at 1",),
         expect={"update": [_DB_P]}),
    Step("rebuild-primary", PRIMARY, {"dr.replicaOf": RECOVERY},
         after=("wait until ReplicaLag of leadgen-production-postgres (us-east-1) is below 5 s",
                STEP_CHECK.format(stack=RECOVERY)),
         expect={"create": ["production-dr"], "replace": [_DB_P], "delete": _jobs("production")}),
    Step("handback", RECOVERY,
         {"dr.state": "handback", "dr.unprotectDatabase": "true", "dr.finalSnapshot": f"{_DB_R}-final-20261203-1000"},
         before=("cutover starts: announce the write freeze",),
         after=("wait until ReplicaLag of leadgen-production-postgres is 0",),
         expect={"update": sorted([_DB_R, f"{_DB_R}-params"])}),
    Step("promote-primary", PRIMARY,
         {"dr.replicaOf": "", "dr.promotedReplica": "true", "dr.unprotectDatabase": "false"},
         after=("decision: FailoverDecision=0 in us-west-2 (every client back to us-east-1): cutover ends",
                STEP_CHECK.format(stack=PRIMARY)),
         expect={"create": _jobs("production"), "update": [_DB_P], "delete": ["production-dr"]}),
    Step("standby", RECOVERY, {"dr.state": "standby"},
         expect={"create": ["leadgen-production-dr-standby-replica-lag"], "replace": [_DB_R],
                 "update": sorted([f"{_DB_R}-params", "leadgen-production-dr-redis",
                                   "leadgen-production-dr-general-ng", "leadgen-production-dr-spot-ng"]),
                 "delete": _jobs("production-dr")}),
    Step("protect-recovery", RECOVERY, {"dr.unprotectDatabase": "false", "dr.finalSnapshot": ""},
         after=("platformctl dr check --stack production-dr: ready to take over",),
         expect={"update": [_DB_R]}),
)


def configs(steps=STEPS) -> list[dict]:
    """Each step's full override set for its stack: every earlier step's keys on that stack, then its own."""
    held: dict[str, dict] = {}
    out = []
    for step in steps:
        held.setdefault(step.stack, {})
        held[step.stack] = {**held[step.stack], **{f"leadgen:{k}": v for k, v in step.config.items()}}
        out.append(dict(held[step.stack]))
    return out


# --- the rehearsal ---------------------------------------------------------------------------------
KINDS = ("create", "update", "replace", "delete")
# The exports' timestamps: a fixed instant, so a drill's record never depends on when it ran.
EXPORTED_AT = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


@dataclass
class Rehearsed:
    step: Step
    diff: object  # platformctl.program.diff.Diff against the state the stack's previous update left
    changed: dict  # kind -> sorted URNs (providers left out: a provider is not a change of its own)
    before: object = None  # the stack's program run the previous update left, and this one's
    after: object = None

    @property
    def names(self) -> dict:
        return {k: sorted(u.rsplit("::", 1)[-1] for u in v) for k, v in self.changed.items() if v}

    @property
    def ok(self) -> bool:
        return self.names == {k: sorted(v) for k, v in self.step.expect.items() if v} and not self.diff.errors


def changed(d) -> dict:
    """A diff's steps by kind, as URNs, providers left out."""
    out = {k: [] for k in KINDS}
    for s in d.steps:
        if not s.type.startswith("pulumi:providers:"):
            out[s.op].append(s.urn)
    return {k: sorted(v) for k, v in out.items()}


def rehearse(run, steps=STEPS, workdir=None):
    """Each step's update, offline: `run(stack, overrides)` runs a stack's program as an update
    (every output known) with `overrides` on its stack file; the state the stack's previous update
    left is written as a `pulumi stack export` file and read back as `preview --against` reads it,
    so each diff is the one `platformctl preview --stack S --against <that file>` prints."""
    from platformctl.program.diff import diff, run_resources, state_resources
    from platformctl.program.export import to_export

    folder = Path(workdir or tempfile.mkdtemp(prefix="dr-drill-"))
    last: dict = {}
    for step in steps:
        if step.stack not in last:
            last[step.stack] = run(step.stack, {})
    out = []
    for step, overrides in zip(steps, configs(steps)):
        before = last[step.stack]
        export = folder / f"{len(out):02d}-{step.stack}-before-{step.name}.json"
        export.write_text(json.dumps(to_export(before.project, before.stack, before.resources, before.outputs,
                                               now=EXPORTED_AT)))
        after = run(step.stack, overrides)
        d = diff(state_resources(export), run_resources(after))
        out.append(Rehearsed(step, d, changed(d), before, after))
        last[step.stack] = after
    return out

