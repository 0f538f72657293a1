"""Pure helpers and the image definition, without servers."""
import re
from pathlib import Path

import pytest

from jobs.pgbackup import metrics
from jobs.pgbackup.client import image_client_major, parse_client_version
from jobs.pgbackup.db import DatabaseUrl, connection_reason, quoted_table
from jobs.pgbackup.errors import UsageError
from jobs.pgbackup.operations import compare_counts
from jobs.pgbackup.store import Store, backup_id_at, is_backup_id

REPO = Path(__file__).resolve().parents[2]


def test_push_url_grouping_key_and_base64_for_slashes():
    assert metrics.push_url("http://gw:9091/", "backup", "insurance_lead_gen") == \
        "http://gw:9091/metrics/job/pgbackup/operation/backup/database/insurance_lead_gen"
    assert metrics.push_url("http://gw:9091", "verify", "a/b").endswith("/database@base64/YS9i")


def test_exposition_is_gauges_with_help():
    text = metrics.exposition({"pgbackup_bytes": 12, "pgbackup_last_run_success": 0})
    assert "# TYPE pgbackup_bytes gauge\npgbackup_bytes 12.0\n" in text
    assert text.endswith("pgbackup_last_run_success 0.0\n")


def test_database_url_keeps_the_password_out_of_argv_and_messages():
    url = DatabaseUrl.parse("postgresql://app:s3cr%40t@db.internal:6543/leads?sslmode=require", "--database-url")
    conninfo, env = url.libpq_args()
    assert "s3cr" not in conninfo and "password" not in conninfo
    assert "sslmode=require" in conninfo and "connect_timeout=10" in conninfo
    assert env["PGPASSWORD"] == "s3cr@t"
    assert str(url) == "db.internal:6543/leads"
    assert str(url.with_dbname("scratch")) == "db.internal:6543/scratch"


@pytest.mark.parametrize("text, message", [
    ("postgresql://h:notaport/db", "--database-url is invalid: port 'notaport' is not a number"),
    ("postgresql://u:pw@h/db?nope=1", "--database-url is invalid: unknown query parameter"),
    ("", "--database-url is empty"),
])
def test_database_url_rejects_bad_input_without_echoing_it(text, message):
    with pytest.raises(UsageError) as info:
        DatabaseUrl.parse(text, "--database-url")
    assert str(info.value) == message


@pytest.mark.parametrize("raw, reason", [
    ('connection failed: connection to server at "10.0.0.1", port 5432 failed: Connection refused\n\tIs the server running', "connection refused"),
    ('connection failed: connection to server at "10.0.0.1", port 5432 failed: FATAL:  password authentication failed for user "app"', 'password authentication failed for user "app"'),
    ("failed to resolve host 'db.invalid': [Errno -2] Name or service not known", "unknown host"),
    ('connection failed: connection to server at "10.0.0.1", port 5432 failed: FATAL:  database "nope" does not exist', 'database "nope" does not exist'),
    ('connection failed: connection to server at "10.0.0.1", port 5432 failed: FATAL:  no pg_hba.conf entry for host', "no pg_hba.conf entry for host"),
])
def test_connection_reason_is_short(raw, reason):
    assert connection_reason(Exception(raw)) == reason


def test_quoted_table_quotes_only_when_needed():
    assert quoted_table("public", "leads") == "public.leads"
    assert quoted_table("Mixed Case", 'Odd "T"') == '"Mixed Case"."Odd ""T"""'


def test_compare_counts_names_each_table():
    manifest = {"tables": {"public.leads": 10, "sales.quotes": 5}, "large_objects": 1}
    assert compare_counts(manifest, {"public.leads": 10, "sales.quotes": 5}, 1, exact=True) == []
    assert compare_counts(manifest, {"public.leads": 9, "x.y": 1}, 0, exact=True) == [
        "row count mismatch in public.leads: manifest 10, restored 9",
        "table sales.quotes is missing (manifest has 5 rows)",
        "table x.y is not in the manifest",
        "large object count mismatch: manifest 1, restored 0",
    ]
    # A forced restore may leave the target's own extra tables: they are not the backup's business.
    assert compare_counts(manifest, {"public.leads": 10, "sales.quotes": 5, "x.y": 1}, 1, exact=False) == []


def test_backup_ids_carry_a_random_suffix_and_keys_follow_the_layout():
    from datetime import datetime, timezone
    assert backup_id_at(datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc), "1a2b3c4d") == "20261122T020000Z-1a2b3c4d"
    assert is_backup_id("20261122T020000Z-1a2b3c4d")
    assert is_backup_id("20261122T020000Z")  # ids written before the suffix are still read
    for bad in ("latest", "20261122T020000Z-", "20261122T020000Z-XYZ", "20261122T020000Z-1a2b3c4d/..", "20261340T020000Z"):
        assert not is_backup_id(bad), bad
    store = Store("b", "/prod/leads/", client=object())
    assert store.key("20261122T020000Z", "manifest.json") == "prod/leads/20261122T020000Z/manifest.json"


