"""Builders for the audit tests: export documents, a recording fake analyzer, change requests."""
from __future__ import annotations

import dataclasses
import json
import pathlib
import tempfile
import textwrap
from functools import lru_cache

import yaml

import platformctl.pack  # noqa: F401  (first: the signing helper imports the pack's modules)
from platformctl.statefile import SECRET_SIG_KEY, SECRET_SIG_VALUE
from tests.policies.signed import Keyring

STACK, PROJECT = "production", "leadgen"
PREFIX = f"urn:pulumi:{STACK}::{PROJECT}::"
STACK_URN = PREFIX + "pulumi:pulumi:Stack::leadgen-production"
PROVIDER_URN = PREFIX + "pulumi:providers:aws::default_7_51_1"
NETWORK_URN = PREFIX + "leadgen:network:Network::main"


def secret(text: str, plaintext: bool = False) -> dict:
    return {SECRET_SIG_KEY: SECRET_SIG_VALUE,
            ("plaintext" if plaintext else "ciphertext"): json.dumps(text) if plaintext else "v1:AAAA" + text[::-1]}


def resource(kind: str, name: str, inputs: dict | None = None, outputs: dict | None = None,
             parent: str | None = STACK_URN, custom: bool = True, **extra) -> dict:
    qualified = kind if parent in (None, STACK_URN) else f"leadgen:network:Network${kind}"
    res = {"urn": f"{PREFIX}{qualified}::{name}", "custom": custom, "type": kind,
           "inputs": inputs or {}, "outputs": outputs if outputs is not None else dict(inputs or {})}
    if custom:
        res["id"] = f"{name}-id"
        res["provider"] = f"{PROVIDER_URN}::prov-id-1"
    if parent:
        res["parent"] = parent
    res.update(extra)
    return res


def baseline_resources() -> list[dict]:
    """A small stack: the root, a provider, a component, a tagged bucket, an untagged one, a NAT."""
    tags = {"environment": "production", "owner": "platform", "cost-center": "cc-1"}
    return [
        {"urn": STACK_URN, "custom": False, "type": "pulumi:pulumi:Stack",
         "outputs": {"vpcId": "vpc-1", "kubeconfig": secret("apiVersion: v1 token: hunter2")}},
        {"urn": PROVIDER_URN, "custom": True, "id": "prov-id-1", "type": "pulumi:providers:aws",
         "inputs": {"region": "us-east-1"}, "outputs": {"region": "us-east-1", "version": "7.51.1"}},
        resource("leadgen:network:Network", "main", custom=False),
        resource("aws:s3/bucket:Bucket", "logs", {"bucket": "logs", "tags": tags}),
        resource("aws:s3/bucket:Bucket", "scratch", {"bucket": "scratch"}),
        resource("aws:ec2/natGateway:NatGateway", "main-nat-a", {"subnetId": "subnet-1", "tags": tags},
                 parent=NETWORK_URN),
        resource("aws:rds/instance:Instance", "db", {"instanceClass": "db.r6g.large", "multiAz": True,
                                                      "allocatedStorage": 100, "storageType": "gp3",
                                                      "password": secret("s3cr3t-pw"), "tags": tags}),
    ]


def export(resources: list[dict], version: int = 3, pending: list[dict] | None = None,
           checkpoint: bool = False) -> dict:
    deployment = {"manifest": {"time": "2026-03-01T00:00:00Z", "magic": "m", "version": "v3.272.0"},
                  "secrets_providers": {"type": "passphrase", "state": {"salt": "v1:abc"}},
                  "resources": resources}
    if pending is not None:
        deployment["pending_operations"] = pending
    if checkpoint:
        doc = {"version": version, "checkpoint": {"stack": f"organization/{PROJECT}/{STACK}", "latest": deployment}}
    else:
        doc = {"version": version, "deployment": deployment}
    if version == 4:
        doc["features"] = ["refreshBeforeUpdate"]
    return doc


def write(tmp: pathlib.Path, doc, name: str = "state.json") -> pathlib.Path:
    path = tmp / name
    if isinstance(doc, bytes):
        path.write_bytes(doc)
    else:
        path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return path


@dataclasses.dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    urn: str
    message: str
    severity: str = "high"


