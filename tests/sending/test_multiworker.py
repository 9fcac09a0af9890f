"""Several `scheduler run-once` processes at once against a fake Cloud API: every due follow-up
is sent exactly once, and the throughput cap holds across the processes (counted on arrival)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, insert, select

from app.contacts.models import Contact
from app.db.engine import create_engine, create_sessionmaker
from app.scheduling import templates
from app.scheduling.models import OutboxItem
from app.sending.models import SendClock
from app.tagging.ruleset import DEFAULT_RULES
from tests.conftest import ADMIN_TOKEN, APP_SECRET, VERIFY_TOKEN
from tests.databases import DatabaseFactory
from tests.fake_cloud_api import busiest_second, read_log, serving

ROOT = Path(__file__).resolve().parents[2]
PNID = "106540352242922"
# Tuesday 10:00 UTC: 11:00 in Berlin, inside the default window, outside quiet hours.
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


async def seed(database_url: str, rows: int) -> list[int]:
    """`rows` contacts with one due marketing follow-up each; returns the outbox ids.

    Contacts asked about prices (intent high) but have no inbound time to anchor a new plan on,
    so the planner in every process keeps the seeded rows and adds none.
    """
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            await templates.register(
                session,
                name="offer_followup",
                language="en",
                category="marketing",
                parameters={"body": ["name"]},
                now=NOW,
            )
            contacts = [
                {
                    "wa_id": f"49151{i:08d}",
                    "name": f"Customer {i}",
                    "country": "DE",
                    "timezone": "Europe/Berlin",
                    "language": "en",
                    "first_seen_at": NOW - timedelta(days=3),
                    "intent": "high",
                }
                for i in range(rows)
            ]
            await session.execute(insert(Contact), contacts)
            ids = list((await session.scalars(select(Contact.id).order_by(Contact.id))).all())
            due = NOW - timedelta(hours=1)
            await session.execute(
                insert(OutboxItem),
                [
                    {
                        "contact_id": contact_id,
                        "plan_key": f"{contact_id}:high_intent_followup:seeded:0",
                        "rule": "high_intent_followup",
                        "priority": 90,
                        "evidence": {},
                        "category": "marketing",
                        "template": "offer_followup",
                        "due_at": due,
                        "not_before": due,
                        "state": "planned",
                        "attempts": 0,
                        "planned_at": due,
                        "updated_at": due,
                    }
                    for contact_id in ids
                ],
            )
            await session.commit()
            return list((await session.scalars(select(OutboxItem.id))).all())
    finally:
        await engine.dispose()


def rules_file(tmp_path: Path, messages_per_second: float) -> Path:
    rules = yaml.safe_load(DEFAULT_RULES.read_text())
    rules["sending"].update(messages_per_second=messages_per_second, pair_interval_seconds=0)
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True))
    return path


async def run_workers(
    database_url: str, base_url: str, rules: Path, processes: int, cwd: Path
) -> list[dict[str, Any]]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "WHATSAPP_ACCESS_TOKEN": "x",
        "WHATSAPP_PHONE_NUMBER_ID": PNID,
        "WHATSAPP_API_BASE_URL": base_url,
        "RULES_FILE": str(rules),
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "LOG_LEVEL": "WARNING",
    }
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app",
            "scheduler",
            "run-once",
            "--now",
            NOW.isoformat(),
            cwd=cwd,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(processes)
    ]
    reports = []
    for worker in workers:
        out, err = await asyncio.wait_for(worker.communicate(), timeout=100)
        assert worker.returncode == 0, err.decode()[-3000:]
        reports.append(json.loads(out))
    return reports


async def send_with_workers(
    database_url: str, tmp_path: Path, *, processes: int, rows: int, cap: float
) -> list[dict[str, Any]]:
    outbox_ids = await seed(database_url, rows)
    log = tmp_path / "arrivals.tsv"
    with serving(log) as fake:
        reports = await run_workers(
            database_url, fake.url, rules_file(tmp_path, cap), processes, tmp_path
        )
    arrivals = read_log(log)

    # Each follow-up reached the API exactly once...
    seen = Counter(a.callback_data for a in arrivals)
    assert [c for c, n in seen.items() if n > 1] == []
    assert set(seen) == {f"outbox:{i}" for i in outbox_ids}
    assert sum(r["sent"] for r in reports) == rows
    # ...is recorded as sent with its own wamid...
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            states = dict(
                (
                    await session.execute(
                        select(OutboxItem.state, func.count()).group_by(OutboxItem.state)
                    )
                ).all()
            )
            assert states == {"sent": rows}
            wamids = await session.scalar(select(func.count(func.distinct(OutboxItem.wamid))))
            assert wamids == rows
            assert await session.scalar(select(func.count()).select_from(SendClock)) == 1
    finally:
        await engine.dispose()
    # ...and no second of arrivals, whichever processes sent them, went above the cap.
    assert busiest_second([a.at for a in arrivals]) <= cap
    return reports


@pytest.mark.postgres
@pytest.mark.slow
async def test_four_workers_send_ten_thousand_followups_once_each_under_the_cap(
    databases: DatabaseFactory, database_url: str, tmp_path: Path
) -> None:
    if databases.backend != "postgresql":
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): four writers at once, row locks")
    reports = await send_with_workers(database_url, tmp_path, processes=4, rows=10_000, cap=2000)
    # All four took part: the work was shared, not run by whichever started first.
    assert all(r["sent"] > 0 for r in reports), reports


async def test_two_workers_share_three_hundred_followups_under_the_cap(
    database_url: str, tmp_path: Path
) -> None:
    await send_with_workers(database_url, tmp_path, processes=2, rows=300, cap=100)
