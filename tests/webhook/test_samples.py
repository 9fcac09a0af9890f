"""Every public sample body goes through the real signed endpoint and is stored whole."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts.models import Message, MessageStatus
from app.webhook.models import InboundEvent, RejectedWebhook, WebhookUpdate
from tests.conftest import count, post_webhook, processed
from tests.samples import expected_rows, load_samples

SAMPLES = load_samples()


def test_samples_are_present() -> None:
    # Guards against a silently empty parametrisation when ../shared is missing.
    assert len(SAMPLES) > 150, "../shared/webhook-samples not found beside the checkout"


@pytest.mark.parametrize("sample", [s for s in SAMPLES if not s.malformed], ids=lambda s: s.id)
async def test_sample_is_acknowledged_and_stored(
    sample, app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await post_webhook(client, sample.body)
    assert response.status_code == 200, response.text
    await processed(app)

    event = (await session.scalars(select(InboundEvent))).one()
    assert event.body == sample.body
    assert event.processed_at is not None, event.last_error
    assert event.attempts == 0
    assert event.last_error is None

    wamids, statuses, fields = expected_rows(sample.body)
    stored = set((await session.scalars(select(Message.wamid))).all())
    assert wamids <= stored
    stored_statuses = {
        (r[0], r[1])
        for r in await session.execute(select(MessageStatus.wamid, MessageStatus.status))
    }
    assert statuses <= stored_statuses
    stored_fields = list((await session.scalars(select(WebhookUpdate.field))).all())
    for name in fields:
        assert name in stored_fields


@pytest.mark.parametrize("sample", [s for s in SAMPLES if s.malformed], ids=lambda s: s.id)
async def test_malformed_sample_gets_400_and_nothing_half_stored(
    sample, app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await post_webhook(client, sample.body)
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]
    assert await count(session, InboundEvent) == 0
    assert await count(session, Message) == 0
    kept = (await session.scalars(select(RejectedWebhook))).one()
    assert kept.body == sample.body
