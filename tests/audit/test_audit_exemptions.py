"""platformctl reads policies/exemptions.yaml with the pack's reader: what the pack refuses (and so
does not exempt), platformctl refuses too, and an entry means the same in both."""
from __future__ import annotations

import datetime as dt
from collections import namedtuple

import pytest

from platformctl import exemptions
from platformctl.pack import exemptions as pack_exemptions

Violation = namedtuple("Violation", "policy level urn message")
URN = "urn:pulumi:production::leadgen::aws:rds/instance:Instance::leads"
ENTRY = """\
exemptions:
  - policy: aws-rds-not-publicly-accessible
    urn: "urn:pulumi:*::leadgen::aws:rds/instance:Instance::leads"
    reason: Migration host reaches the database over its public endpoint until the VPN exists.
    ticket: SEC-2026-077
    change_request: CR-2026-014
    expires: {expires}
"""


def test_an_entry_is_the_packs_and_covers_what_the_pack_covers(tmp_path):
    path = tmp_path / "exemptions.yaml"
    path.write_text(ENTRY.format(expires='"2026-12-31"'))
    (entry,) = exemptions.load(path)
    assert isinstance(entry, pack_exemptions.Exemption)
    assert entry == pack_exemptions.load(path).entries[0]
    hit, other = Violation(entry.policy, "mandatory", URN, "public"), Violation("x", "mandatory", URN, "y")
    kept, exempted, expired = exemptions.apply([hit, other], [entry], dt.date(2026, 12, 31))
    assert (kept, exempted, expired) == ([other], [(hit, entry)], [])
    kept, exempted, expired = exemptions.apply([hit], [entry], dt.date(2027, 1, 1))
    assert kept == [hit] and exempted == []
    assert [(f.policy, f.level, f.urn) for f in expired] == [(exemptions.EXPIRED_POLICY, "advisory", entry.urn)]
    assert exemptions.in_force([entry], dt.date(2027, 1, 1)) == []


def test_an_unquoted_date_the_pack_refuses_is_refused_here_too(tmp_path):
    # The pack exempts nothing from such a file; platformctl used to read it and exempt.
    path = tmp_path / "exemptions.yaml"
    path.write_text(ENTRY.format(expires="2026-12-31"))
    assert pack_exemptions.load(path).entries == ()
    with pytest.raises(exemptions.ExemptionError) as refused:
        exemptions.load(path)
    assert str(refused.value) == (
        f'{path}: exemptions[0].expires is an unquoted date or time (2026-12-31); quote it: "2026-12-31"')


def test_a_bad_entry_is_one_line_naming_the_entry_and_field(tmp_path):
    path = tmp_path / "exemptions.yaml"
    path.write_text(ENTRY.format(expires='"next year"'))
    with pytest.raises(exemptions.ExemptionError) as refused:
        exemptions.load(path)
    assert str(refused.value) == (f'{path}: exemption #1 (aws-rds-not-publicly-accessible): "expires" '
                                  "('next year') must be a date YYYY-MM-DD")


def test_the_repository_file_reads_and_a_missing_file_exempts_nothing(tmp_path):
    assert exemptions.load() == list(pack_exemptions.load().entries)
    assert exemptions.load(tmp_path / "none.yaml") == []


def test_a_named_file_must_exist(tmp_path):
    with pytest.raises(exemptions.ExemptionError, match="none.yaml: no such file"):
        exemptions.load(tmp_path / "none.yaml", named=True)
