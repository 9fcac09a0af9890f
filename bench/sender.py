"""Sender throughput against a local fake Cloud API, at Meta's two standard caps (80 and 1,000/s).

    .venv/bin/python bench/sender.py [--caps 80 1000] [--seconds 10] [--processes 2]

Per cap: a fresh PostgreSQL database (bench_sender_<pid>, dropped afterwards) holding
`cap x seconds` due follow-ups, the fake Cloud API (tests/fake_cloud_api.py) in a process of its
own, and `--processes` `scheduler run-once` processes started at once, each running the same
sender as `worker` and coordinating through the database's send clock. Prints per cap: the
achieved rate (first to last arrival at the fake), achieved/cap (goal >= 0.95), the steady rate
(the middle 80 % of the arrivals: without processes still starting up), the most arrivals
in any one-second window (must never exceed the cap), p50/p99 of the interval between consecutive
arrivals, the time to the first arrival (process start-up and planning), whether every follow-up
arrived exactly once, and where the CPU went (worker processes, the fake, PostgreSQL).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.cli import run_migrations  # noqa: E402
from tests.fake_cloud_api import busiest_second, read_log, serving  # noqa: E402
from tests.sending.test_multiworker import rules_file, run_workers, seed  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """User + system CPU of a live process (and of its reaped children) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command name: utime, stime, cutime, cstime are fields 14-17 of the line.
    used = int(fields[11]) + int(fields[12])
    if children:
        used += int(fields[13]) + int(fields[14])
    return used / TICKS


def postgres_cpu() -> float:
    """Every PostgreSQL process on this machine, including backends that have exited (their time
    is in the postmaster's reaped-children counters)."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "comm").read_text().strip() == "postgres":
                total += cpu_seconds(int(proc.name), children=True)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def admin(*statements: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def admin_on(database: str, *statements: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN.rsplit("/", 1)[0] + f"/{database}")
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def run_cap(cap: float, seconds: float, processes: int) -> dict[str, float | str]:
    rows = int(cap * seconds)
    name = f"bench_sender_{os.getpid()}"
    url = PG_URL.format(name=name)
    await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    try:
        await asyncio.to_thread(run_migrations, url)
        outbox_ids = await seed(url, rows)
        # A live database has planner statistics; tables filled a moment ago have none, and
        # PostgreSQL then plans sequential scans that no production sender would see.
        await admin_on(name, "ANALYZE")
        work = Path(tempfile.mkdtemp(prefix="bench-sender-"))
        log = work / "arrivals.tsv"
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        pg_before = postgres_cpu()
        with serving(log) as fake:
            started = time.monotonic()
            reports = await run_workers(url, fake.url, rules_file(work, cap), processes, work)
            fake_cpu = cpu_seconds(fake.pid)
        pg_cpu = postgres_cpu() - pg_before
        children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    children_cpu = (children_after.ru_utime - children_before.ru_utime) + (
        children_after.ru_stime - children_before.ru_stime
    )
    arrivals = read_log(log)
    times = [a.at for a in arrivals]
    seen = Counter(a.callback_data for a in arrivals)
    expected = {f"outbox:{i}" for i in outbox_ids}
    once = set(seen) == expected and all(n == 1 for n in seen.values())
    twice = sorted(c for c, n in seen.items() if n > 1)
    missing = sorted(expected - set(seen))
    if twice or missing:
        print(
            f"  sent more than once: {len(twice)} {twice[:5]}; never sent: {len(missing)} {missing[:5]}"
        )
        print(f"  worker reports: {reports}")
    achieved = (len(times) - 1) / (times[-1] - times[0])
    low, high = int(0.1 * len(times)), int(0.9 * len(times))
    steady = (high - low) / (times[high] - times[low])
    gaps = [b - a for a, b in itertools.pairwise(times)]
    return {
        "cap": cap,
        "processes": processes,
        "rows": rows,
        "achieved": achieved,
        "ratio": achieved / cap,
        "steady": steady,
        "busiest": busiest_second(times),
        "p50": percentile(gaps, 0.5) * 1000,
        "p99": percentile(gaps, 0.99) * 1000,
        "first": times[0] - started,
        "once": "yes" if once else "NO",
        "sent": sum(int(r["sent"]) for r in reports),
        "lapsed": sum(int(r.get("lapsed", 0)) for r in reports),
        "cpu_workers": children_cpu - fake_cpu,
        "cpu_fake": fake_cpu,
        "cpu_pg": pg_cpu,
        "span": times[-1] - times[0],
    }


def show(results: list[dict[str, float | str]]) -> None:
    print(
        f"{'cap/s':>6} {'procs':>5} {'sends':>6} {'achieved/s':>10} {'ach/cap':>7} {'steady/s':>8} "
        f"{'max in 1 s':>10} {'p50 gap':>8} {'p99 gap':>8} {'1st send':>8} {'once':>4} "
        f"{'lapsed':>6}  CPU ms/send: workers fake postgres"
    )
    for r in results:
        rows = float(r["rows"])
        print(
            f"{r['cap']:>6.0f} {r['processes']:>5} {r['rows']:>6} {r['achieved']:>10.1f} "
            f"{r['ratio']:>7.3f} {r['steady']:>8.1f} {r['busiest']:>10} "
            f"{r['p50']:>6.2f}ms {r['p99']:>6.2f}ms "
            f"{r['first']:>7.1f}s {r['once']:>4} {r['lapsed']:>6}  "
            f"{float(r['cpu_workers']) / rows * 1000:>6.2f} {float(r['cpu_fake']) / rows * 1000:>5.2f} "
            f"{float(r['cpu_pg']) / rows * 1000:>5.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--caps", type=float, nargs="+", default=[80, 1000])
    parser.add_argument("--seconds", type=float, default=10, help="follow-ups: cap x seconds")
    parser.add_argument(
        "--processes", type=int, default=2, help="scheduler run-once processes (one per core)"
    )
    args = parser.parse_args()
    print(
        f"{os.cpu_count()} CPUs; {args.processes} `scheduler run-once` processes per cap, "
        f"sharing the send clock; load average before: {os.getloadavg()[0]:.2f}"
    )
    results = []
    for cap in args.caps:
        print(f"cap {cap:.0f}/s: {int(cap * args.seconds)} due follow-ups ...", flush=True)
        results.append(asyncio.run(run_cap(cap, args.seconds, args.processes)))
    show(results)
    for r in results:
        if int(r["busiest"]) > float(r["cap"]):
            print(f"cap {r['cap']:.0f}/s: a one-second window held {r['busiest']} sends")
        if r["once"] != "yes":
            print(f"cap {r['cap']:.0f}/s: not every follow-up arrived exactly once")


if __name__ == "__main__":
    main()
