"""Mocks for disaster recovery: the primary stack a recovery site reads, and Route53's health checks.

A `pulumi.StackReference` is a read of a `pulumi:pulumi:StackReference` resource whose outputs are
the referenced stack's outputs as its last update left them. Offline there is no last update, so
the referenced stack's program is run here, under the same mocks as an update (`preview=False`,
every output known), and its outputs are what the reference returns: computed from the program,
never copied. It runs in a child process because the SDK's mock engine holds one program per
process; each referenced stack is run once per process.
"""
from __future__ import annotations

import functools
import json
import subprocess
import sys

from platformctl.errors import StackError
from platformctl.program.mocks import Context, invoke_for, outputs_for
from platformctl.project import ROOT

_CHILD = """
import json, sys
from platformctl.program.engine import SECRET_SIG, run_program
run = run_program(sys.argv[1], preview=False)
outputs, secret = {}, []
for key, value in run.outputs.items():
    if isinstance(value, dict) and SECRET_SIG in value:
        secret.append(key)
        value = value["value"]
    outputs[key] = value
json.dump({"outputs": outputs, "secretOutputNames": sorted(secret)}, sys.stdout)
"""


@functools.lru_cache(maxsize=8)
def stack_outputs(stack: str) -> dict:
    """`{"outputs": ..., "secretOutputNames": [...]}` of `stack` as an update of its program leaves them."""
    proc = subprocess.run([sys.executable, "-c", _CHILD, stack], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise StackError(f"the referenced stack {stack} could not be run offline: {last}")
    return json.loads(proc.stdout)


def referenced_stack(name: str) -> str:
    """The stack part of a reference: `production`, `org/production` or `org/project/production`."""
    return name.rsplit("/", 1)[-1]


@outputs_for("pulumi:pulumi:StackReference")
def _stack_reference(name, inputs, ctx: Context):
    target = inputs.get("name") or name
    return {"id": target, "name": target, **stack_outputs(referenced_stack(target))}


@outputs_for("aws:route53/healthCheck:HealthCheck")
def _health_check(name, inputs, ctx: Context):
    hid = (f"{ctx.hexid(name, 'h1', n=8)}-{ctx.hexid(name, 'h2', n=4)}-{ctx.hexid(name, 'h3', n=4)}-"
           f"{ctx.hexid(name, 'h4', n=4)}-{ctx.hexid(name, 'h5', n=12)}")
    return {"id": hid, "arn": f"arn:aws:route53:::healthcheck/{hid}"}


@outputs_for("aws:route53/record:Record")
def _record(name, inputs, ctx: Context):
    # The provider's ID: zone, name, type and set identifier joined by underscores.
    parts = [inputs.get("zoneId"), inputs.get("name"), inputs.get("type"), inputs.get("setIdentifier")]
    return {"id": "_".join(str(p) for p in parts if p), "fqdn": inputs.get("name")}


@invoke_for("aws:secretsmanager/getSecretVersion:getSecretVersion")
def _secret_version(args, ctx: Context):
    # Offline there is no secret: a stand-in URL of the paging service's shape, never a real key.
    secret = str(args.get("secretId") or "")
    return {"id": secret, "secretId": secret, "arn": ctx.arn("secretsmanager", f"secret:{secret}"),
            "versionId": "offline", "versionStages": ["AWSCURRENT"],
            "secretString": "https://paging.invalid/sns/offline-stand-in"}
