"""Tagging end to end: webhook → tags and events, hand-set tags, purchases, the periodic job."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import ManualClock
from app.contacts.models import Contact, Message
from app.main import create_app
from app.tagging import job
from app.tagging.models import TagEvent
from app.tagging.ruleset import RulesFileError
from tests.conftest import ADMIN, START, make_settings, post_webhook, processed
from tests.payloads import status, text_message

WA = "4915112345678"


async def say(app: FastAPI, client: httpx.AsyncClient, wamid: str, text: str, **kw) -> None:
    kw.setdefault("wa_id", WA)
    kw.setdefault("at", app.state.clock.now())
    assert (await post_webhook(client, text_message(wamid, text, **kw))).status_code == 200
    await processed(app)


async def contact(client: httpx.AsyncClient, ident: str = WA) -> dict:
    response = await client.get(f"/contacts/{ident}", headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


async def test_price_question_is_red_within_a_second_of_the_200(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    body = text_message("wamid.price", "how much is the power bank 20000 mAh?", wa_id=WA, at=START)
    loop = asyncio.get_running_loop()
    assert (await post_webhook(client, body)).status_code == 200
    acknowledged = loop.time()
    tags: dict = {}
    while loop.time() - acknowledged <= 1.0:
        response = await client.get(f"/contacts/{WA}", headers=ADMIN)
        if response.status_code == 200:
            tags = response.json()["tags"]
            if tags["status"] == "red":
                break
        await asyncio.sleep(0.02)
    assert tags["intent"] == "high"
    assert tags["status"] == "red"
    assert loop.time() - acknowledged <= 1.0
    assert {"3c", "high_capacity"} <= set(tags["categories"])


async def test_tag_events_name_rule_and_evidence_newest_first(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await say(app, client, "wamid.e1", "ok thanks")
    app.state.clock.advance(timedelta(minutes=5))
    await say(app, client, "wamid.e2", "any discount on this?")
    events = (await client.get(f"/contacts/{WA}/tag-events", headers=ADMIN)).json()["items"]
    assert [e["id"] for e in events] == sorted((e["id"] for e in events), reverse=True)
    intent = [e for e in events if e["dimension"] == "intent"]
    assert [e["new_value"] for e in intent] == ["high", "potential"]
    message_id = (
        await session.scalars(select(Message.id).where(Message.wamid == "wamid.e2"))
    ).one()
    assert intent[0]["rule"] == "intent.message"
    assert intent[0]["evidence"]["message_id"] == message_id
    assert intent[0]["evidence"]["phrases"]
    assert "discount_sensitive" in (await contact(client))["tags"]["interests"]


async def test_opt_out_word_stops_marketing_and_opt_in_resumes(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await say(app, client, "wamid.o1", "STOP")
    body = await contact(client)
    assert body["opted_out"] is True
    assert body["tags"]["intent"] == "none"
    await say(app, client, "wamid.o2", "I'll stop by the shop tomorrow")
    assert (await contact(client))["opted_out"] is True  # not an opt-in either
    events = (await client.get(f"/contacts/{WA}/tag-events", headers=ADMIN)).json()["items"]
    assert any(e["dimension"] == "opted_out" and e["new_value"] is True for e in events)


async def test_a_hand_set_tag_is_locked_until_unlocked(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await say(app, client, "wamid.l1", "hello")
    response = await client.put(
        f"/contacts/{WA}/tags/status", json={"value": "green"}, headers=ADMIN
    )
    assert response.status_code == 200
    assert response.json()["locked"] == {"status": None}
    await say(app, client, "wamid.l2", "what's the price?")
    body = await contact(client)
    assert body["tags"]["status"] == "green"
    assert body["tags"]["intent"] == "high"  # other dimensions still follow the rules
    unlocked = await client.delete(f"/contacts/{WA}/tags/status/lock", headers=ADMIN)
    assert unlocked.status_code == 200
    assert unlocked.json()["locked"] == {}
    events = (await client.get(f"/contacts/{WA}/tag-events", headers=ADMIN)).json()["items"]
    manual = next(e for e in events if e["rule"] == "manual")
    assert manual["evidence"]["by"] == "admin"
    assert manual["trigger"] == "manual"


async def test_a_lock_with_an_expiry_ends_by_itself(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await say(app, client, "wamid.x1", "hello")
    until = (START + timedelta(hours=1)).isoformat()
    assert (
        await client.put(
            f"/contacts/{WA}/tags/intent",
            json={"value": "none", "locked_until": until},
            headers=ADMIN,
        )
    ).status_code == 200
    await say(app, client, "wamid.x2", "how much?")
    assert (await contact(client))["tags"]["intent"] == "none"
    app.state.clock.advance(timedelta(hours=2))
    await say(app, client, "wamid.x3", "how much is it??")
    assert (await contact(client))["tags"]["intent"] == "high"


@pytest.mark.parametrize(
    ("dimension", "body", "status_code"),
    [
        ("mood", {"value": "happy"}, 400),
        ("status", {"value": "purple"}, 400),
        ("interests", {"value": "discount_sensitive"}, 400),
        ("interests", {"value": ["discount_sensitive", "bogus"]}, 400),
        ("status", {"value": "red", "locked_until": "2020-01-01T00:00:00Z"}, 400),
        ("status", {"value": "red", "locked_until": "2030-01-01T00:00:00"}, 422),  # no time zone
        ("status", {}, 422),
    ],
    ids=[
        "dimension",
        "value",
        "set-needs-list",
        "set-value",
        "past-expiry",
        "naive-expiry",
        "no-value",
    ],
)
async def test_bad_tag_requests_are_refused(
    app: FastAPI, client: httpx.AsyncClient, dimension, body, status_code
) -> None:
    await say(app, client, "wamid.b1", "hello")
    response = await client.put(f"/contacts/{WA}/tags/{dimension}", json=body, headers=ADMIN)
    assert response.status_code == status_code, response.text


async def test_purchases_are_idempotent_and_feed_spend_and_lifecycle(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await say(app, client, "wamid.p1", "price of the stroller?")
    order = {
        "order_id": "SO-1",
        "amount": "1500.00",
        "currency": "eur",
        "items": [{"sku": "ST-1", "category": "baby"}],
        "purchased_at": START.isoformat(),
    }
    first = await client.post(f"/contacts/{WA}/purchases", json=order, headers=ADMIN)
    assert first.status_code == 201
    assert first.json()["created"] is True
    again = await client.post(f"/contacts/{WA}/purchases", json=order, headers=ADMIN)
    assert again.status_code == 200
    assert again.json()["created"] is False
    tags = (await contact(client))["tags"]
    assert tags["spend_tier"] == "mid"
    assert tags["status"] == "green"  # converted: out of the decision phase
    assert "baby" in tags["categories"]
    second = {
        **order,
        "order_id": "SO-2",
        "amount": "600",
        "purchased_at": (START + timedelta(days=20)).isoformat(),
    }
    app.state.clock.advance(timedelta(days=20))
    assert (
        await client.post(f"/contacts/{WA}/purchases", json=second, headers=ADMIN)
    ).status_code == 201
    tags = (await contact(client))["tags"]
    assert tags["spend_tier"] == "high"
    assert tags["purchase_frequency"] == "monthly"


@pytest.mark.parametrize(
    "order",
    [
        {
            "order_id": "X",
            "amount": "-1",
            "currency": "EUR",
            "purchased_at": "2026-11-23T10:00:00Z",
        },
        {
            "order_id": "X",
            "amount": "1",
            "currency": "EURO",
            "purchased_at": "2026-11-23T10:00:00Z",
        },
        {"order_id": "X", "amount": "1", "currency": "EUR", "purchased_at": "2026-11-23T10:00:00"},
        {"order_id": "", "amount": "1", "currency": "EUR", "purchased_at": "2026-11-23T10:00:00Z"},
        {"amount": "1", "currency": "EUR", "purchased_at": "2026-11-23T10:00:00Z"},
    ],
    ids=["negative", "currency", "naive-time", "empty-id", "no-id"],
)
async def test_bad_purchases_are_422(app: FastAPI, client: httpx.AsyncClient, order) -> None:
    await say(app, client, "wamid.q1", "hello")
    assert (
        await client.post(f"/contacts/{WA}/purchases", json=order, headers=ADMIN)
    ).status_code == 422


async def test_an_order_id_of_another_contact_is_409(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await say(app, client, "wamid.c1", "hello")
    await say(app, client, "wamid.c2", "hi", wa_id="4915199999999")
    order = {
        "order_id": "SO-9",
        "amount": "10",
        "currency": "EUR",
        "purchased_at": START.isoformat(),
    }
    assert (
        await client.post(f"/contacts/{WA}/purchases", json=order, headers=ADMIN)
    ).status_code == 201
    assert (
        await client.post("/contacts/4915199999999/purchases", json=order, headers=ADMIN)
    ).status_code == 409


async def test_time_rules_are_read_fresh_and_stored_by_the_job(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await say(app, client, "wamid.t1", "is it in stock?")
    assert (await contact(client))["tags"]["activity"] == "high"
    clock: ManualClock = app.state.clock
    clock.advance(timedelta(days=4))
    # Read before the job ran: already decayed.
    tags = (await contact(client))["tags"]
    assert (tags["activity"], tags["intent"]) == ("low", "medium")
    changed = await job.run_once(app.state.sessionmaker, clock, app.state.tagging.ruleset)
    assert changed == 1
    stored = (await session.scalars(select(Contact))).one()
    assert (stored.activity, stored.intent) == ("low", "medium")
    time_events = (await session.scalars(select(TagEvent).where(TagEvent.trigger == "time"))).all()
    assert {e.rule for e in time_events} >= {"activity.replied_7d", "intent.high_no_reply"}
    assert await job.run_once(app.state.sessionmaker, clock, app.state.tagging.ruleset) == 0


async def test_reads_of_our_messages_turn_a_new_contact_orange(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await say(app, client, "wamid.r0", "hello")
    contact_row = (await session.scalars(select(Contact))).one()
    for i in range(3):
        session.add(
            Message(
                wamid=f"wamid.offer{i}",
                contact_id=contact_row.id,
                direction="out",
                type="template",
                payload={},
                sent_at=START,
                status="sent",
            )
        )
    await session.commit()
    assert (await contact(client))["tags"]["status"] == "yellow"
    for i in range(3):
        assert (
            await post_webhook(
                client,
                status(f"wamid.offer{i}", "read", recipient=WA, at=int(START.timestamp()) + 60 + i),
            )
        ).status_code == 200
    await processed(app)
    assert (await contact(client))["tags"]["status"] == "orange"


async def test_a_broken_rules_file_stops_the_start_with_the_key_named(
    database_url: str, tmp_path: Path
) -> None:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text("activity:\n  high_within_hours: -5\n")
    with pytest.raises(RulesFileError, match="high_within_hours"):
        create_app(make_settings(database_url, rules_file=rules_file), clock=ManualClock(START))
