"""Hostile and careless stack files: each is refused by the strict reader with one line naming the
file and the key, before the program starts (so nothing can be registered), by every command that
reads a stack: preview, render, cost and gate."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from leadgen.config import all_keys
from leadgen.config.base import NAME
from platformctl.errors import StackError
from platformctl.project import ROOT, stack_config

PY = sys.executable

BOMB = (b"config:\n  aws:region: us-east-1\n"
        b"  leadgen:x0: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        + b"".join(b"  leadgen:x%d: &%c [%s]\n" % (i, 97 + i, b", ".join([b"*%c" % (96 + i)] * 9)) for i in range(1, 8)))

HOSTILE = {
    # name: (file bytes, the exact line)
    "alias-bomb": (BOMB, "config.leadgen:x2[7]: more than 16 alias uses (*b); aliases are capped so a "
                         "small file cannot expand to gigabytes"),
    "duplicate-key": (b"config:\n  leadgen:environment: dev\n  leadgen:environment: production\n",
                      "config.leadgen:environment: duplicate key (first on line 2, again on line 3); "
                      "the last would silently win"),
    "second-config-block": (b"config:\n  leadgen:environment: production\nconfig:\n  leadgen:environment: dev\n",
                            "config: duplicate key (first on line 1, again on line 3); the last would silently win"),
    "not-utf8": (b"config:\n  leadgen:owner: caf\xe9\n",
                 "config.leadgen:owner: not UTF-8 text (byte 0xe9 at line 2, column 21)"),
    "a-list": (b"- config\n- leadgen:environment\n", "the document is a list; expected a mapping"),
    "deep-nesting": (b"config:\n  leadgen:x: " + b"[" * 100 + b"]" * 100 + b"\n", None),
    "5000-digit-int": (b"config:\n  leadgen:network.azCount: " + b"7" * 5000 + b"\n",
                       "config.leadgen:network.azCount: integer with 5000 digits; the limit is 32"),
    "unquoted-tag": (b"config:\n  leadgen:workloads.api.tag: 2.10\n",
                     'config.leadgen:workloads.api.tag: must be quoted: unquoted 2.10 would become the number 2.1; write "2.10"'),
    "unquoted-engine": (b"config:\n  leadgen:data.postgres.engineVersion: 17.10\n",
                        'config.leadgen:data.postgres.engineVersion: must be quoted: unquoted 17.10 would become the number 17.1; write "17.10"'),
    "nested-unquoted-tag": (b"config:\n  leadgen:workloads:\n    api:\n      tag: 2.10\n",
                            'config.leadgen:workloads.api.tag: must be quoted: unquoted 2.10 would become the number 2.1; write "2.10"'),
    "list-for-text": (b"config:\n  leadgen:owner: [a, b]\n", "config.leadgen:owner: expected text, got a list"),
    "newline-in-zone-id": (b'config:\n  leadgen:traffic.zoneId: "Z0451\\n"\n',
                           "config.leadgen:traffic.zoneId: ends with a line break; one line of text is expected "
                           "(a `|` block keeps its last newline: use `|-` or a quoted string)"),
    "block-scalar-arn": (b"config:\n  leadgen:cluster.deployerRoleArn: |\n    arn:aws:iam::123456789012:role/x\n",
                         "config.leadgen:cluster.deployerRoleArn: ends with a line break; one line of text is expected "
                         "(a `|` block keeps its last newline: use `|-` or a quoted string)"),
    "python-tag": (b"config:\n  leadgen:owner: !!python/object/apply:os.system [echo]\n", None),
    "nested-secure": (b"config:\n  leadgen:observability:\n    slackChannel:\n      secure: v1:c2VjcmV0:Y2lwaGVy\n",
                      "config.leadgen:observability: holds a secret; secrets come from AWS Secrets Manager, never config"),
}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    dest = tmp_path_factory.mktemp("hostile")
    shutil.copy(ROOT / "Pulumi.yaml", dest / "Pulumi.yaml")
    for name, (data, _) in HOSTILE.items():
        (dest / f"Pulumi.{name}.yaml").write_bytes(data)
    return dest


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_stack_file_is_one_line_naming_file_and_key(root, name):
    tracemalloc.start()
    try:
        with pytest.raises(StackError) as caught:
            stack_config(name, root)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(caught.value)
    # Refused before it is expanded: an alias bomb or a 5,000-digit int never grows in memory.
    assert peak < 8 * 2**20, f"{name}: {peak} bytes traced while refusing it"
    assert message.startswith(f"Pulumi.{name}.yaml: ")
    assert "\n" not in message and len(message) < 400
    want = HOSTILE[name][1]
    if want is not None:
        assert message == f"Pulumi.{name}.yaml: {want}"
    assert "c2VjcmV0" not in message and "Y2lwaGVy" not in message


def test_deep_nesting_and_foreign_tags_name_the_key(root):
    with pytest.raises(StackError) as deep:
        stack_config("deep-nesting", root)
    assert str(deep.value).startswith("Pulumi.deep-nesting.yaml: config.leadgen:x[0][0]")
    assert str(deep.value).endswith("nested deeper than 64 levels")
    with pytest.raises(StackError) as tag:
        stack_config("python-tag", root)
    assert str(tag.value).startswith("Pulumi.python-tag.yaml: config.leadgen:owner: ")
    assert "python/object/apply" in str(tag.value)


# --- every text key refuses YAML's number, boolean, null and date readings ----------------------
TRAPS = {"2.10": "the number 2.1", "17.10": "the number 17.1", "yes": "the boolean True",
         "off": "the boolean False", "~": "null", "2026-01-01": "the date 2026-01-01",
         "0x1F": "the integer 31", "017": "the integer 15", "1_000": "the integer 1000"}
TEXT_KEYS = sorted(k.path.replace(NAME, "general") for k in all_keys() if k.type == "string")


@pytest.mark.parametrize("path", TEXT_KEYS)
def test_every_text_key_refuses_unquoted_values_yaml_would_retype(tmp_path, path):
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    for trap, reading in TRAPS.items():
        (tmp_path / "Pulumi.trap.yaml").write_text(f"config:\n  leadgen:{path}: {trap}\n")
        with pytest.raises(StackError) as caught:
            stack_config("trap", tmp_path)
        assert str(caught.value) == (f'Pulumi.trap.yaml: config.leadgen:{path}: must be quoted: unquoted '
                                     f'{trap} would become {reading}; write "{trap}"')
    (tmp_path / "Pulumi.trap.yaml").write_text(f"config:\n  leadgen:{path}:\n")
    with pytest.raises(StackError, match=r"is empty \(read as null\)"):
        stack_config("trap", tmp_path)
    # Quoted, the same text is the text: the reader takes it and the config checks judge it.
    (tmp_path / "Pulumi.trap.yaml").write_text(f'config:\n  leadgen:{path}: "2.10"\n')
    assert stack_config("trap", tmp_path)[f"leadgen:{path}"] == "2.10"


# --- through every command that reads a stack ---------------------------------------------------
@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory):
    dest = tmp_path_factory.mktemp("repo") / "repo"
    shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(".venv*", ".git", "build", "__pycache__", "tests", "bench"))
    for name in ("alias-bomb", "second-config-block", "not-utf8", "5000-digit-int", "a-list"):
        (dest / f"Pulumi.{name}.yaml").write_bytes(HOSTILE[name][0])
    return dest


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PY, "-m", "platformctl", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(cwd)}, timeout=120)


@pytest.mark.parametrize("command,name", [
    ("preview", "alias-bomb"), ("render", "alias-bomb"), ("cost", "alias-bomb"), ("gate", "alias-bomb"),
    ("preview", "second-config-block"), ("gate", "second-config-block"), ("cost", "not-utf8"),
    ("render", "5000-digit-int"), ("preview", "a-list"),
])
def test_every_command_refuses_a_hostile_stack_file_in_one_line(repo_copy, tmp_path, command, name):
    args = [command, "--stack", name] + (["--out", str(tmp_path / "out")] if command == "render" else [])
    proc = _run(repo_copy, *args)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"Pulumi.{name}.yaml: " in lines[0] and HOSTILE[name][1] in lines[0]
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("stack", ["x/../../../outside", "../Pulumi", "a b", "prod\x1b[2J", "", "s" * 101])
def test_a_stack_name_pulumi_would_refuse_is_refused_before_any_file_is_read(tmp_path, stack):
    from platformctl.errors import StackError
    from platformctl.project import stack_config
    root = tmp_path / "repo"
    (root / "Pulumi.x").mkdir(parents=True)  # the folder that let "x/../.." reach outside
    (root / "Pulumi.yaml").write_text("name: leadgen\nruntime: python\n")
    (tmp_path / "outside.yaml").write_text("config:\n  leadgen:environment: production\n")
    with pytest.raises(StackError) as err:
        stack_config(stack, root)
    message = str(err.value)
    assert "is not a stack name" in message and "Pulumi's rule" in message
    assert "\x1b" not in message and "\n" not in message


def test_a_stack_file_linked_outside_the_repository_is_refused(tmp_path):
    from platformctl.errors import StackError
    from platformctl.project import stack_config
    root = tmp_path / "repo"
    root.mkdir()
    (root / "Pulumi.yaml").write_text("name: leadgen\nruntime: python\n")
    (tmp_path / "elsewhere.yaml").write_text("config:\n  leadgen:environment: production\n")
    (root / "Pulumi.evil.yaml").symlink_to(tmp_path / "elsewhere.yaml")
    with pytest.raises(StackError, match="Pulumi.evil.yaml resolves outside the repository"):
        stack_config("evil", root)
    assert stack_config("fine.name_1-2", root, missing_ok=True) == {}
