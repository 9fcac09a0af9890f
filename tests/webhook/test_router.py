"""POST /webhook and GET /webhook through the real app: signatures, limits, bad input, duplicates."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts.models import Contact, Message
from app.webhook.models import InboundEvent, RejectedWebhook, WebhookUpdate
from app.whatsapp.signature import sign
from tests.conftest import (
    APP_SECRET,
    VERIFY_TOKEN,
    as_body,
    count,
    post_webhook,
    processed,
    signed_headers,
)
from tests.payloads import envelope, messages_value, text_message


@pytest.mark.parametrize(
    ("params", "status", "body"),
    [
        (
            {
                "hub.mode": "subscribe",
                "hub.verify_token": VERIFY_TOKEN,
                "hub.challenge": "1158201444",
            },
            200,
            "1158201444",
        ),
        ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"}, 403, None),
        (
            {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
            403,
            None,
        ),
        ({"hub.mode": "subscribe", "hub.challenge": "1"}, 403, None),
        ({"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN}, 403, None),
    ],
    ids=["ok", "wrong-token", "wrong-mode", "no-token", "no-challenge"],
)
async def test_verification_handshake(client: httpx.AsyncClient, params, status, body) -> None:
    response = await client.get("/webhook", params=params)
    assert response.status_code == status
    if body is not None:
        assert response.text == body
        assert response.headers["content-type"].startswith("text/plain")


BODY = as_body(text_message("wamid.sig", "hello"))


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Content-Type": "application/json"}, 401),
        ({"X-Hub-Signature-256": ""}, 401),
        ({"X-Hub-Signature-256": sign("another-secret", BODY)}, 403),
        ({"X-Hub-Signature-256": sign(APP_SECRET, BODY + b" ")}, 403),
        ({"X-Hub-Signature-256": sign(APP_SECRET, BODY).removeprefix("sha256=")}, 403),
        ({"X-Hub-Signature-256": "sha1=" + hashlib.sha1(BODY).hexdigest()}, 403),
        ({"X-Hub-Signature-256": ("sha256=ü" + "0" * 63).encode("latin-1")}, 403),
    ],
    ids=["missing", "empty", "wrong-secret", "other-body", "no-prefix", "sha1", "non-ascii"],
)
async def test_bad_signature_is_rejected_and_nothing_stored(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, headers, status
) -> None:
    response = await client.post("/webhook", content=BODY, headers=headers)
    assert response.status_code == status
    assert await count(session, InboundEvent) == 0
    assert await count(session, RejectedWebhook) == 0


async def test_signature_is_checked_on_raw_bytes_with_escapes(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    # Meta escapes non-ASCII and may escape '/'; re-serialising would change the HMAC.
    body = b'{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":[{"from":"4915112345678","id":"wamid.esc","timestamp":"1763892000","type":"text","text":{"body":"Gr\\u00fc\\u00dfe \\ud83d\\ude00 text\\/html"}}]}}]}]}'
    response = await post_webhook(client, body)
    assert response.status_code == 200
    await processed(app)
    message = (await session.scalars(select(Message))).one()
    assert message.text == "Grüße 😀 text/html"


async def test_oversized_body_gets_413_and_nothing_stored(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    limit = app.state.settings.webhook_max_body_bytes
    body = as_body(text_message("wamid.big", "x" * limit))
    response = await client.post("/webhook", content=body, headers=signed_headers(body))
    assert response.status_code == 413
    assert await count(session, InboundEvent) == 0


async def test_oversized_body_without_content_length_gets_413(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    limit = app.state.settings.webhook_max_body_bytes
    body = as_body(text_message("wamid.big", "x" * limit))

    async def chunks():
        for i in range(0, len(body), 65536):
            yield body[i : i + 65536]

    response = await client.post("/webhook", content=chunks(), headers=signed_headers(body))
    assert response.status_code == 413
    assert await count(session, InboundEvent) == 0


@pytest.mark.parametrize(
    "body",
    [
        b'{"object":"whatsapp_business_account","entry":[}',
        b"",
        b"\xff\xfe not utf-8",
        b"{'single':'quotes'}",
    ],
    ids=["truncated", "empty", "not-utf8", "python-repr"],
)
async def test_malformed_json_gets_400_is_kept_and_nothing_half_stored(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, body: bytes
) -> None:
    response = await client.post("/webhook", content=body, headers=signed_headers(body))
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert await count(session, InboundEvent) == 0
    assert await count(session, Contact) == 0
    assert (await session.scalars(select(RejectedWebhook.body))).one() == body


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"hello": "world"},
        {"object": "page", "entry": "not a list"},
        {"entry": [1, "x", {"changes": [None, 3]}]},
        "just a string",
        42,
    ],
    ids=["list", "no-entry", "entry-not-list", "junk-entries", "string", "number"],
)
async def test_unexpected_shape_is_stored_raw_and_acknowledged(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, payload
) -> None:
    body = json.dumps(payload).encode()
    response = await post_webhook(client, body)
    assert response.status_code == 200
    await processed(app)
    event = (await session.scalars(select(InboundEvent))).one()
    assert event.body == body
    assert event.processed_at is not None
    assert event.last_error is None
    assert await count(session, WebhookUpdate) >= 1


async def test_redelivered_body_is_stored_and_processed_once(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    body = as_body(text_message("wamid.dup", "is this in stock?"))
    for _ in range(3):
        assert (await post_webhook(client, body)).status_code == 200
    await processed(app)
    assert await count(session, InboundEvent) == 1
    assert await count(session, Message) == 1


async def test_same_message_in_different_bodies_is_processed_once(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    # Two apps on one WABA, or a batch that repeats an id: different bytes, one wamid.
    first = text_message("wamid.same", "price?")
    second = envelope(messages_value(first["entry"][0]["changes"][0]["value"]["messages"] * 2, []))
    assert (await post_webhook(client, first)).status_code == 200
    assert (await post_webhook(client, second)).status_code == 200
    await processed(app)
    assert await count(session, InboundEvent) == 2
    assert await count(session, Message) == 1


async def test_batch_of_entries_changes_and_messages_is_handled_whole(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    texts = [text_message(f"wamid.b{i}", f"msg {i}", wa_id=f"4915112345{i:03d}") for i in range(6)]
    values = [t["entry"][0]["changes"][0]["value"] for t in texts]
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {"field": "messages", "value": values[0]},
                    {"field": "messages", "value": values[1]},
                ],
            },
            {
                "id": "2",
                "changes": [
                    {
                        "field": "messages",
                        "value": messages_value(
                            values[2]["messages"] + values[3]["messages"],
                            values[2]["contacts"] + values[3]["contacts"],
                        ),
                    }
                ],
            },
            {
                "id": "3",
                "changes": [
                    {"field": "messages", "value": values[4]},
                    {
                        "field": "user_preferences",
                        "value": {
                            "user_preferences": [
                                {
                                    "wa_id": "4915112345005",
                                    "category": "marketing_messages",
                                    "value": "stop",
                                    "timestamp": 1763892000,
                                }
                            ]
                        },
                    },
                    {"field": "messages", "value": values[5]},
                ],
            },
        ],
    }
    assert (await post_webhook(client, body)).status_code == 200
    await processed(app)
    assert await count(session, Message) == 6
    assert await count(session, Contact) == 6
    assert await count(session, WebhookUpdate) == 1
    stopped = (await session.scalars(select(Contact).where(Contact.wa_id == "4915112345005"))).one()
    assert stopped.opted_out is True


async def test_unknown_message_type_is_stored(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    payload = text_message("wamid.future", "")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message.pop("text")
    message["type"] = "hologram"
    message["hologram"] = {"depth": 3}
    assert (await post_webhook(client, payload)).status_code == 200
    await processed(app)
    stored = (await session.scalars(select(Message))).one()
    assert stored.type == "hologram"
    assert stored.payload["hologram"] == {"depth": 3}


async def test_one_log_line_per_webhook_and_never_a_secret(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    body = as_body(text_message("wamid.log", "hello"))
    headers = signed_headers(body)
    assert (await client.post("/webhook", content=body, headers=headers)).status_code == 200
    assert (
        await client.post("/webhook", content=body, headers={"X-Hub-Signature-256": "sha256=00"})
    ).status_code == 403
    await processed(app)
    lines = [r for r in caplog.records if r.name == "app.webhook"]
    assert [(r.outcome, r.messages, r.statuses, r.entries) for r in lines] == [
        ("stored", 1, 0, 1),
        ("bad_signature", 0, 0, 0),
    ]
    assert all(isinstance(r.latency_ms, float) for r in lines)
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    for secret in (APP_SECRET, headers["X-Hub-Signature-256"], VERIFY_TOKEN, "test-admin-token"):
        assert secret not in text
