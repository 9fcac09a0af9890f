"""Webhook ingest benchmark: the real service against a bare FastAPI ceiling, driven by wrk.

    .venv/bin/python bench/webhook.py [--duration 10] [--connections 64] [--threads 1]
                                      [--db sqlite|postgres|both] [--workers 1]

For each target the script starts a server on 127.0.0.1, warms it up, then lets wrk post unique,
correctly signed single-message webhooks over concurrent connections for a fixed time. wrk's Lua
cannot compute an HMAC, so every body and its X-Hub-Signature-256 is generated up front into one
file per wrk thread; each request takes the next body, so no body is ever sent twice.

The ceiling is bench/bare_app.py (reads the body, answers 200) under the same uvicorn options
and worker count as the service. Each database gets a fresh store: a temporary SQLite file, or a
PostgreSQL database named bench_<pid> that is dropped afterwards. After the run the script counts
the distinct bodies in inbound_event (every 2xx must be there: a 200 promises durability), waits
for the in-process processor to drain them, and counts the rows in message.

The service logs at WARNING during the run so that per-request logging does not dominate. SQLite
runs in WAL mode with synchronous=NORMAL, which survives a crash of the process (what a 200
promises) but not a power cut; PostgreSQL keeps synchronous_commit on.

Raw wrk output and server logs go to bench/out/<timestamp>/.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import importlib.util
import json
import math
import os
import random
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SERVICE_LOG_LEVEL = "WARNING"
# Enough senders that contacts are both created and found again, as in real traffic.
SENDERS = 5000
# Bodies for the measured run are sized from the ceiling's rate: the service is not expected to
# beat it, and the margin covers run-to-run noise.
BODY_MARGIN = 1.5
WRK_TIMEOUT = "10s"

LUA = r"""
-- Each thread replays its own file of pre-signed bodies, one body per request.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  reqs = {}
  for line in io.lines(args[1] .. "/bodies-" .. id .. ".txt") do
    local tab = line:find("\t", 1, true)
    reqs[#reqs + 1] = wrk.format("POST", "/webhook", {
      ["Content-Type"] = "application/json",
      ["X-Hub-Signature-256"] = line:sub(1, tab - 1),
    }, line:sub(tab + 1))
  end
  count = #reqs
  issued = 0
  ok = 0
  not_ok = 0
  reused = 0
end

function request()
  issued = issued + 1
  local i = issued
  if i > count then
    -- Out of unique bodies: repeat (the inbox ignores a repeat) and say so in the report.
    reused = reused + 1
    i = (i - 1) % count + 1
  end
  return reqs[i]
end

function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else not_ok = not_ok + 1 end
end

function done(summary, latency, requests)
  local totals = {issued = 0, ok = 0, not_ok = 0, reused = 0}
  for _, thread in ipairs(threads) do
    for key, _ in pairs(totals) do totals[key] = totals[key] + thread:get(key) end
  end
  for key, value in pairs(totals) do io.write(string.format("bench.%s=%d\n", key, value)) end
  io.write(string.format("bench.duration_us=%d\n", summary.duration))
  io.write(string.format("bench.requests=%d\n", summary.requests))
  for key, value in pairs(summary.errors) do
    io.write(string.format("bench.errors_%s=%d\n", key, value))
  end
  for _, p in ipairs({50, 90, 99, 99.9}) do
    io.write(string.format("bench.p%s_us=%d\n", p, latency:percentile(p)))
  end
  io.write(string.format("bench.max_us=%d\n", latency.max))
