"""One atomic writer for everything platformctl writes for others to read: change requests (an
approval added), staging attestations and reports."""
import os
import pathlib
import stat

import pytest

from platformctl import attestation, files, reports
from platformctl.commands import change


def test_the_writer_replaces_the_file_whole_readable_and_byte_for_byte(tmp_path):
    path = tmp_path / "deeper" / "CR-2026-099.yaml"
    files.write_atomically(path, "id: CR-2026-099\r\nold\n")
    files.write_atomically(path, "id: CR-2026-099\nnew\n")
    assert path.read_bytes() == b"id: CR-2026-099\nnew\n"  # no newline translation: signed bytes stay signed
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(p.name for p in path.parent.iterdir()) == ["CR-2026-099.yaml"]  # no temporary left


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "report.md"
    path.write_text("old\n")

    def refuse(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        files.write_atomically(path, "new\n")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_reports_change_requests_and_attestations_share_the_one_writer():
    assert reports.write_atomically is files.write_atomically
    assert change.write_atomically is files.write_atomically
    assert attestation.write_atomically is files.write_atomically
    for module in (reports, change, attestation):
        source = pathlib.Path(module.__file__).read_text()
        assert "tempfile" not in source and "def _write_atomically" not in source, module.__name__
