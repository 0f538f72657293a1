"""The runbook's failback table and the updates `dr drill` rehearses are the same steps: the same
stacks, in the same order, setting the same keys (a timestamp where the runbook says
YYYYMMDD-HHMM). The drill checks each update's changes; this keeps the page the DBA reads on it."""
from __future__ import annotations

import re

from platformctl import dr_plan
from platformctl.project import ROOT

RUNBOOK = ROOT / "docs" / "runbooks" / "disaster-recovery.md"


def failback_rows() -> list[tuple[str, dict]]:
    text = RUNBOOK.read_text(encoding="utf-8")
    section = text.split("## Failback", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not cells[0].isdigit() or cells[1] == "-":
            continue
        keys = dict(re.findall(r"`(dr\.[A-Za-z]+): ([^`]*)`", cells[2]))
        rows.append((cells[1].strip("`"), {k: v.strip('"') for k, v in keys.items()}))
    return rows


def test_the_runbooks_failback_table_is_the_drills_failback():
    planned = [(s.stack, dict(s.config)) for s in dr_plan.STEPS if not s.primary_down]
    documented = failback_rows()
    assert len(documented) == len(planned) == 6
    for (stack, keys), (plan_stack, plan_keys) in zip(documented, planned):
        assert stack == plan_stack
        assert keys.keys() == plan_keys.keys(), stack
        for key, value in keys.items():
            if "YYYYMMDD-HHMM" in value:
                assert re.fullmatch(re.escape(value).replace("YYYYMMDD\\-HHMM", r"\d{8}-\d{4}"), plan_keys[key])
            else:
                assert value == plan_keys[key], key


def test_the_failover_block_sets_what_the_drills_failover_sets():
    text = RUNBOOK.read_text(encoding="utf-8")
    block = text.split("```bash emergency:failover\n", 1)[1].split("```", 1)[0]
    sets = re.findall(r"^pulumi config set (\S+) (\S+) --stack (\S+)$", block, re.MULTILINE)
    [failover] = [s for s in dr_plan.STEPS if s.primary_down]
    assert [(k, v) for k, v, stack in sets if stack == failover.stack and k != "changeRequest"] == \
        list(failover.config.items())
    assert {stack for _, _, stack in sets} == {failover.stack}