def test_dockerfile_contract():
    text = (REPO / "jobs/pgbackup/Dockerfile").read_text()
    base = re.search(r"^FROM (\S+)", text, re.M).group(1)
    assert ":" in base and not base.endswith(":latest")
    # The client comes from PGDG at the major the ARG line names, the one place it is written.
    assert 'postgresql-client-${PG_CLIENT_MAJOR}' in text
    assert "bookworm-pgdg main" in text and "signed-by=" in text
    assert image_client_major() == int(re.search(r"^ARG PG_CLIENT_MAJOR=(\d+)$", text, re.M).group(1))
    assert re.search(r"^USER 10001(:10001)?$", text, re.M)
    assert 'ENTRYPOINT ["python", "-m", "jobs.pgbackup"]' in text
    assert "PYTHONDONTWRITEBYTECODE=1" in text  # read-only root filesystem
    # The tool runs psql, pg_dump and pg_restore by name: the client's own binaries, not the wrapper.
    assert re.search(r"^ENV PATH=/usr/lib/postgresql/\$\{PG_CLIENT_MAJOR\}/bin:\$\{PATH\}$", text, re.M)


def test_image_requirements_match_the_repository_pins():
    def pins(path):
        return {re.split(r"[\[=]", line)[0].lower(): line.strip() for line in path.read_text().splitlines()
                if line.strip() and not line.startswith(("#", "-r"))}
    image = pins(REPO / "jobs/pgbackup/requirements.txt")
    repo = {**pins(REPO / "requirements.txt"), **pins(REPO / "requirements-dev.txt")}
    assert image and all(repo.get(name) == line for name, line in image.items())


def test_image_client_is_at_least_the_newest_rds_major_the_stacks_allow():
    # RDS runs 17.x; pg_dump refuses a newer server, so the image's client must not be older.
    assert image_client_major() >= 17


@pytest.mark.parametrize("text, major", [
    ("pg_dump (PostgreSQL) 17.6 (Debian 17.6-1.pgdg120+1)\n", 17),
    ("pg_restore (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n", 15),
    ("pg_dump (PostgreSQL) 18beta1\n", 18),
])
def test_client_version_parsing(text, major):
    assert parse_client_version(text) == major


def test_client_version_parsing_refuses_other_output():
    with pytest.raises(ValueError):
        parse_client_version("command not found")


def test_manifest_times_order_two_backups_finished_in_the_same_second():
    # "latest" and verify's cycle sort by the recorded finish time: at one-second resolution two
    # backups of the same second tied, and the random id suffix decided which was "latest".
    from datetime import datetime, timezone

    from jobs.pgbackup.catalogue import iso, parse_time

    first = datetime(2026, 11, 30, 2, 0, 0, 120_000, tzinfo=timezone.utc)
    second = first.replace(microsecond=870_000)
    assert parse_time(iso(first, precise=True)) < parse_time(iso(second, precise=True))
    assert iso(first, precise=True) == "2026-11-30T02:00:00.120000Z"
    assert iso(first) == iso(second) == "2026-11-30T02:00:00Z"  # messages stay readable


def test_verification_records_of_one_second_sort_in_the_order_they_ran():
    # The newest record is the last key: at whole seconds two verifications tied and the random
    # suffix decided which one was "last".
    from datetime import datetime, timezone

    from jobs.pgbackup.store import record_stamp

    first = datetime(2026, 11, 30, 5, 0, 0, 900_000, tzinfo=timezone.utc)
    second = first.replace(microsecond=100_000).replace(second=1)
    earlier_in_second = first.replace(microsecond=100_000)
    assert sorted([f"{record_stamp(first)}-ffff", f"{record_stamp(earlier_in_second)}-0000"]) == [
        f"{record_stamp(earlier_in_second)}-0000", f"{record_stamp(first)}-ffff"]
    assert record_stamp(first) < record_stamp(second)
    assert record_stamp(first) == "20261130T050000.900000Z"


def test_dropping_a_scratch_database_survives_autovacuum_in_it():
    """DROP ... WITH (FORCE) as the verify role fails while an autovacuum worker (no role of its
    own) is in the freshly restored database; the plain DROP that follows stops the worker."""
    from jobs.pgbackup import scratch

    class Session:
        url = DatabaseUrl.parse("postgresql://pgbackup_verify@db.internal/postgres", "--scratch-url")

        def __init__(self):
            self.statements = []

        def attempt(self, statement):
            self.statements.append(statement)
            # "must be a member of the role whose process is being terminated or member of pg_signal_backend"
            return [], "42501"

        def rows(self, statement):
            self.statements.append(statement)
            return []

    session = Session()
    scratch.drop(session, "pgbackup_verify_20261203t061356_827dc607")
    assert session.statements == [
        'DROP DATABASE IF EXISTS "pgbackup_verify_20261203t061356_827dc607" WITH (FORCE)',
        'DROP DATABASE IF EXISTS "pgbackup_verify_20261203t061356_827dc607"']


def test_a_part_after_a_short_first_part_is_refused_not_dropped():
    """A short first part is the whole dump; were more to follow, the upload fails instead of
    storing the first part alone."""
    from jobs.pgbackup.errors import PgBackupError
    from jobs.pgbackup.store import MultipartUpload

    upload = MultipartUpload(Store("b", "p", client=object()), "p/x/dump.pgcustom", part_size=8)
    upload.put(1, b"short")
    with pytest.raises(PgBackupError, match="followed a short part 1"):
        upload.put(2, b"more")
