"""Benchmark for jobs/pgbackup: the tool against the bare libpq tools, same run, so its overhead is a ratio.

    .venv/bin/python bench/backup.py [--sizes small,large] [--rounds N] [--large-rounds N]

Two databases: "small" (the 130k-row test schema, no extra bytes: a dump of a few MiB, where the
tool's fixed start-up cost shows) and "large" (the same plus ~1 GiB of incompressible bytea, made
inside PostgreSQL in seconds: see tests/pgbackup/harness.py).

Backup: ``python -m jobs.pgbackup backup`` (pg_dump -Fc streamed to moto's S3 with SHA-256, row
counts and manifest) against ``pg_dump -Fc > /dev/null`` of the same database.
Verify: ``python -m jobs.pgbackup verify`` (download, checksum, pg_restore into a scratch database,
row counts, drop) against a plain ``pg_restore`` of the same dump from a local file into an empty
database. Prints ratios (baseline time / tool time; 1.0 means as fast, the aim is at least 0.8),
each from the fastest of the rounds (the least disturbed by other work), all measured in this one run on this machine.
Each size's lines carry the machine's load average when it started: on a shared machine the
ratios are only as good as the quiet they were measured in.

Where the time goes: the fastest run of each command split at its step lines (when pg_dump was
running, when the dump was stored, when the restore was planned and done, when the process
exited), and on the small database the fixed costs measured alone (the interpreter, the tool's
imports, the S3 client with its credentials, one PUT of the dump, a ``pg_dump --version`` run, a psql
login, verify's scratch database created and dropped), and the best ratio each command could reach
given the costs it cannot overlap with the libpq tool's work.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.pgbackup.harness import MotoServer, PostgresServer, aws_env, generate_database  # noqa: E402

BUCKET = "bench-backups"


def timed(cmd: list[str], **kwargs) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, **kwargs)
    return time.perf_counter() - start


def timed_tool(cmd: list[str], **kwargs) -> tuple[float, dict[str, float]]:
    """(seconds, {step: seconds since the start when the tool logged it, "exit": ...}) of one run.

    The step lines carry the tool's clock to the millisecond: they split the run into the part
    before the libpq tool starts, the libpq tool's own time, and what follows it."""
    wall_start, start = time.time(), time.perf_counter()
    proc = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, **kwargs)
    seconds = time.perf_counter() - start
    steps = {}
    for line in proc.stdout.splitlines():
        record = json.loads(line)
        steps.setdefault(record["step"], datetime.fromisoformat(record["time"]).timestamp() - wall_start)
    steps["exit"] = seconds
    return seconds, steps


def fixed_costs(env: dict, rounds: int, scratch_url: str, dump_file: Path) -> dict[str, float]:
    """What the tool pays beside the libpq tool's own work, each alone (fastest of ``rounds``):
    the interpreter, the tool's imports (what backup loads), the S3 client on top of them (awscrt's
    signer and credential chain, credentials resolved), one PUT of the dump with that client, a
    ``--version`` run of a libpq tool, a psql login that runs one statement, and what verify
    cannot skip: creating its scratch database and dropping it (as the verify role, less that
    psql run)."""
    python = [sys.executable, "-c"]
    psql = ["psql", "--no-psqlrc", "--quiet", f"--dbname={scratch_url}"]
    client = "import gc; gc.disable(); import jobs.pgbackup.cli; from jobs.pgbackup.store import new_s3_client; "
    runs = {
        "python_start": python + ["pass"],
        "tool_imports": python + ["import gc; gc.disable(); import jobs.pgbackup.cli; gc.freeze()"],
        # On top of the tool's imports (which load most of what store.py needs): what making the
        # client itself adds.
        "s3_client": python + [client + "new_s3_client(); gc.freeze()"],
        # A dump under S3's 5 MiB minimum part is one PUT, which can only start after pg_dump's
        # last byte: on top of making the client, what that PUT takes.
        "s3_put_dump": python + [client + f"data = open({str(dump_file)!r}, 'rb').read(); "
                                 f"new_s3_client().put_object(Bucket={BUCKET!r}, Key='bench/put-probe', Body=data); "
                                 "gc.freeze()"],
        "pg_dump_version": ["pg_dump", "--version"],
        "psql_start": psql + ["--command=SELECT 1"],
        "scratch_create_drop": psql + ["--command=CREATE DATABASE pgbackup_bench_probe TEMPLATE template0",
                                       "--command=DROP DATABASE pgbackup_bench_probe"],
    }
    best = {name: min(timed(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL) for _ in range(rounds))
            for name, cmd in runs.items()}
    best["s3_put_dump"] -= best["s3_client"]
    best["s3_client"] -= best["tool_imports"]
    best["tool_imports"] -= best["python_start"]
    best["scratch_create_drop"] -= best["psql_start"]
    return {name: round(value, 3) for name, value in best.items()}