class RecordingAnalyzer:
    """Stands in for the pack: untagged buckets (inputs) and a missing stack output (outputs)."""

    instances: list["RecordingAnalyzer"] = []

    def __init__(self, stack: str, project: str, config: dict):
        self.stack, self.project, self.config = stack, project, config
        self.analyzed: list[dict] = []
        self.stack_resources: list[dict] = []
        self.closed = False
        RecordingAnalyzer.instances.append(self)

    def analyze(self, resource: dict):
        self.analyzed.append(resource)
        if resource["type"] == "aws:s3/bucket:Bucket" and "cost-center" not in (resource["inputs"].get("tags") or {}):
            return [Violation("aws-s3-bucket-require-tags", "mandatory", resource["urn"],
                              f"bucket '{resource['name']}' has no cost-center tag")]
        return []

    def analyze_stack(self, resources: list[dict]):
        self.stack_resources = resources
        root = next((r for r in resources if r["type"] == "pulumi:pulumi:Stack"), None)
        if root is not None and "clusterName" not in root["outputs"]:
            return [Violation("stack-outputs-cluster-name", "advisory", root["urn"],
                              "stack does not export clusterName", "low")]
        return []

    def close(self):
        self.closed = True


# The approvers the audit tests' change requests name, with the roles governance/approvers.yaml gives them.
APPROVERS = {"alice@insurance-lead-gen.com": ["team-lead"],
             "bob@insurance-lead-gen.com": ["team-lead", "engineering-manager", "cab"],
             "carol@insurance-lead-gen.com": ["cto"]}


@lru_cache(maxsize=None)
def keyring() -> Keyring:
    """Throwaway SSH keys for the approvers, made once per test session in a temp folder."""
    return Keyring(pathlib.Path(tempfile.mkdtemp(prefix="audit-approvers-")), APPROVERS)


def fingerprint(address: str) -> str:
    """The SHA256 fingerprint of the test key of `address` (what the audit trail names a signer by)."""
    from platformctl.pack import signing
    return signing.fingerprint_of(pathlib.Path(str(keyring().keys[address]) + ".pub").read_text())


def _binding(root: pathlib.Path, stacks) -> str:
    """In a git checkout with a commit, approvals bind HEAD and each stack's resolved config there, as
    `platformctl change approve` records them (binding.py); elsewhere they bind nothing."""
    import subprocess

    from platformctl.pack import config
    from platformctl.project import pack_config

    head = subprocess.run(["git", "-C", str(root), "rev-parse", "--verify", "-q", "HEAD"], capture_output=True,
                          text=True)
    if head.returncode != 0 or not (root / ".git").exists():
        return ""
    digests = "".join(f"\n      {s}: '{config.config_digest(pack_config(s, root))}'" for s in stacks)
    return f"\n    commit: '{head.stdout.strip()}'\n    config:{digests}"


def change_request(root: pathlib.Path, cr_id: str, requested_by="alice@insurance-lead-gen.com",
                   approvals=(("bob@insurance-lead-gen.com", "team-lead", "2026-03-01T10:00:00Z"),),
                   window_start="2026-03-02T02:00:00Z", duration="2h", rollback=True, stacks=("production",),
                   risk="low", signed=True, change_type="normal", requester_signs=True):
    """changes/<cr_id>.yaml under `root`, every approval signed by its approver's key (unless not
    `signed`) as `platformctl change approve` signs it, with its requester's signed entry (unless not
    `requester_signs`) and governance/ (approvers, allowed signers) beside it."""
    binding = _binding(root, stacks)
    approvals_yaml = "".join(f"\n  - by: {b}\n    role: {r}\n    at: '{a}'{binding}" for b, r, a in approvals) or " []"
    rollback_yaml = "\n  - 'Scale back down: pulumi up with the previous config'" if rollback else " []"
    text = textwrap.dedent(f"""\
        id: {cr_id}
        title: API Service Scaling
        description: Increase API replicas from 3 to 5
        service: api-service
        change_type: {change_type}
        risk_level: {risk}
        impact_analysis: Minimal impact, gradual scale up
        requested_by: {requested_by}
        window:
          start: '{window_start}'
          duration: {duration}
        stacks: [{', '.join(stacks)}]
        """) + f"approvals:{approvals_yaml}\nrollback_plan:{rollback_yaml}\n"
    keyring().write(root, yaml.safe_load(text), sign=signed, requester=requester_signs)


def history_entry(version: int, start: str, end: str | None, cr: str | None, kind="update",
                  message="", result="succeeded") -> dict:
    entry = {"version": version, "kind": kind, "startTime": start, "message": message,
             "environment": {"exec.kind": "cli"}, "result": result,
             "config": {"aws:region": {"value": "us-east-1", "secret": False, "object": False}},
             "resourceChanges": {"same": 10, "update": 1}}
    if end is not None:
        entry["endTime"] = end
    if cr is not None:
        entry["config"]["leadgen:changeRequest"] = {"value": cr, "secret": False, "object": False}
    return entry
