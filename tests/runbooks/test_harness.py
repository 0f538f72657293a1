"""The harness itself: what it extracts, what it flags, and that its `pulumi` does what the CLI does."""
import subprocess
import sys

import pytest
import yaml

from harness import STANDIN, Block, RunbookError, blocks, untested_production_commands

DOC = """# A runbook

Prose with `pulumi config set canary.weight 0 --stack staging` (not production) is fine.

```bash
kubectl get pods -n production
```

```bash emergency:first
pulumi config set canary.weight 0 --stack production
python -m platformctl change approve "$CR" --role cto \\
  --by cto@example.com --key ~/.ssh/id_ed25519
pulumi up --stack production --policy-pack policies
```
"""


def write(tmp_path, text, name="r.md"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_marked_blocks_are_extracted_exactly_and_the_rest_is_prose(tmp_path):
    path = write(tmp_path, DOC)
    (block,) = blocks(path)
    assert (block.runbook, block.kind, block.name, block.line) == ("r.md", "emergency", "first", 9)
    assert block.text.splitlines()[0] == "pulumi config set canary.weight 0 --stack production"
    assert block.without_approvals() == ("pulumi config set canary.weight 0 --stack production\n"
                                         "pulumi up --stack production --policy-pack policies\n")
    assert untested_production_commands(path) == []


@pytest.mark.parametrize("line", [
    "Then `pulumi up --stack production`.",
    "run `pulumi config set workloads.api.tag 2.13.0 --stack production` first",
    "run `pulumi config rm canary.tag -s production`",
    # wrapped by the prose onto the next line
    "set it: `pulumi config set workloads.api.tag <previous tag>\n  --stack production`",
])
def test_a_production_command_outside_a_marked_block_is_named(tmp_path, line):
    path = write(tmp_path, DOC + "\n" + line + "\n")
    found = untested_production_commands(path)
    assert len(found) == 1 and found[0].startswith("r.md:") and "pulumi" in found[0]


def test_an_unmarked_block_with_an_update_is_named(tmp_path):
    path = write(tmp_path, DOC.replace("```bash emergency:first", "```bash"))
    assert [f.split(": ", 1)[0] for f in untested_production_commands(path)] == ["r.md:10", "r.md:13"]


@pytest.mark.parametrize("text, message", [
    ("```bash emergency:a\nx\n", "r.md:1: the fence opened here is never closed"),
    ("```bash emergency:a\nx\n```\n```bash emergency:a\ny\n```\n", "r.md:4: block name 'a' is used at line 1 too"),
    ("```bash urgent:a\nx\n```\n", "r.md:1: 'bash urgent:a' is not `<language> <kind>:<name>`"),
    ("```python emergency:a\nx\n```\n", "r.md:1: a tested block is bash, not 'python'"),
])
def test_an_ambiguous_runbook_is_one_line_naming_file_and_line(tmp_path, text, message):
    with pytest.raises(RunbookError) as err:
        blocks(write(tmp_path, text))
    assert str(err.value).startswith(message)


def pulumi(cwd, *argv):
    return subprocess.run([sys.executable, str(STANDIN), *argv], cwd=cwd, capture_output=True, text=True)


def test_config_set_writes_what_the_cli_writes(tmp_path):
    (tmp_path / "Pulumi.production.yaml").write_text("config:\n  aws:region: us-east-1\n  leadgen:canary.weight: 10\n")
    assert pulumi(tmp_path, "config", "set", "canary.weight", "0", "--stack", "production").returncode == 0
    assert pulumi(tmp_path, "config", "set", "--path", "workloads.api.maxReplicas", "20", "-s", "production").returncode == 0
    assert pulumi(tmp_path, "config", "set", "--path", "canary.on", "true", "--stack=production").returncode == 0
    assert pulumi(tmp_path, "config", "set", "aws:region", "us-west-2", "--stack", "production").returncode == 0
    doc = yaml.safe_load((tmp_path / "Pulumi.production.yaml").read_text())
    # A plain key is one string; a path is objects, with integers and booleans typed.
    assert doc["config"] == {"aws:region": "us-west-2", "leadgen:canary.weight": "0",
                             "leadgen:workloads": {"api": {"maxReplicas": 20}}, "leadgen:canary": {"on": True}}
    assert pulumi(tmp_path, "config", "rm", "canary.weight", "--stack", "production").returncode == 0
    assert pulumi(tmp_path, "config", "rm", "--path", "workloads.api.maxReplicas", "--stack", "production").returncode == 0
    doc = yaml.safe_load((tmp_path / "Pulumi.production.yaml").read_text())
    assert doc["config"] == {"aws:region": "us-west-2", "leadgen:workloads": {"api": {}}, "leadgen:canary": {"on": True}}


@pytest.mark.parametrize("argv, message", [
    (("up", "--stack", "production"), "up without --policy-pack policies runs no gate"),
    (("up", "--policy-pack", "policies"), "up needs --stack"),
    (("config", "set", "canary.weight", "0"), "config set needs --stack"),
    (("config", "set", "x", "1", "--stack", "nope"), "no stack named 'nope'"),
    (("destroy", "--stack", "production"), "destroy is not implemented"),
    (("config", "get", "x"), "config get is not implemented"),
])
def test_what_the_stand_in_does_not_implement_is_refused(tmp_path, argv, message):
    (tmp_path / "Pulumi.production.yaml").write_text("config: {}\n")
    done = pulumi(tmp_path, *argv)
    assert done.returncode == 2 and message in done.stderr and done.stderr.count("\n") == 1


def test_a_block_runs_verbatim_in_the_checkout(checkout):
    block = Block("r.md", "emergency", "probe", 1,
                  'pwd > where\ncommand -v pulumi python > which\necho "$HOME" > home\n')
    run = checkout.run(block)
    assert run.code == 0 and run.updates == ()
    assert (checkout.root / "where").read_text().strip() == str(checkout.root)
    assert [p.rsplit("/", 1)[1] for p in (checkout.root / "which").read_text().split()] == ["pulumi", "python"]
    assert (checkout.home / ".ssh" / "id_ed25519").exists()
    # The checkout is a repository of its own whose first commit holds the test approvers.
    assert "approvers.yaml" in checkout.git("show", "--stat", "HEAD")