def client_bindir() -> str | None:
    """The newest installed PostgreSQL client's bin directory (Debian's layout), if any."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"), key=lambda p: int(p.parent.parent.name)
                   if p.parent.parent.name.isdigit() else 0)
    return str(found[-1].parent) if found else None


def main() -> int:
    # A SIGTERM (a CI timeout, kill) unwinds like an error: measure()'s finally stops the servers.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="small,large", help="comma-separated: small, large")
    parser.add_argument("--large-mib", type=int, default=1000, help="incompressible bytea in the large database")
    parser.add_argument("--rounds", type=int, default=5, help="rounds on the small database")
    parser.add_argument("--large-rounds", type=int, default=2,
                        help="rounds on the large one (each moves the gigabyte four times)")
    args = parser.parse_args()
    sizes = {"small": (0, args.rounds), "large": (args.large_mib, args.large_rounds)}
    worst = 1.0
    for name in args.sizes.split(","):
        if name not in sizes:
            print(f"bench/backup.py: unknown size {name!r} in --sizes (small, large)", file=sys.stderr)
            return 2
        result = measure(name, *sizes[name])
        worst = min(worst, result["backup_vs_pg_dump_ratio"], result["verify_vs_pg_restore_ratio"])
    return 0 if worst > 0 else 1


def measure(name: str, random_mib: int, rounds: int) -> dict:
    pg = PostgresServer().start()
    moto = MotoServer().start()
    try:
        import boto3
        made = time.perf_counter()
        source = generate_database(pg, "insurance_lead_gen", random_mib=random_mib)
        made = time.perf_counter() - made
        load = os.getloadavg()
        env = aws_env(moto.url)
        bindir = client_bindir()
        if bindir:
            # Both sides run the libpq tools as the job image does: its PATH starts with the
            # client's own bin directory (jobs/pgbackup/Dockerfile), not Debian's pg_wrapper.
            env["PATH"] = f"{bindir}:{env.get('PATH', os.environ['PATH'])}"
        boto3.client("s3", endpoint_url=moto.url, aws_access_key_id="testing", aws_secret_access_key="testing",
                     region_name="us-east-1").create_bucket(Bucket=BUCKET)
        tool = [sys.executable, "-m", "jobs.pgbackup"]
        common = ["--bucket", BUCKET, "--prefix", "bench"]
        conninfo_env = dict(env, PGPASSWORD=pg.password)
        libpq = f"host=127.0.0.1 port={pg.port} user=postgres dbname=insurance_lead_gen"
        # Verify restores as its least-privilege role, as in the cluster, one backup per run so
        # that each round times one restore against one pg_restore.
        verify_args = ["verify", "--scratch-url", pg.create_verify_role(), "--count", "1"]

        dump_times, tool_backup_times, restore_times, tool_verify_times = [], [], [], []
        backup_steps, verify_steps = [], []
        with tempfile.TemporaryDirectory() as tmp:
            dump_file = Path(tmp) / "dump.pgcustom"
            subprocess.run(["pg_dump", "-Fc", "-d", libpq, "-f", str(dump_file)], check=True, env=conninfo_env)
            size = dump_file.stat().st_size
            for round_ in range(rounds):
                # Alternate the two sides so that caches and background noise hit both alike.
                with open("/dev/null", "wb") as null:
                    dump_times.append(timed(["pg_dump", "-Fc", "-d", libpq], stdout=null, env=conninfo_env))
                seconds, steps = timed_tool(tool + ["backup", "--database-url", source, *common], cwd=REPO, env=env)
                tool_backup_times.append(seconds)
                backup_steps.append(steps)
                target = pg.create_database(f"bench_restore_{round_}")
                restore_times.append(timed(["pg_restore", "--exit-on-error", "-d",
                                            libpq.replace("insurance_lead_gen", f"bench_restore_{round_}"),
                                            str(dump_file)], env=conninfo_env))
                with pg.connect() as conn:
                    conn.execute(f'DROP DATABASE "bench_restore_{round_}"')
                seconds, steps = timed_tool(tool + [*verify_args, *common], cwd=REPO, env=env)
                tool_verify_times.append(seconds)
                verify_steps.append(steps)
            costs = fixed_costs(env, rounds, verify_args[2], dump_file) if random_mib == 0 else None
        del target

        # The fastest round of each side: on a shared 2-core machine the other runs measure the
        # neighbours' load more than the tools.
        dump_s, backup_s = min(dump_times), min(tool_backup_times)
        restore_s, verify_s = min(restore_times), min(tool_verify_times)
        result = {
            "database": name,
            "dump_bytes": size,
            "generated_seconds": round(made, 1),
            "load_average_at_start": [round(x, 2) for x in load],
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "rounds": rounds,
            "backup_vs_pg_dump_ratio": round(dump_s / backup_s, 2),
            "verify_vs_pg_restore_ratio": round(restore_s / verify_s, 2),
            "median_ratios": [round(statistics.median(dump_times) / statistics.median(tool_backup_times), 2),
                              round(statistics.median(restore_times) / statistics.median(tool_verify_times), 2)],
            "seconds": {"pg_dump": round(dump_s, 2), "backup": round(backup_s, 2),
                        "pg_restore": round(restore_s, 2), "verify": round(verify_s, 2)},
            "backup_MiB_per_s_vs_pg_dump": f"{size / backup_s / 2**20:.1f} vs {size / dump_s / 2**20:.1f}",
            # The fastest run of each command, split at its step lines (seconds since its start).
            "backup_timeline": _timeline(backup_steps[tool_backup_times.index(backup_s)],
                                         ["connect", "dump", "manifest", "done", "exit"]),
            "verify_timeline": _timeline(verify_steps[tool_verify_times.index(verify_s)],
                                         ["plan", "restore", "compare", "record", "drop-scratch", "done", "exit"]),
        }
        if costs is not None:
            result["fixed_costs"] = costs
        print(f"{name} database: pgbackup backup {result['backup_vs_pg_dump_ratio']}x of pg_dump -Fc > /dev/null "
              f"(aim >= 0.8; {result['backup_MiB_per_s_vs_pg_dump']} MiB/s, dump {size / 2**20:.1f} MiB)")
        print(f"{name} database: pgbackup verify {result['verify_vs_pg_restore_ratio']}x of plain pg_restore "
              f"(aim >= 0.8; load average {load[0]:.2f} at the start, {os.getloadavg()[0]:.2f} at the end; "
              f"libpq tools from {bindir or 'PATH'})")
        b, v = result["backup_timeline"], result["verify_timeline"]
        print(f"{name} database: backup's fastest run: pg_dump running by {b.get('connect', 0):.2f} s, dump done at "
              f"{b.get('dump', 0):.2f} s, manifest at {b.get('manifest', 0):.2f} s, exit at {b['exit']:.2f} s; "
              f"verify's: restore planned by {v.get('plan', 0):.2f} s, restored at {v.get('restore', 0):.2f} s, "
              f"counted at {v.get('compare', 0):.2f} s, exit at {v['exit']:.2f} s")
        if "fixed_costs" in result:
            f = result["fixed_costs"]
            print(f"{name} database: fixed costs alone: python start {f['python_start']:.3f} s, the tool's imports "
                  f"{f['tool_imports']:.3f} s, S3 client (awscrt) {f['s3_client']:.3f} s, "
                  f"one PUT of the dump {f['s3_put_dump']:.3f} s, pg_dump --version {f['pg_dump_version']:.3f} s, "
                  f"psql login and one statement {f['psql_start']:.3f} s, scratch database create + drop "
                  f"{f['scratch_create_drop']:.3f} s")
            # Serial in any backup of a dump under 5 MiB: the interpreter and the psql login that
            # exports the snapshot come before pg_dump can start, the PUT after its last byte.
            # The imports, the counts and the manifest are left out, so this is a lower bound.
            floor = dump_s + f["python_start"] + f["psql_start"] + f["s3_put_dump"]
            print(f"{name} database: backup's floor here: pg_dump {dump_s:.3f} s + python start "
                  f"{f['python_start']:.3f} s + psql login {f['psql_start']:.3f} s + the dump's one PUT "
                  f"{f['s3_put_dump']:.3f} s = {floor:.3f} s, so at best {dump_s / floor:.2f}x of plain pg_dump "
                  "before any import, count or manifest")
            floor = restore_s + f["scratch_create_drop"]
            print(f"{name} database: verify's floor here: pg_restore {restore_s:.3f} s + scratch create/drop "
                  f"{f['scratch_create_drop']:.3f} s = {floor:.3f} s, so at best {restore_s / floor:.2f}x of plain "
                  "pg_restore before any S3 read or Python")
        print(json.dumps(result))
        return result
    finally:
        moto.stop()
        pg.stop()


def _timeline(steps: dict[str, float], names: list[str]) -> dict[str, float]:
    return {name: round(steps[name], 3) for name in names if name in steps}


if __name__ == "__main__":
    sys.exit(main())
