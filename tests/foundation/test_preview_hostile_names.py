"""`platformctl preview`'s tree and wave views print resource names as they may reach a terminal or
CI log: an ANSI escape in a name cannot repaint the screen, a CR cannot overwrite the line it is on,
and a credential quoted into a name is redacted, as every report does."""
import textwrap

import pytest

from platformctl.commands import preview
from platformctl.program.engine import run_program

HOSTILE = "evil\x1b[2J\x1b[31mred\rforged\u202eflip"
SHOWN = "evil\\x1b[2J\\x1b[31mred\\rforged\\u202eflip"

PROGRAM = textwrap.dedent('''
    import pulumi


    class Box(pulumi.ComponentResource):
        def __init__(self, name, opts=None):
            super().__init__("test:index:Box", name, None, opts)
            pulumi.CustomResource("test:index:Thing", f"{name}-leaf", {},
                                  pulumi.ResourceOptions(parent=self))
            self.register_outputs({})


    Box(%r)
    url = pulumi.Config("hostile").require("probeUrl")
    pulumi.CustomResource("test:index:Probe", f"probe {url}", {})
''' % HOSTILE)


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    (root / "Pulumi.yaml").write_text("name: hostile\nruntime: python\n")
    (root / "Pulumi.test.yaml").write_text(
        'config:\n  hostile:probeUrl: "https://reader:hunter2 pw@prom.example.com/"\n')
    (root / "__main__.py").write_text(PROGRAM)
    return run_program("test", root=root)


@pytest.mark.parametrize("waves", [False, True], ids=["tree", "waves"])
def test_names_are_shown_escaped_never_sent_raw(hostile_run, waves):
    text = preview._table(hostile_run, None, waves=waves)
    for raw in ("\x1b", "\r", "\u202e"):
        assert raw not in text, (raw, text)
    # Every name is still there, its control characters shown visibly.
    assert SHOWN in text and f"{SHOWN}-leaf" in text
    assert "hunter2" not in text and "probe https://***@prom.example.com/" in text
