"""Plan → claim → send → record, through the real database, with Meta mocked at the HTTP edge."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import ManualClock
from app.contacts.models import Contact, Message
from app.scheduling import discounts, templates
from app.scheduling.models import DiscountCode, OutboxItem
from app.sending.worker import Sender
from app.whatsapp.client import CloudAPI, DryRunCloudAPI
from tests.conftest import ADMIN, post_webhook, processed
from tests.payloads import status, text_message

BASE = "https://graph.example.test/v26.0"
PNID = "106540352242922"
SEND_URL = f"{BASE}/{PNID}/messages"
WA = "4915112345678"  # Berlin
# Monday 2026-11-23, 10:00 UTC = 11:00 in Berlin.
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
async def api() -> AsyncIterator[CloudAPI]:
    transport = httpx.AsyncHTTPTransport()
    yield CloudAPI(transport, PNID, base_url=BASE, access_token="test-token")
    await transport.aclose()


@pytest.fixture
def meta() -> respx.MockRouter:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        yield router


def accept(router: respx.MockRouter) -> respx.Route:
    counter = iter(range(1, 10_000))
    return router.post(SEND_URL).mock(
        side_effect=lambda request: httpx.Response(
            200,
            json={
                "messaging_product": "whatsapp",
                "contacts": [{"input": WA, "wa_id": WA}],
                "messages": [{"id": f"wamid.out.{next(counter)}", "message_status": "accepted"}],
            },
        )
    )


def meta_error(
    code: int, status_code: int = 400, headers: dict[str, str] | None = None
) -> httpx.Response:
    body = {
        "error": {
            "message": f"error {code}",
            "type": "OAuthException",
            "code": code,
            "error_data": {"details": "x"},
            "fbtrace_id": "t",
        }
    }
    return httpx.Response(status_code, json=body, headers=headers)


async def register(
    session: AsyncSession, name: str, *, status: str = "APPROVED", **parameters
) -> None:
    await templates.register(
        session,
        name=name,
        language="en",
        category="marketing",
        parameters=parameters,
        now=MONDAY,
        status=status,
    )
    await session.commit()


async def contact_id(session: AsyncSession) -> int:
    await session.rollback()
    return (await session.scalars(select(Contact.id))).one()


async def customer_asks(
    app: FastAPI, client: httpx.AsyncClient, text: str, *, wa_id: str = WA, at: datetime = MONDAY
) -> None:
    assert (
        await post_webhook(
            client, text_message(f"wamid.in.{wa_id}.{at.timestamp()}", text, wa_id=wa_id, at=at)
        )
    ).status_code == 200
    await processed(app)


def sender(app: FastAPI, api, when: datetime) -> Sender:
    rules = app.state.tagging.ruleset
    # The 6 s pair spacing is the throttle's to prove (tests/sending/test_throttle.py); here it
    # would only make the suite sleep.
    fast = rules.model_copy(
        update={"sending": rules.sending.model_copy(update={"pair_interval_seconds": 0.0})}
    )
    return Sender(app.state.sessionmaker, ManualClock(when), api, fast, rng=random.Random(1))


async def outbox(session: AsyncSession) -> list[OutboxItem]:
    await session.rollback()
    return list((await session.scalars(select(OutboxItem).order_by(OutboxItem.id))).all())


async def test_price_question_gets_a_followup_inside_the_window_not_in_quiet_hours(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    writer: AsyncSession,
    api: CloudAPI,
    meta: respx.MockRouter,
) -> None:
    route = accept(meta)
    await register(writer, "offer_followup", body=["name"])
    await customer_asks(app, client, "how much is the stroller?")

    # Due 12 h later: 22:00 UTC = 23:00 in Berlin, inside the default quiet hours 22-8.
    due = MONDAY + timedelta(hours=12)
    report = await sender(app, api, due).run_once(due)
    assert report.planned == 1
    assert route.call_count == 0
    [item] = await outbox(session)
    assert (item.rule, item.state, item.reason) == (
        "high_intent_followup",
        "planned",
        "quiet_hours",
    )
    assert item.not_before == datetime(2026, 11, 24, 7, 0, tzinfo=UTC)  # 08:00 Berlin

    report = await sender(app, api, item.not_before).run_once(item.not_before)
    assert report.sent == 1
    sent = json.loads(route.calls.last.request.content)
    assert sent["to"] == "+" + WA
    assert sent["type"] == "template"
    assert sent["template"]["name"] == "offer_followup"
    assert sent["biz_opaque_callback_data"] == f"outbox:{item.id}"
    assert route.calls.last.request.headers["authorization"] == "Bearer test-token"
    [item] = await outbox(session)
    assert (item.state, item.wamid) == ("sent", "wamid.out.1")
    out = (await session.scalars(select(Message).where(Message.direction == "out"))).one()
    assert out.wamid == "wamid.out.1"

    # Status webhooks move the outbox forward and are visible in the conversation.
    for state in ("delivered", "read"):
        assert (
            await post_webhook(
                client,
                status(
                    "wamid.out.1", state, recipient=WA, at=int(item.not_before.timestamp()) + 60
                ),
            )
        ).status_code == 200
    await processed(app)
    [item] = await outbox(session)
    assert item.state == "read"
    messages = (await client.get(f"/contacts/{WA}/messages", headers=ADMIN)).json()["items"]
    assert next(m for m in messages if m["direction"] == "out")["status"] == "read"


async def test_planning_twice_plans_nothing_twice(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, writer: AsyncSession
) -> None:
    await customer_asks(app, client, "price?")
    s = sender(app, DryRunCloudAPI(), MONDAY)
    assert await s.plan(MONDAY) == 1
    assert await s.plan(MONDAY) == 0
    assert len(await outbox(session)) == 1


async def test_opted_out_contact_gets_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    writer: AsyncSession,
    api: CloudAPI,
    meta: respx.MockRouter,
) -> None:
    route = accept(meta)
    await register(writer, "offer_followup", body=["name"])
    await customer_asks(app, client, "price?")
    s = sender(app, api, MONDAY)
    await s.plan(MONDAY)
    await customer_asks(app, client, "STOP", at=MONDAY + timedelta(minutes=5))
    later = MONDAY + timedelta(days=1, hours=-1)
    await s.run_once(later)
    assert route.call_count == 0
    states = {i.state for i in await outbox(session)}
    assert states <= {"cancelled", "dropped"}


@pytest.mark.parametrize(
    ("response", "state", "reason", "opted_out"),
    [
        (meta_error(131050), "suppressed", "error_131050", True),
        (meta_error(130429, 429, {"Retry-After": "30"}), "planned", "retry_130429", False),
        (meta_error(131056), "planned", "retry_131056", False),
        (meta_error(190, 401), "failed", "error_190", False),
        (meta_error(132001), "failed", "error_132001", False),
        (meta_error(131026), "suppressed", "error_131026", False),
        (meta_error(130472), "dropped", "error_130472", False),
        (httpx.Response(502, text="<html>bad gateway</html>"), "planned", "retry_None", False),
    ],
    ids=[
        "stopped-marketing",
        "throughput",
        "pair-rate",
        "token-expired",
        "template-missing",
        "undeliverable",
        "experiment",
        "html-502",
    ],
)
async def test_every_error_class_has_its_outcome(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    writer: AsyncSession,
    api: CloudAPI,
    meta: respx.MockRouter,
    response,
    state,
    reason,
    opted_out,
) -> None:
    meta.post(SEND_URL).mock(return_value=response)
    await register(writer, "offer_followup", body=["name"])
    await customer_asks(app, client, "price?")
    when = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # due, and 10:00 in Berlin
    await sender(app, api, when).run_once(when)
    [item] = await outbox(session)
    assert (item.state, item.reason) == (state, reason)
    if state == "planned":
        assert item.not_before > when  # backed off, not resent at once
    await session.rollback()
    contact = (await session.scalars(select(Contact))).one()
    assert contact.opted_out is opted_out


async def test_unknown_outcome_is_reconciled_from_the_status_webhook_not_resent(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    writer: AsyncSession,
    api: CloudAPI,
    meta: respx.MockRouter,
) -> None:
    route = meta.post(SEND_URL).mock(side_effect=httpx.ReadTimeout("no answer"))
    await register(writer, "offer_followup", body=["name"])
    await customer_asks(app, client, "price?")
    when = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    await sender(app, api, when).run_once(when)
    [item] = await outbox(session)
    assert item.state == "unknown"
    await sender(app, api, when + timedelta(hours=1)).run_once(
        when + timedelta(hours=1), plan=False
    )
    assert route.call_count == 1  # never blindly retried
    # Meta did send it: its status carries our callback data.
    body = status(
        "wamid.late",
        "delivered",
        recipient=WA,
        at=int(when.timestamp()) + 5,
        biz_opaque_callback_data=f"outbox:{item.id}",
    )
    assert (await post_webhook(client, body)).status_code == 200
    await processed(app)
    [item] = await outbox(session)
    assert (item.state, item.wamid) == ("delivered", "wamid.late")


async def test_a_crash_between_claim_and_send_is_reconciled_after_the_lease(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    writer: AsyncSession,
    api: CloudAPI,
    meta: respx.MockRouter,
) -> None:
    route = accept(meta)
    await customer_asks(app, client, "price?")
    when = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    s = sender(app, api, when)
    await s.plan(when)
    from app.sending import claim

    async with app.state.sessionmaker() as work:
        ids = await claim.claim(work, now=when, lease=timedelta(minutes=5), limit=10)
        await work.commit()
    assert len(ids) == 1  # …and the worker died here.
    await s.run_once(when + timedelta(minutes=10), plan=False)
    [item] = await outbox(session)
    assert (item.state, item.reason) == ("unknown", "lease_expired")
    assert route.call_count == 0


async def test_discount_code_is_personal_unique_and_in_the_coupon_button(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    writer: AsyncSession,
    api: CloudAPI,
    meta: respx.MockRouter,
) -> None:
    route = accept(meta)
    await register(
        writer,
        "discount_code",
        body=["name", "code", "valid_until"],
        buttons=[{"kind": "copy_code", "index": 0, "params": ["code"]}],
    )
    await discounts.add_codes(writer, offer="personal_10", codes=["POOLCODE1"], now=MONDAY)
    await writer.commit()
    await customer_asks(app, client, "any discount for me?")
    await customer_asks(app, client, "got a coupon?", wa_id="4915199999999")
    when = MONDAY + timedelta(hours=1)  # within 1 h of the tag; 12:00 in Berlin
    await sender(app, api, when).run_once(when)
    assert route.call_count == 2
    codes = []
    for call in route.calls:
        template = json.loads(call.request.content)["template"]
        body = next(c for c in template["components"] if c["type"] == "body")
        button = next(c for c in template["components"] if c["type"] == "button")
        code = body["parameters"][1]["text"]
        assert button["parameters"][0]["coupon_code"] == code
        codes.append(code)
    assert len(set(codes)) == 2
    assert "POOLCODE1" in codes  # the imported pool is used first
    rows = (
        await session.scalars(select(DiscountCode).where(DiscountCode.contact_id.is_not(None)))
    ).all()
    assert {r.valid_until for r in rows} == {when + timedelta(hours=48)}
    # Planning again never hands out a second code for the same offer.
    await sender(app, api, when + timedelta(days=1)).run_once(when + timedelta(days=1))
    assert (
        len(
            (
                await session.scalars(
                    select(DiscountCode).where(DiscountCode.contact_id.is_not(None))
                )
            ).all()
        )
        == 2
    )


async def test_weekly_cap_holds_back_the_fourth_marketing_message(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    writer: AsyncSession,
    api: CloudAPI,
    meta: respx.MockRouter,
) -> None:
    route = accept(meta)
    await customer_asks(app, client, "hello")
    cid = await contact_id(session)
    base = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    for i in range(4):
        writer.add(
            OutboxItem(
                contact_id=cid,
                plan_key=f"manual:{i}",
                rule="manual",
                priority=1,
                category="marketing",
                text=None,
                template="offer_followup",
                due_at=base,
                not_before=base,
                state="planned",
                planned_at=base,
                updated_at=base,
            )
        )
    await writer.commit()
    await register(writer, "offer_followup", body=["name"])
    await sender(app, api, base).run_once(base, plan=False)
    assert route.call_count == 3
    held = [i for i in await outbox(session) if i.state == "planned"]
    assert len(held) == 1
    assert held[0].reason == "weekly_cap"


async def test_free_form_only_while_the_24h_window_is_open_at_sending(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    writer: AsyncSession,
    api: CloudAPI,
    meta: respx.MockRouter,
) -> None:
    route = accept(meta)
    await register(writer, "offer_followup", body=["name"])
    await customer_asks(app, client, "hello")
    cid = await contact_id(session)
    planned_at = MONDAY + timedelta(hours=1)
    for key, template in (("text-only", None), ("text-or-template", "offer_followup")):
        writer.add(
            OutboxItem(
                contact_id=cid,
                plan_key=key,
                rule="manual",
                priority=1,
                category="utility",
                text="Your quote: 20 EUR",
                template=template,
                due_at=planned_at,
                not_before=planned_at,
                state="planned",
                planned_at=planned_at,
                updated_at=planned_at,
            )
        )
    await writer.commit()
    # The window closed (25 h after the last message) before the worker got to them.
    late = MONDAY + timedelta(hours=25)
    await sender(app, api, late).run_once(late, plan=False)
    items = {i.plan_key: i for i in await outbox(session)}
    assert (items["text-only"].state, items["text-only"].reason) == (
        "dropped",
        "service_window_closed",
    )
    assert items["text-or-template"].state == "sent"
    assert json.loads(route.calls.last.request.content)["type"] == "template"


async def test_without_a_token_the_sender_runs_dry_and_records(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, writer: AsyncSession
) -> None:
    dry = DryRunCloudAPI()
    await register(writer, "offer_followup", body=["name"])
    await customer_asks(app, client, "price?")
    when = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    report = await sender(app, dry, when).run_once(when)
    assert report.sent == 1
    assert len(dry.sent) == 1
    assert dry.sent[0].payload["template"]["name"] == "offer_followup"
    [item] = await outbox(session)
    assert item.wamid == dry.sent[0].wamid


async def test_a_purchase_with_the_code_records_its_redemption(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, writer: AsyncSession
) -> None:
    await customer_asks(app, client, "hello")
    cid = await contact_id(session)
    code = await discounts.assign(
        writer, contact_id=cid, offer="personal_10", valid_hours=48, now=MONDAY
    )
    await writer.commit()
    order = {
        "order_id": "SO-77",
        "amount": "30",
        "currency": "EUR",
        "purchased_at": (MONDAY + timedelta(hours=5)).isoformat(),
        "discount_code": code.code,
    }
    assert (
        await client.post(f"/contacts/{WA}/purchases", json=order, headers=ADMIN)
    ).status_code == 201
    await session.rollback()
    stored = (
        await session.scalars(select(DiscountCode).where(DiscountCode.code == code.code))
    ).one()
    assert stored.order_id == "SO-77"
    assert stored.redeemed_at == MONDAY + timedelta(hours=5)
    # Someone else's code, or a code used after it expired, is refused.
    await customer_asks(app, client, "hi", wa_id="4915199999999")
    other = {**order, "order_id": "SO-78"}
    assert (
        await client.post("/contacts/4915199999999/purchases", json=other, headers=ADMIN)
    ).status_code == 400
    late = {**order, "order_id": "SO-79", "purchased_at": (MONDAY + timedelta(days=5)).isoformat()}
    assert (
        await client.post(f"/contacts/{WA}/purchases", json=late, headers=ADMIN)
    ).status_code == 400


@pytest.mark.parametrize(
    ("code", "state", "reason", "opted_out"),
    [
        (131050, "suppressed", "error_131050", True),
        (131047, "planned", "window_closed_use_template", False),
        (131053, "failed", "error_131053", False),
    ],
    ids=["stopped-marketing", "window-closed", "media"],
)
async def test_a_failure_reported_later_by_status_webhook_is_classified(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    writer: AsyncSession,
    api: CloudAPI,
    meta: respx.MockRouter,
    code: int,
    state: str,
    reason: str,
    opted_out: bool,
) -> None:
    accept(meta)
    await register(writer, "offer_followup", body=["name"])
    await customer_asks(app, client, "hello")
    cid = await contact_id(session)
    when = MONDAY + timedelta(hours=1)
    writer.add(
        OutboxItem(
            contact_id=cid,
            plan_key="quote",
            rule="manual",
            priority=1,
            category="utility",
            text="Your quote: 20 EUR",
            template="offer_followup",
            due_at=when,
            not_before=when,
            state="planned",
            planned_at=when,
            updated_at=when,
        )
    )
    await writer.commit()
    await sender(app, api, when).run_once(when, plan=False)
    [item] = await outbox(session)
    assert item.state == "sent"
    failed = status(
        item.wamid,
        "failed",
        recipient=WA,
        at=int(when.timestamp()) + 5,
        errors=[{"code": code, "title": "x", "message": "x"}],
    )
    assert (await post_webhook(client, failed)).status_code == 200
    await processed(app)
    [item] = await outbox(session)
    assert (item.state, item.reason) == (state, reason)
    assert (await client.get(f"/contacts/{WA}", headers=ADMIN)).json()["opted_out"] is opted_out


async def test_a_long_pass_records_each_send_at_its_own_moment(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, writer: AsyncSession
) -> None:
    # A pass through a large backlog outlasts a lease: what it claims, checks and records later
    # carries the later time, not the moment the pass began.
    when = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    clock = ManualClock(when)

    class SlowMeta(DryRunCloudAPI):
        async def send_template(self, *args, **kwargs):
            clock.advance(timedelta(minutes=10))
            return await super().send_template(*args, **kwargs)

    await register(writer, "offer_followup", body=["name"])
    await customer_asks(app, client, "price?")
    rules = sender(app, None, when)._ruleset
    slow = Sender(app.state.sessionmaker, clock, SlowMeta(), rules, rng=random.Random(1))
    report = await slow.run_once(when)
    assert report.sent == 1
    [item] = await outbox(session)
    assert item.state == "sent"
    assert item.sent_at == when + timedelta(minutes=10)


async def test_seed_stand_in_templates_are_for_a_dry_run_only(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    writer: AsyncSession,
    api: CloudAPI,
    meta: respx.MockRouter,
) -> None:
    route = accept(meta)
    await register(writer, "offer_followup", status=templates.DEMO, body=["name"])
    await customer_asks(app, client, "price?")
    when = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    # A number that really sends never sends a stand-in: Meta would refuse it.
    await sender(app, api, when).run_once(when)
    [item] = await outbox(session)
    assert (item.state, item.reason) == ("failed", "template_not_registered")
    assert not route.called

    # The dry run does, so that a seeded demo shows its follow-ups.
    await session.execute(
        update(OutboxItem).values(state="planned", reason=None, sent_at=None, attempts=0)
    )
    await session.commit()
    dry = DryRunCloudAPI()
    assert (await sender(app, dry, when).run_once(when)).sent == 1
    assert dry.sent[0].payload["template"]["name"] == "offer_followup"

    # Registering the real template makes the stand-in approved.
    await register(writer, "offer_followup", body=["name"])
    [template] = await templates.list_all(writer)
    assert template.status == "APPROVED"