end
"""


@dataclass
class WrkResult:
    values: dict[str, float]

    def __getitem__(self, key: str) -> float:
        return self.values.get(key, 0.0)

    @property
    def seconds(self) -> float:
        return self["duration_us"] / 1e6

    @property
    def rate(self) -> float:
        """2xx responses per second: a fast 503 must not count as throughput."""
        return self["ok"] / self.seconds if self.seconds else 0.0

    @property
    def cpu_per_request_us(self) -> float | None:
        """Server CPU per 2xx: steadier than req/s when other work shares the machine."""
        if "server_cpu_s" not in self.values or not self["ok"]:
            return None
        return self["server_cpu_s"] / self["ok"] * 1e6

    @property
    def socket_errors(self) -> int:
        return int(sum(self[f"errors_{k}"] for k in ("connect", "read", "write", "timeout")))


@dataclass
class Row:
    target: str
    wrk: WrkResult
    stored: int | None = None
    messages: int | None = None
    processed_at_end: int | None = None
    lag_seconds: float | None = None
    error_lines: int = 0
    notes: list[str] = field(default_factory=list)


# --- bodies -------------------------------------------------------------------------------------


class BodyFactory:
    """Realistic inbound text-message webhooks with unique wamids and a varied set of senders."""

    TEXTS = (
        "Hi, is this still available?",
        "What is the price?",
        "Do you ship to my city?",
        "Can I pay on delivery?",
        "Please send me the catalog",
        "I want two of them in blue, size M",
        "When will my order arrive?",
        "Thanks!",
        "ok",
        "Does it come in another color?",
    )

    def __init__(self, secret: str, seed: int) -> None:
        self._key = secret.encode()
        self._rng = random.Random(seed)
        self._nonce = secrets.token_hex(4).upper()
        self._serial = 0
        self._senders = [self._phone() for _ in range(SENDERS)]
        self._names = [f"Customer {i}" for i in range(SENDERS)]

    def _phone(self) -> str:
        country = self._rng.choice(("1", "44", "55", "91", "52", "34", "62"))
        return country + "".join(self._rng.choices("0123456789", k=10))

    def next(self) -> tuple[str, bytes]:
        self._serial += 1
        who = self._rng.randrange(SENDERS)
        sender = self._senders[who]
        raw_id = f"{sender}{self._nonce}{self._serial:012d}".encode()
        text = self._rng.choice(self.TEXTS)
        doc = {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "102290129340398",
                    "changes": [
                        {
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "15550783881",
                                    "phone_number_id": "106540352242922",
                                },
                                "contacts": [
                                    {"profile": {"name": self._names[who]}, "wa_id": sender}
                                ],
                                "messages": [
                                    {
                                        "from": sender,
                                        "id": "wamid.HBgL" + base64.b64encode(raw_id).decode(),
                                        "timestamp": str(int(time.time())),
                                        "text": {"body": text},
                                        "type": "text",
                                    }
                                ],
                            },
                            "field": "messages",
                        }
                    ],
                }
            ],
        }
        body = json.dumps(doc, separators=(",", ":")).encode()
        digest = hmac.new(self._key, body, hashlib.sha256).hexdigest()
        return "sha256=" + digest, body

    def write(self, directory: Path, total: int, threads: int) -> None:
        """One file per wrk thread, "signature<TAB>body" per line, so threads never share a body."""
        directory.mkdir(parents=True, exist_ok=True)
        per_thread = math.ceil(total / threads)
        for t in range(threads):
            with (directory / f"bodies-{t}.txt").open("wb") as out:
                for _ in range(per_thread):
                    sig, body = self.next()
                    out.write(sig.encode() + b"\t" + body + b"\n")


# --- processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with code {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise SystemExit(f"server did not listen on port {port} within {timeout:.0f} s")


@dataclass
class Server:
    port: int
    pid: int

    def cpu_seconds(self) -> float | None:
        """CPU time used so far by the server and its workers (its process group); Linux only."""
        total = 0
        try:
            for stat in Path("/proc").glob("[0-9]*/stat"):
                with contextlib.suppress(OSError):
                    # The command name may hold spaces and parentheses: split after the last ")".
                    fields = stat.read_text().rsplit(")", 1)[1].split()
                    if int(fields[2]) == self.pid:
                        total += int(fields[11]) + int(fields[12])
        except OSError:
            return None
        return total / os.sysconf("SC_CLK_TCK") if total else None


@contextlib.contextmanager
def server(command: list[str], env: dict[str, str], log_path: Path) -> Iterator[Server]:
    port = free_port()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group, so uvicorn's worker processes stop with it.
            start_new_session=True,
        )
        try:
            wait_listening(port, proc)
            yield Server(port, proc.pid)
        finally:
            stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def cpu_idle_share(seconds: float = 1.0) -> float | None:
    """Share of the machine's CPU time that was idle over `seconds`; Linux only."""

    def sample() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return fields[3] + fields[4], sum(fields)

    try:
        idle0, total0 = sample()
        time.sleep(seconds)
        idle1, total1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return (idle1 - idle0) / max(1, total1 - total0)


