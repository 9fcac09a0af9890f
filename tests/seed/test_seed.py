"""The synthetic data set: texts the detector reads as filed, the same data for the same seed
whichever process tells a batch, and on both databases data the service's own rules agree with."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli import main
from app.clock import ManualClock
from app.contacts.models import Contact, Message
from app.db.engine import create_engine, create_sessionmaker
from app.queue import priority
from app.queue.items import facts_of as queue_facts_of
from app.scheduling.models import Template
from app.seed import plots, samples, seed
from app.seed.story import Teller
from app.tagging import rules
from app.tagging import service as tagging_service
from app.tagging.intent import default_detector
from app.tagging.models import TagEvent
from app.tagging.ruleset import defaults
from tests.conftest import ADMIN
from tests.conftest import START as NOW

CONTACTS = 1500

TEXT_CASES = [
    pytest.param(level, language, text, id=f"{level}-{language}-{i}")
    for level, languages in samples.TEXTS.items()
    for language, texts in languages.items()
    for i, text in enumerate(texts)
]


@pytest.mark.parametrize(("level", "language", "text"), TEXT_CASES)
def test_texts_read_as_filed(level: str, language: str, text: str) -> None:
    signals = default_detector().detect(text, language)
    expected = {"comparison": "medium", "hello": None}.get(level, level)
    assert signals.intent == expected
    assert signals.comparison == (level == "comparison")


def rows_of(batches: list[tuple[int, int]]) -> list[plots.Rows]:
    teller = Teller(NOW, defaults())
    return [
        plots.batch(
            teller, seed=3, index=i, count=n, first_id=1 + i, message_base=1, agent_ids=(1, 2)
        )
        for i, n in batches
    ]


def test_same_seed_same_data() -> None:
    # Each batch draws from its own stream: the worker that tells it makes no difference.
    first, second = rows_of([(0, 200), (200, 200)]), rows_of([(200, 200), (0, 200)])
    assert first == second[::-1]
    assert first[0].contacts != first[1].contacts


async def test_seed_is_one_the_rules_agree_with(app: FastAPI, session: AsyncSession) -> None:
    done = await seed(app.state.engine, CONTACTS, now=NOW, agents=3)
    assert done.contacts == CONTACTS
    assert [a.name for a in done.agents] == ["anna", "bruno", "dewi"]
    assert all(a.api_key for a in done.agents)
    contacts = list((await session.scalars(select(Contact).order_by(Contact.id))).all())
    assert len(contacts) == CONTACTS

    # Shared round-robin; statuses in about the seeds' shares.
    assert sorted(Counter(c.agent_id for c in contacts).values()) == [500, 500, 500]
    shares = Counter(c.status for c in contacts)
    for colour, share in plots.STATUS_SHARES.items():
        assert abs(shares[colour] / CONTACTS - share) < 0.04, (colour, shares)
    assert len({c.wa_id for c in contacts}) == CONTACTS
    assert sum(c.country is not None for c in contacts) == CONTACTS

    ruleset = defaults()
    buyers = {
        c.id: await tagging_service.purchases_of(session, c)
        for c in contacts
        if c.spend_tier is not None
    }
    for c in contacts:
        # The rules, run at the seed's moment, change nothing: tags and facts agree.
        facts = tagging_service.facts_of(c, buyers.get(c.id, []))
        assert rules.evaluate(tagging_service.tags_of(c), facts, NOW, ruleset).changes == ()
        # The stored queue item is the one app.queue.priority computes.
        item = priority.item_for(queue_facts_of(c), ruleset.queue)
        assert (c.queue_rank, c.queue_due_at, c.queue_kind) == (
            (item.rank, item.due_at, item.kind) if item else (None, None, None)
        )
        # When a time rule may next change a tag; none when nothing can any more.
        assert c.tags_due_at is None or c.tags_due_at > NOW

    # Every status has the event that set it, the latest by id; reply items have their message.
    latest = dict(
        (
            await session.execute(
                select(TagEvent.contact_id, func.max(TagEvent.id))
                .where(TagEvent.dimension == "status")
                .group_by(TagEvent.contact_id)
            )
        ).all()
    )
    events = {
        e.contact_id: e
        for e in await session.scalars(select(TagEvent).where(TagEvent.id.in_(latest.values())))
    }
    inbound = {
        m.contact_id: m
        for m in await session.scalars(
            select(Message).where(
                Message.id.in_(
                    select(func.max(Message.id))
                    .where(Message.direction == "in")
                    .group_by(Message.contact_id)
                )
            )
        )
    }
    for c in contacts:
        assert events[c.id].new_value == c.status
        assert events[c.id].at == c.status_changed_at
        assert inbound[c.id].sent_at == c.last_inbound_at
    rules_seen = {e.rule for e in events.values()}
    assert {"status.high_intent", "status.read_no_reply", "status.no_interaction_6m"} <= rules_seen


async def test_seeded_queue_and_reports_answer(
    app: FastAPI, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    done = await seed(app.state.engine, 600, now=clock.now(), agents=2)
    key = done.agents[0].api_key
    page = await client.get("/queues/today", headers={"Authorization": f"Bearer {key}"})
    assert page.status_code == 200, page.text
    items = page.json()["items"]
    assert items
    assert {i["agent"] for i in items} == {"anna"}
    replies = [i for i in items if i["kind"] == "reply"]
    assert replies
    assert all(i["reason"]["message"]["text"] for i in replies)
    snapshot = await client.post("/reports/snapshot", headers=ADMIN)
    assert snapshot.status_code == 200, snapshot.text
    reds = await client.get("/reports/false-reds", headers=ADMIN)
    assert reds.status_code == 200, reds.text
    assert {r["rule"] for r in reds.json()["rules"]} >= {"status.high_intent"}


async def test_cli_prints_the_agents_keys(database_url: str) -> None:
    args = ["seed", "--contacts", "50", "--agents", "2", "--now", "2026-11-23T10:00:00Z"]
    result = await asyncio.to_thread(
        CliRunner().invoke, main, args, env={"DATABASE_URL": database_url}
    )
    assert result.exit_code == 0, result.output
    assert "added 50 contacts" in result.output
    assert result.output.count(": wfu_") == 2
    again = await asyncio.to_thread(
        CliRunner().invoke, main, args, env={"DATABASE_URL": database_url}
    )
    assert again.exit_code == 0, again.output
    assert "key not shown again" in again.output


async def templates_in(database_url: str) -> list[Template]:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            return list((await session.scalars(select(Template))).all())
    finally:
        await engine.dispose()


async def test_cli_gives_a_dry_run_demo_the_templates_its_cadence_names(
    database_url: str,
) -> None:
    args = ["seed", "--contacts", "20", "--agents", "1", "--now", "2026-11-23T10:00:00Z"]
    env = {"DATABASE_URL": database_url, "WHATSAPP_ACCESS_TOKEN": ""}
    result = await asyncio.to_thread(CliRunner().invoke, main, args, env=env)
    assert result.exit_code == 0, result.output
    assert "registered stand-in templates (dry run only): " in result.output
    rows = await templates_in(database_url)
    assert {t.name for t in rows} == {rule.template for rule in defaults().cadence}
    assert {t.status for t in rows} == {"DEMO"}  # never picked by a sender with credentials
    offer = next(t for t in rows if t.name == "discount_code")
    assert offer.parameters["buttons"] == [{"kind": "copy_code", "index": 0, "params": ["code"]}]
    # Registered once.
    again = await asyncio.to_thread(CliRunner().invoke, main, args, env=env)
    assert again.exit_code == 0, again.output
    assert "stand-in" not in again.output
    assert len(await templates_in(database_url)) == len(rows)


async def test_cli_invents_no_templates_for_a_number_that_really_sends(database_url: str) -> None:
    args = ["seed", "--contacts", "20", "--agents", "1", "--now", "2026-11-23T10:00:00Z"]
    env = {
        "DATABASE_URL": database_url,
        "WHATSAPP_ACCESS_TOKEN": "token",
        "WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
    }
    result = await asyncio.to_thread(CliRunner().invoke, main, args, env=env)
    assert result.exit_code == 0, result.output
    assert "stand-in" not in result.output
    assert await templates_in(database_url) == []
