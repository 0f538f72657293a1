"""The Pulumi project on disk: its root folder, its name and each stack's config, read as the CLI
assembles it (project defaults from `Pulumi.yaml`, then `Pulumi.<stack>.yaml`, every value a string).
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Callable, Optional

from platformctl.errors import InputError, StackError
from platformctl.pack import escape, strictread

Node, ReadError = strictread.Node, strictread.ReadError

ROOT = Path(__file__).resolve().parents[1]
# Pulumi's own rule for a stack name (sdk/go/common/tokens: `^[A-Za-z0-9_.-]{1,100}$`); with it no
# name can carry a "/" and reach a stack file outside the project folder.
STACK_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")


def stack_file(stack: str, root: Path = ROOT) -> Path:
    """`Pulumi.<stack>.yaml` in the project folder; StackError for a name Pulumi would refuse, or a
    file (a symbolic link) that resolves outside the project folder."""
    if not isinstance(stack, str) or not STACK_NAME.fullmatch(stack):
        raise StackError(f"--stack {escape.visible(repr(stack))[:120]} is not a stack name: 1 to 100 letters, "
                         "digits, '-', '_' or '.' (Pulumi's rule)")
    path = root / f"Pulumi.{stack}.yaml"
    if os.path.lexists(path):
        real = Path(os.path.realpath(path))
        if real.parent != Path(os.path.realpath(root)):
            raise StackError(f"Pulumi.{stack}.yaml resolves outside the repository; stack files must live in it")
    return path


def existing_stack_file(stack: str, root: Path = ROOT) -> Path:
    """`stack_file`, and the file must be there: StackError naming the stacks that are. Every
    command that takes --stack asks this, so each refuses a bad name by Pulumi's rule first."""
    path = stack_file(stack, root)
    if not path.exists():
        known = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in root.glob("Pulumi.*.yaml"))
        raise StackError(f"unknown stack {stack!r}: no Pulumi.{stack}.yaml (stacks: {', '.join(known)})")
    return path


def _project(root: Path) -> dict:
    try:
        return strictread.load_yaml(root / "Pulumi.yaml", name="Pulumi.yaml",
                                    single_line=lambda path: path == "name")
    except ReadError as e:
        raise StackError(str(e)) from None


def project_name(root: Path = ROOT) -> str:
    name = _project(root).get("name")
    if not isinstance(name, str) or not name:
        raise StackError("Pulumi.yaml: name: must be the project's name")
    return name


def _as_config_string(value: Any) -> str:
    # The CLI hands every config value to the program as a string; objects and lists as JSON.
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


def _is_secure(node: Node) -> bool:
    return node.kind == "map" and "secure" in node.value


def _holds_secure(node: Node) -> bool:
    """A `secure:` value anywhere inside: an object may nest one (`pulumi config set --path --secret`)."""
    pending = [node]
    while pending:
        n = pending.pop()
        if _is_secure(n):
            return True
        if n.kind == "map":
            pending.extend(n.value.values())
        elif n.kind == "list":
            pending.extend(n.value)
    return False


class _Declared:
    """The declared type of a full config key, or of a leaf under an object given for one.

    Pulumi.yaml declares each key's type; keys under a name the stack file chooses
    (`cluster.nodeGroups.<name>.capacityType`) are declared only in the program's config
    sections, asked when the project is that program."""

    def __init__(self, project: dict, name: str):
        self.name = name
        self.types: dict[str, tuple[str, str]] = {}
        for key, decl in (project.get("config") or {}).items():
            if isinstance(decl, dict):
                items = decl.get("items")
                self.types[key if ":" in key else f"{name}:{key}"] = (
                    str(decl.get("type", "")), str(items.get("type", "")) if isinstance(items, dict) else "")
        self.program_key: Callable[[str], Optional[Any]] = lambda path: None
        if name == "leadgen":
            from leadgen.config import declared_key
            self.program_key = declared_key

    def type_of(self, full: str) -> tuple[str, str]:
        """(type, items type), ("", "") when undeclared."""
        if full in self.types:
            return self.types[full]
        ns, _, path = full.partition(":")
        key = self.program_key(path) if ns == self.name else None
        return (key.type, key.items or "") if key is not None else ("", "")


