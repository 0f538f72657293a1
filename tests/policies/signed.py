"""Signed change requests for tests: throwaway SSH keys made with the real ssh-keygen in a temp
folder, a governance/ folder (approvers.yaml, allowed_signers) written beside changes/, and
requests whose approvals are signed exactly as `platformctl change approve` signs them.
No private key ever leaves the temp folder."""
from __future__ import annotations

import copy
import datetime as dt
import pathlib
import subprocess

import yaml

from governance import approvers, changes, signing

# When the requester signed the test requests: before any approval the tests give.
REQUESTER_AT = "2026-11-19T09:00:00Z"

# Everyone the tests approve with, and the roles governance/approvers.yaml gives them.
PEOPLE = {
    "team-lead@example.com": ["team-lead"],
    "engineering-manager@example.com": ["engineering-manager"],
    "cto@example.com": ["cto"],
    "cab@example.com": ["cab"],
    "cab-chair@example.com": ["cab"],
    # One person who sits on the CAB and also manages the team: the two-people rule is about them.
    "manager-on-cab@example.com": ["engineering-manager", "cab"],
    "requester@example.com": ["team-lead"],
    "dev@example.com": ["team-lead"],
    # Who only ever asks for changes (the runbooks' on-call engineers): a key, no approver role.
    "oncall@example.com": None,
    "dba-oncall@example.com": None,
    "releaser@example.com": None,
}


class Keyring:
    def __init__(self, folder: pathlib.Path, people=PEOPLE):
        self.folder, self.people, self.keys = folder, dict(people), {}
        for address in self.people:
            key = folder / address.replace("@", "_at_").replace(".", "_")
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", address, "-f", str(key)],
                           check=True)
            self.keys[address] = key

    @property
    def roles(self) -> dict:
        """approvers.yaml's `approvers:`: everyone who holds a role (requesters-only hold none)."""
        return {address: held for address, held in self.people.items() if held}

    def signers_text(self, people=None) -> str:
        lines = [f'{a} namespaces="{signing.APPROVAL_NAMESPACE}" {pathlib.Path(str(self.keys[a]) + ".pub").read_text().strip()}'
                 for a in (people or self.people)]
        return "\n".join(lines) + "\n"

    def install(self, root: pathlib.Path, roles=None) -> None:
        """governance/approvers.yaml and governance/allowed_signers under `root`."""
        folder = root / approvers.FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        held = {address: r for address, r in (roles or self.people).items() if r}
        (folder / approvers.APPROVERS).write_text(yaml.safe_dump({"approvers": held}))
        (folder / approvers.SIGNERS).write_text(self.signers_text())

    def sign(self, document: dict, by: str, role: str, at: str, key_of: str | None = None, commit: str = "",
             config: dict | None = None) -> str:
        """The signature `key_of`'s key (by default `by`'s) makes over `document` for this approval
        (binding `commit` and each stack's config digest in `config` when given)."""
        text = yaml.safe_dump({k: v for k, v in document.items() if k != "approvals"}, sort_keys=False)
        canonical = changes.canonical(changes.read_document(text, "x"))
        message = signing.approval_message_for(canonical, by=by, role=role, at=changes.parse_time(at), commit=commit,
                                               config=tuple(sorted((config or {}).items())))
        return signing.sign(message, key_file=self.keys[key_of or by], namespace=signing.APPROVAL_NAMESPACE)

    def _signed(self, document: dict, approval):
        # Only well-formed approvals by a known key are signed; the rest stay as written, so a test
        # about a malformed approval still sees its own malformation.
        if not isinstance(approval, dict) or "signature" in approval or approval.get("by") not in self.keys:
            return approval
        try:
            return {**approval, "signature": self.sign(document, approval["by"], approval["role"], approval["at"],
                                                       commit=approval.get("commit", ""),
                                                       config=approval.get("config"))}
        except (ValueError, KeyError, TypeError):
            return approval

    def write(self, root: pathlib.Path, document: dict, *, sign: bool = True, name: str | None = None,
              requester: bool = True) -> pathlib.Path:
        """changes/<id>.yaml under `root`, each approval signed unless it has a signature already
        or `sign` is False. The governance folder is installed if missing. Unless `requester` is
        False, a request whose `approvals` list has no `requester` entry gets one, last, by its
        requested_by (as `platformctl change approve --role requester` writes it, before approvals)."""
        if not (root / approvers.FOLDER).exists():
            self.install(root)
        doc = dict(document)
        if requester and isinstance(doc.get("approvals"), list) and not any(
                isinstance(a, dict) and a.get("role") == changes.REQUESTER for a in doc["approvals"]):
            # Bound to what the approvals bind, as the requester signs the same commit and config.
            bound = next((a for a in doc["approvals"] if isinstance(a, dict) and a.get("commit")), {})
            doc["approvals"] = list(doc["approvals"]) + [
                {"by": doc.get("requested_by"), "role": changes.REQUESTER, "at": _first_at(doc["approvals"]),
                 **{k: copy.deepcopy(bound[k]) for k in ("commit", "config") if k in bound}}]
        if sign and isinstance(doc.get("approvals"), list):
            doc["approvals"] = [self._signed(document, a) for a in doc["approvals"]]
        (root / "changes").mkdir(exist_ok=True)
        path = root / "changes" / f"{name or document['id']}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path


def _first_at(approvals) -> str:
    """When the requester signed: REQUESTER_AT, or the earliest approval's time when that is earlier
    (a request is signed before it is approved; an approval dated in the future stays the test's own)."""
    times = []
    for a in approvals:
        try:
            times.append(changes.parse_time(a["at"]))
        except (ValueError, KeyError, TypeError):
            continue
    default = changes.parse_time(REQUESTER_AT)
    return iso(min(times + [default]))


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
