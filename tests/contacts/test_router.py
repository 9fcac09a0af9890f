"""/contacts through the real app: identity however Meta sends it, conversation, opt-out, source."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts.models import Contact, Message
from tests.conftest import ADMIN, START, count, post_webhook, processed
from tests.payloads import envelope, messages_value, status, text_message


async def deliver(app: FastAPI, client: httpx.AsyncClient, *payloads) -> None:
    for payload in payloads:
        assert (await post_webhook(client, payload)).status_code == 200
    await processed(app)


async def test_contact_from_a_phone_number(app: FastAPI, client: httpx.AsyncClient) -> None:
    await deliver(
        app, client, text_message("wamid.1", "hola", wa_id="5511987654321", name="Ana", at=START)
    )
    body = (await client.get("/contacts/5511987654321", headers=ADMIN)).json()
    assert body["wa_id"] == "5511987654321"
    assert body["name"] == "Ana"
    assert (body["country"], body["timezone"]) == ("BR", "America/Sao_Paulo")
    assert body["phone_e164"] == "+5511987654321"
    assert body["opted_out"] is False
    assert body["last_inbound_at"] == "2026-11-23T10:00:00Z"
    assert set(body["tags"]) >= {
        "activity",
        "intent",
        "status",
        "lifecycle",
        "engagement",
        "source",
        "spend_tier",
        "purchase_frequency",
        "interests",
        "categories",
    }
    # '+' is accepted too, as people copy numbers with it.
    assert (await client.get("/contacts/+5511987654321", headers=ADMIN)).status_code == 200


async def test_username_only_contact_then_phone_arrives_is_one_contact(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await deliver(app, client, text_message("wamid.u1", "hi", wa_id=None, user_id="US.123456789"))
    only_user = (await client.get("/contacts/US.123456789", headers=ADMIN)).json()
    assert only_user["wa_id"] is None
    assert only_user["country"] is None
    await deliver(
        app,
        client,
        text_message("wamid.u2", "hi again", wa_id="16505551234", user_id="US.123456789"),
    )
    assert await count(session, Contact) == 1
    by_phone = (await client.get("/contacts/16505551234", headers=ADMIN)).json()
    assert by_phone["user_id"] == "US.123456789"
    assert by_phone["country"] == "US"
    messages = (await client.get("/contacts/US.123456789/messages", headers=ADMIN)).json()["items"]
    assert [m["wamid"] for m in messages] == ["wamid.u2", "wamid.u1"]


async def test_phone_first_then_user_id_only_then_both_merges_into_one(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await deliver(
        app,
        client,
        text_message("wamid.m1", "a", wa_id="4915112345678"),
        text_message("wamid.m2", "b", wa_id=None, user_id="DE.987"),
    )
    assert await count(session, Contact) == 2
    await deliver(
        app, client, text_message("wamid.m3", "c", wa_id="4915112345678", user_id="DE.987")
    )
    assert await count(session, Contact) == 1
    assert await count(session, Message, Message.contact_id.is_(None)) == 0
    messages = (await client.get("/contacts/DE.987/messages", headers=ADMIN)).json()["items"]
    assert {m["wamid"] for m in messages} == {"wamid.m1", "wamid.m2", "wamid.m3"}


async def test_user_changed_number_moves_the_contact(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    system = envelope(
        messages_value(
            [
                {
                    "from": "16505551234",
                    "id": "wamid.sys",
                    "timestamp": "1763892000",
                    "type": "system",
                    "system": {
                        "body": "User A changed from 16505551234 to 12125551234",
                        "wa_id": "12125551234",
                        "type": "user_changed_number",
                    },
                }
            ],
            [],
        )
    )
    await deliver(app, client, text_message("wamid.before", "hi"), system)
    assert (await client.get("/contacts/16505551234", headers=ADMIN)).status_code == 404
    moved = (await client.get("/contacts/12125551234", headers=ADMIN)).json()
    assert moved["timezone"] == "America/New_York"
    assert (
        len((await client.get("/contacts/12125551234/messages", headers=ADMIN)).json()["items"])
        == 2
    )


@pytest.mark.parametrize(
    ("events", "opted_out"),
    [
        (["stop"], True),
        (["stop", "resume"], False),
        (["resume", "stop"], True),
        # Delivered out of order: the older stop must not override the newer resume.
        ([("resume", 200), ("stop", 100)], False),
    ],
    ids=["stop", "stop-resume", "resume-stop", "out-of-order"],
)
async def test_marketing_preferences_stop_and_resume(
    app: FastAPI, client: httpx.AsyncClient, events, opted_out: bool
) -> None:
    for i, event in enumerate(events):
        choice, offset = event if isinstance(event, tuple) else (event, i)
        payload = envelope(
            {
                "messaging_product": "whatsapp",
                "user_preferences": [
                    {
                        "wa_id": "16505551234",
                        "detail": "User requested",
                        "category": "marketing_messages",
                        "value": choice,
                        "timestamp": 1763892000 + offset,
                    }
                ],
            },
            field="user_preferences",
        )
        await deliver(app, client, payload)
    assert (await client.get("/contacts/16505551234", headers=ADMIN)).json()[
        "opted_out"
    ] is opted_out


async def test_click_to_whatsapp_referral_sets_source(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    referral = {
        "source_url": "https://fb.me/x",
        "source_id": "ad1",
        "source_type": "ad",
        "ctwa_clid": "c1",
    }
    await deliver(app, client, text_message("wamid.ad", "I saw your ad", referral=referral))
    assert (await client.get("/contacts/16505551234", headers=ADMIN)).json()["tags"][
        "source"
    ] == "ctwa_ad"


async def test_conversation_shows_outbound_statuses_highest_state_kept(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await deliver(app, client, text_message("wamid.in", "price?"))
    contact = (await session.scalars(select(Contact))).one()
    # The sender (a later issue) records outbound messages; this stands in for it.
    session.add(
        Message(
            wamid="wamid.out",
            contact_id=contact.id,
            direction="out",
            type="text",
            text="It is 20 EUR",
            payload={},
            sent_at=START + timedelta(minutes=1),
            status="sent",
        )
    )
    await session.commit()
    # read arrives before delivered; a status for a message we do not know is kept too.
    await deliver(
        app,
        client,
        status("wamid.out", "read", at=1763892100),
        status("wamid.out", "delivered", at=1763892090),
        status("wamid.unknown", "delivered"),
    )
    page = (await client.get("/contacts/16505551234/messages", headers=ADMIN)).json()
    out = next(m for m in page["items"] if m["direction"] == "out")
    assert out["status"] == "read"
    assert [s["status"] for s in out["statuses"]] == ["delivered", "read"]


async def test_messages_are_paged(app: FastAPI, client: httpx.AsyncClient) -> None:
    await deliver(app, client, *(text_message(f"wamid.p{i}", f"m{i}") for i in range(5)))
    first = (await client.get("/contacts/16505551234/messages?limit=2", headers=ADMIN)).json()
    assert [m["text"] for m in first["items"]] == ["m4", "m3"]
    second = (
        await client.get(
            f"/contacts/16505551234/messages?limit=2&before={first['next_before']}", headers=ADMIN
        )
    ).json()
    assert [m["text"] for m in second["items"]] == ["m2", "m1"]


@pytest.mark.parametrize(
    "path", ["/contacts/0000", "/contacts/0000/messages", "/contacts/XX.nobody"]
)
async def test_unknown_contact_is_404(app: FastAPI, client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path, headers=ADMIN)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "limit=x", "before=-1"])
async def test_bad_parameters_are_422(app: FastAPI, client: httpx.AsyncClient, query: str) -> None:
    await deliver(app, client, text_message("wamid.q", "hi"))
    assert (
        await client.get(f"/contacts/16505551234/messages?{query}", headers=ADMIN)
    ).status_code == 422


async def test_merging_keeps_opt_out_purchases_and_tags(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await deliver(app, client, text_message("wamid.g1", "STOP", wa_id="4915112345678", at=START))
    order = {
        "order_id": "SO-M",
        "amount": "900",
        "currency": "EUR",
        "purchased_at": START.isoformat(),
    }
    assert (
        await client.post("/contacts/4915112345678/purchases", json=order, headers=ADMIN)
    ).status_code == 201
    await deliver(
        app, client, text_message("wamid.g2", "hello", wa_id=None, user_id="DE.55", at=START)
    )
    await deliver(
        app,
        client,
        text_message("wamid.g3", "hi", wa_id="4915112345678", user_id="DE.55", at=START),
    )
    assert await count(session, Contact) == 1
    merged = (await client.get("/contacts/DE.55", headers=ADMIN)).json()
    assert merged["wa_id"] == "4915112345678"
    assert merged["opted_out"] is True
    assert merged["tags"]["spend_tier"] == "mid"
    events = (await client.get("/contacts/DE.55/tag-events", headers=ADMIN)).json()["items"]
    assert any(e["dimension"] == "opted_out" for e in events)


async def test_a_reused_number_starts_a_new_contact(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await deliver(
        app, client, text_message("wamid.r1", "hi", wa_id="4915112345678", user_id="DE.old")
    )
    await deliver(
        app,
        client,
        text_message("wamid.r2", "who is this", wa_id="4915112345678", user_id="DE.new"),
    )
    assert await count(session, Contact) == 2
    assert (await client.get("/contacts/DE.old", headers=ADMIN)).json()["wa_id"] is None
    assert (await client.get("/contacts/4915112345678", headers=ADMIN)).json()[
        "user_id"
    ] == "DE.new"
    old = (await client.get("/contacts/DE.old/messages", headers=ADMIN)).json()["items"]
    assert [m["wamid"] for m in old] == ["wamid.r1"]


async def test_stop_and_start_are_ordered_by_meta_time(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    later, earlier = START + timedelta(minutes=5), START
    await deliver(app, client, text_message("wamid.s2", "START", at=later))
    await deliver(app, client, text_message("wamid.s1", "STOP", at=earlier))  # delivered late
    assert (await client.get("/contacts/16505551234", headers=ADMIN)).json()["opted_out"] is False


async def test_over_long_ids_do_not_cost_the_rest_of_the_body(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    body = text_message("wamid.long", "price?", context={"from": "1", "id": "w" * 600})
    body["entry"][0]["id"] = "9" * 100
    body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "8" * 400
    body["entry"][0]["changes"].append({"field": "account_update", "value": {"event": "X"}})
    await deliver(app, client, body)
    message = (await session.scalars(select(Message).where(Message.wamid == "wamid.long"))).one()
    assert message.context_wamid is None
    assert message.phone_number_id is None