def warn_if_busy(target: str) -> None:
    """The figures assume the server, wrk and the database have the machine to themselves."""
    idle = cpu_idle_share()
    if idle is not None and idle < 0.8:
        print(
            f"  {target}: warning: other processes use {1 - idle:.0%} of the CPU before the run;"
            " req/s will be low, cpu µs/req less so",
            flush=True,
        )


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk not found; installing it with apt-get (running as root) …", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
        found = shutil.which("wrk")
        if found:
            return found
    raise SystemExit(
        "this benchmark needs wrk (https://github.com/wg/wrk):\n"
        "  Debian/Ubuntu: sudo apt-get install wrk\n"
        "  macOS:         brew install wrk\n"
        "then run the benchmark again."
    )


def ensure_fast_server() -> None:
    """uvicorn's "auto" loop and HTTP parser fall back silently; the figures assume the fast ones."""
    missing = [m for m in ("uvloop", "httptools") if importlib.util.find_spec(m) is None]
    if missing:
        raise SystemExit(
            f"missing {', '.join(missing)}: install uvicorn[standard] in this environment"
        )


def run_wrk(
    wrk: str, target: Server, bodies: Path, seconds: float, args: argparse.Namespace, raw: Path
) -> WrkResult:
    script = bodies.parent / "webhook.lua"
    script.write_text(LUA)
    command = [
        wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={WRK_TIMEOUT}",
        "--latency",
        "-s",
        str(script),
        f"http://127.0.0.1:{target.port}/webhook",
        "--",
        str(bodies),
    ]
    cpu_before = target.cpu_seconds()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    cpu_after = target.cpu_seconds()
    raw.write_text(" ".join(command) + "\n\n" + done.stdout + done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    values: dict[str, float] = {}
    for line in done.stdout.splitlines():
        if line.startswith("bench.") and "=" in line:
            key, value = line[len("bench.") :].split("=", 1)
            values[key] = float(value)
    if cpu_before is not None and cpu_after is not None:
        values["server_cpu_s"] = cpu_after - cpu_before
    return WrkResult(values)


# --- databases ----------------------------------------------------------------------------------


class Store:
    """The benchmark's view of one database: counts, read with the database's own client."""

    url: str

    def counts(self) -> tuple[int, int, int]:
        """(distinct stored bodies, bodies still unprocessed, inbound messages)."""
        raise NotImplementedError

    def durability_problem(self) -> str | None:
        """Why a 200 from this database would not mean "survives a crash", if it would not."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


COUNTS_SQL = (
    "SELECT (SELECT count(DISTINCT body_sha256) FROM inbound_event),"
    " (SELECT count(*) FROM inbound_event WHERE processed_at IS NULL),"
    " (SELECT count(*) FROM message WHERE direction = 'in')"
)


class SqliteStore(Store):
    def __init__(self, directory: Path) -> None:
        self.path = directory / "bench.db"
        self.url = f"sqlite+aiosqlite:///{self.path}"

    def counts(self) -> tuple[int, int, int]:
        with contextlib.closing(sqlite3.connect(self.path, timeout=30)) as conn:
            stored, pending, messages = conn.execute(COUNTS_SQL).fetchone()
        return int(stored), int(pending), int(messages)

    def durability_problem(self) -> str | None:
        with contextlib.closing(sqlite3.connect(self.path, timeout=30)) as conn:
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        return None if mode == "wal" else f"journal_mode is {mode}, not wal"

    def close(self) -> None:
        pass


class PostgresStore(Store):
    def __init__(self, admin_url: str) -> None:
        self._runner = asyncio.Runner()
        self._admin_url = admin_url
        self.name = f"bench_{os.getpid()}"
        parts = urlsplit(admin_url)
        self._dsn = urlunsplit(parts._replace(path="/" + self.name))
        self.url = urlunsplit(parts._replace(scheme="postgresql+asyncpg", path="/" + self.name))
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}"')
        self._admin(f'CREATE DATABASE "{self.name}"')
        self._conn: asyncpg.Connection | None = None

    def _admin(self, sql: str) -> None:
        async def run() -> None:
            conn = await asyncpg.connect(self._admin_url, timeout=10)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        self._runner.run(run())

    def counts(self) -> tuple[int, int, int]:
        async def run() -> Any:
            if self._conn is None:
                self._conn = await asyncpg.connect(self._dsn, timeout=10)
            return await self._conn.fetchrow(COUNTS_SQL)

        stored, pending, messages = self._runner.run(run())
        return int(stored), int(pending), int(messages)

    def durability_problem(self) -> str | None:
        async def run() -> list[str]:
            conn = await asyncpg.connect(self._dsn, timeout=10)
            try:
                return [
                    await conn.fetchval(f"SHOW {name}") for name in ("synchronous_commit", "fsync")
                ]
            finally:
                await conn.close()

        synchronous_commit, fsync = self._runner.run(run())
        if synchronous_commit == "off" or fsync == "off":
            return f"synchronous_commit={synchronous_commit}, fsync={fsync}"
        return None

    def close(self) -> None:
        if self._conn is not None:
            self._runner.run(self._conn.close())
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self._runner.close()


def postgres_reachable(admin_url: str) -> str | None:
    async def probe() -> None:
        conn = await asyncpg.connect(admin_url, timeout=5)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def wait_processed(store: Store, timeout: float) -> tuple[float, tuple[int, int, int]]:
    """Seconds until every stored body is processed (or the timeout), and the final counts."""
    started = time.monotonic()
    reported = started
    previous: tuple[int, int, int] | None = None
    previous_at = started
    while True:
        counts = store.counts()
        now = time.monotonic()
        # Settled means nothing pending and nothing new since the last look: requests still in
        # flight when wrk stopped are stored a moment later.
        if counts[1] == 0 and counts == previous:
            return previous_at - started, counts
        if now - started > timeout:
            return now - started, counts
        if now - reported >= 10:
            print(f"    … {counts[1]} bodies still being processed", flush=True)
            reported = now
        previous, previous_at = counts, now
        time.sleep(0.5)


# --- targets ------------------------------------------------------------------------------------


def base_env(secret: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        WHATSAPP_APP_SECRET=secret,
        # Set so the service does not create local secret files in the working folder.
        WHATSAPP_VERIFY_TOKEN=secrets.token_urlsafe(16),
        ADMIN_TOKEN=secrets.token_urlsafe(16),
        LOG_LEVEL=SERVICE_LOG_LEVEL,
        PYTHONUNBUFFERED="1",
    )
    env.pop("WHATSAPP_ACCESS_TOKEN", None)
    return env


def run_ceiling(
    wrk: str, args: argparse.Namespace, factory: BodyFactory, work: Path, out: Path, secret: str
) -> Row:
    # The bare app never dedupes, so a pool it cycles through is as good as unique bodies.
    bodies = work / "ceiling"
    factory.write(bodies, 20_000 * args.threads, args.threads)
    command = [sys.executable, str(BENCH_DIR / "bare_app.py"), "--workers", str(args.workers)]
    with server(command, base_env(secret), out / "ceiling.log") as target:
        if args.warmup:
            run_wrk(wrk, target, bodies, args.warmup, args, out / "ceiling-warmup.txt")
        warn_if_busy("ceiling")
        result = run_wrk(wrk, target, bodies, args.duration, args, out / "ceiling-wrk.txt")
    shutil.rmtree(bodies)
    return Row("ceiling (bare FastAPI)", result)


def run_service(
    db: str,
    wrk: str,
    args: argparse.Namespace,
    factory: BodyFactory,
    ceiling_rate: float,
    work: Path,
    out: Path,
    secret: str,
) -> Row:
    store: Store = PostgresStore(args.postgres_url) if db == "postgres" else SqliteStore(work)
    try:
        env = base_env(secret)
        env["DATABASE_URL"] = store.url
        warm = work / f"{db}-warmup"
        main = work / f"{db}-bodies"
        warm_total = int(ceiling_rate * args.warmup * BODY_MARGIN) + 1000 if args.warmup else 0
        total = int(ceiling_rate * args.duration * BODY_MARGIN) + 1000
        print(f"  {db}: signing {warm_total + total:,} unique bodies …", flush=True)
        if warm_total:
            factory.write(warm, warm_total, args.threads)
        factory.write(main, total, args.threads)
        command = [sys.executable, "-m", "app", "serve", "--workers", str(args.workers)]
        with server(command, env, out / f"{db}.log") as target:
            if warm_total:
                run_wrk(wrk, target, warm, args.warmup, args, out / f"{db}-warmup.txt")
                wait_processed(store, args.settle_timeout)
            before = store.counts()
            warn_if_busy(db)
            print(f"  {db}: {args.duration:g} s of load …", flush=True)
            result = run_wrk(wrk, target, main, args.duration, args, out / f"{db}-wrk.txt")
            at_end = store.counts()
            print(f"  {db}: waiting for processing to catch up …", flush=True)
            lag, after = wait_processed(store, args.settle_timeout)
        row = Row(f"service {db}", result)
        row.stored = after[0] - before[0]
        row.messages = after[2] - before[2]
        row.processed_at_end = (at_end[0] - before[0]) - at_end[1]
        row.lag_seconds = lag
        if after[1]:
            row.notes.append(f"{after[1]} bodies still unprocessed after {lag:.0f} s")
        if problem := store.durability_problem():
            row.notes.append(f"not durable on this server ({problem}): a 200 proves less")
        row.error_lines = count_error_lines(out / f"{db}.log")
        shutil.rmtree(main)
        if warm_total:
            shutil.rmtree(warm)
        return row
    finally:
        store.close()


def count_error_lines(log: Path) -> int:
    count = 0
    for line in log.read_text(errors="replace").splitlines():
        if '"level": "error"' in line or "Traceback" in line:
            count += 1
    return count


# --- report -------------------------------------------------------------------------------------


def fmt_ms(us: float) -> str:
    return f"{us / 1000:.1f}"


def report(rows: list[Row], ceiling: Row) -> bool:
    headers = (
        "target",
        "req/s",
        "p50 ms",
        "p99 ms",
        "non-2xx",
        "sock err",
        "2xx",
        "stored",
        "messages",
        "lag s",
        "cpu µs/req",
        "ratio",
    )
    lines: list[tuple[str, ...]] = []
    for row in [ceiling, *rows]:
        w = row.wrk
        is_service = row is not ceiling
        lines.append(
            (
                row.target,
                f"{w.rate:,.0f}",
                fmt_ms(w["p50_us"]),
                fmt_ms(w["p99_us"]),
                f"{int(w['not_ok']):,}",
                f"{w.socket_errors:,}",
                f"{int(w['ok']):,}",
                f"{row.stored:,}" if row.stored is not None else "-",
                f"{row.messages:,}" if row.messages is not None else "-",
                f"{row.lag_seconds:.1f}" if row.lag_seconds is not None else "-",
                f"{w.cpu_per_request_us:.0f}" if w.cpu_per_request_us is not None else "-",
                f"{w.rate / ceiling.wrk.rate:.2f}" if is_service and ceiling.wrk.rate else "-",
            )
        )
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
    print()
    print(
        "  ".join(
            h.ljust(widths[0]) if i == 0 else h.rjust(widths[i]) for i, h in enumerate(headers)
        )
    )
    for line in lines:
        print(
            "  ".join(
                cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i])
                for i, cell in enumerate(line)
            )
        )
    print()
    print(
        "req/s and ratio count 2xx responses only; cpu µs/req is the server's own CPU time per 2xx;"
        "\nlag is how long processing took to catch up once the load stopped."
    )
    print()
    durable = True
    for row in rows:
        w = row.wrk
        ok = int(w["ok"])
        stored = row.stored or 0
        db = row.target.removeprefix("service ")
        if stored >= ok:
            verdict = f"every 2xx stored ({stored:,} bodies stored for {ok:,} 2xx"
            verdict += f", {stored - ok:,} more were in flight when wrk stopped)"
        else:
            durable = False
            verdict = f"LOST {ok - stored:,} acknowledged bodies ({stored:,} stored, {ok:,} 2xx)"
        print(f"{db}: {verdict}")
        print(
            f"{db}: {row.messages or 0:,} messages after processing; "
            f"{row.processed_at_end or 0:,} of the bodies were processed while the load ran, "
            f"the rest took {row.lag_seconds or 0:.1f} s more"
        )
        if row.messages is not None and row.messages < stored:
            print(f"{db}: {stored - row.messages:,} stored bodies produced no message")
        if w["reused"]:
            print(f"{db}: ran out of unique bodies, {int(w['reused']):,} requests repeated one")
        if row.error_lines:
            print(f"{db}: {row.error_lines} error lines in the service log")
        for note in row.notes:
            print(f"{db}: {note}")
    print()
    for row in rows:
        db = row.target.removeprefix("service ")
        ratio = row.wrk.rate / ceiling.wrk.rate if ceiling.wrk.rate else 0.0
        print(f"ratio {db} {ratio:.2f}")
    return durable


# --- main ---------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Webhook ingest benchmark: the service against a bare FastAPI ceiling (wrk).",
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per target")
    parser.add_argument("--connections", type=int, default=64, help="concurrent connections")
    parser.add_argument(
        "--threads", type=int, default=1, help="wrk threads (they share the CPU with the server)"
    )
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--workers", type=int, default=1, help="uvicorn workers, for ceiling and service alike"
    )
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="seconds of unmeasured load first (0: none)"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_PG_ADMIN_URL),
        help="a database to connect to for CREATE/DROP DATABASE (env BENCH_POSTGRES_URL)",
    )
    parser.add_argument(
        "--settle-timeout",
        type=float,
        default=600.0,
        help="seconds to wait for processing to catch up after the load",
    )
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "out", help="raw output folder")
    args = parser.parse_args(argv)
    if args.threads < 1 or args.connections < args.threads or args.workers < 1:
        parser.error("need threads ≥ 1, connections ≥ threads and workers ≥ 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wrk = ensure_wrk()
    ensure_fast_server()
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if "postgres" in dbs and (problem := postgres_reachable(args.postgres_url)):
        raise SystemExit(
            f"PostgreSQL is not reachable at {args.postgres_url} ({problem});"
            " pass --postgres-url or --db sqlite"
        )
    out = args.out / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    factory = BodyFactory(secret, seed=os.getpid())
    print(
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s (after {args.warmup:g} s"
        f" warm-up); {args.workers} uvicorn worker(s) with uvloop + httptools for both servers;"
        f" service log level {SERVICE_LOG_LEVEL} so logging does not dominate.\n"
        "Durability: PostgreSQL with synchronous_commit on; SQLite in WAL mode with"
        " synchronous=NORMAL, which survives a crash of the process (what a 200 promises),"
        " not a power cut."
    )
    with tempfile.TemporaryDirectory(prefix="webhook-bench-") as tmp:
        work = Path(tmp)
        print("  ceiling: bare FastAPI …", flush=True)
        ceiling = run_ceiling(wrk, args, factory, work, out, secret)
        rows = [
            run_service(db, wrk, args, factory, ceiling.wrk.rate, work, out, secret) for db in dbs
        ]
    durable = report(rows, ceiling)
    print(f"\nraw wrk output and server logs: {out}")
    return 0 if durable else 1


if __name__ == "__main__":
    sys.exit(main())