def _check_value(full: str, node: Node, declared: _Declared) -> None:
    """Refuse what YAML would read other than written: a number or date where text is declared
    (`2.10` becomes 2.1), a list or object for text, a line break or control character in any
    text. An object given for a subtree is walked to its declared leaves."""
    kind, items = declared.type_of(full) if full else ("", "")
    if kind == "string":
        node.string(single_line=True)
        return
    if kind == "array" and items == "string" and node.kind == "list":
        for item in node.value:
            item.string(single_line=True)
        return
    if node.kind == "map":
        for key, child in node.value.items():
            _check_value(f"{full}.{key}", child, declared)
    elif node.kind == "list":
        for child in node.value:
            _check_value("", child, declared)
    elif node.tag == "str":
        node.string(single_line=True)


def _without_secure(node: Node) -> Any:
    """Plain data with every nested `secure:` value left out."""
    if node.kind == "map":
        return {k: _without_secure(v) for k, v in node.value.items() if not _is_secure(v)}
    if node.kind == "list":
        return [_without_secure(v) for v in node.value if not _is_secure(v)]
    return node.value


def stack_config(stack: str, root: Path = ROOT, *, missing_ok: bool = False,
                 skip_secrets: bool = False) -> dict[str, str]:
    """Project defaults from Pulumi.yaml overlaid by Pulumi.<stack>.yaml, full keys to strings.

    Both files go through the strict reader: a duplicate key (a second `config:` block), an alias
    bomb, deep nesting, a huge integer, bytes that are not UTF-8 or a document that is not a
    mapping stop the run with one line naming file and key, before the program starts.
    A run refuses a missing stack file and any `secure:` value (nested ones too); an audit of
    exported state may have neither the file nor a need for secrets (`missing_ok`, `skip_secrets`)."""
    path = stack_file(stack, root) if missing_ok else existing_stack_file(stack, root)
    project_file = root / "Pulumi.yaml"
    project = _project(root) if project_file.exists() or not missing_ok else {}
    name = project.get("name", "leadgen")
    config: dict[str, str] = {}
    for key, decl in (project.get("config") or {}).items():
        full = key if ":" in key else f"{name}:{key}"
        if isinstance(decl, dict) and "default" in decl:
            config[full] = _as_config_string(decl["default"])
    if not path.exists():
        return config
    try:
        doc = strictread.parse_yaml(path, name=path.name)
        values = doc.get("config")
        if values is None:
            return config
        if values.kind != "map":
            raise values.error("expected a mapping of config keys to values")
        declared = _Declared(project, name)
        for key, node in values.value.items():
            if _holds_secure(node):
                if skip_secrets:
                    if _is_secure(node):
                        continue  # encrypted values stay encrypted; no policy needs them
                    _check_value(key, node, declared)
                    config[key] = _as_config_string(_without_secure(node))
                    continue
                raise StackError(f"{path.name}: config.{escape.visible(key)}: holds a secret; secrets come from AWS Secrets "
                                 "Manager, never config")
            _check_value(key, node, declared)
            config[key] = _as_config_string(node.plain())
    except ReadError as e:
        raise StackError(str(e)) from None
    return config


_CREDENTIAL_PARAMS = ("token", "access_token", "password", "passwd", "secret", "key", "api_key", "apikey",
                      "signature", "x-amz-signature", "x-amz-credential", "x-amz-security-token", "auth")


def config_secrets(config: dict[str, str]) -> list[str]:
    """Credentials the stack's config carries inside URLs (`governance.prometheusUrl` may hold
    `https://user:password@host` or `?token=`): what every report made from it must redact.
    Objects given as JSON are searched too."""
    from urllib.parse import parse_qsl, urlsplit

    found: list[str] = []
    pending: list[Any] = list(config.values())
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.values())
            continue
        if isinstance(value, list):
            pending.extend(value)
            continue
        if not isinstance(value, str):
            continue
        if value[:1] in "[{":
            try:
                pending.append(json.loads(value))
                continue
            except ValueError:
                pass
        if "://" not in value:
            continue
        try:
            parts = urlsplit(value.strip())
            password = parts.password
        except ValueError:
            continue
        if password:
            found.append(password)
        if parts.username and password:
            found.append(f"{parts.username}:{password}")
        for name, param in parse_qsl(parts.query, keep_blank_values=False):
            if name.lower() in _CREDENTIAL_PARAMS and param:
                found.append(param)
    return sorted(set(found), key=len, reverse=True)


def pack_config(stack: str, root: Path = ROOT) -> dict[str, str]:
    """The stack's config as the CLI hands it to a policy pack.

    Audits and gates judge a stack that may only exist as exported state: a missing stack file is
    tolerated and encrypted values are left out (no policy reads a secret)."""
    try:
        return stack_config(stack, root, missing_ok=True, skip_secrets=True)
    except (StackError, OSError) as exc:
        raise InputError(str(exc)) from None
