"""The send clock shared by all workers: slot arithmetic, the reserving statements on both
databases, and the limits that now hold between workers (throughput pause, pair rate)."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx
from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import ManualClock
from app.contacts.models import Contact
from app.db.engine import create_engine, create_sessionmaker
from app.scheduling import templates
from app.scheduling.models import OutboxItem
from app.sending import claim
from app.sending.models import SendClock
from app.sending.throttle import HEADROOM, SlotPace
from app.sending.worker import Sender
from app.whatsapp.client import CloudAPI
from tests.conftest import post_webhook, processed
from tests.fake_cloud_api import busiest_second
from tests.payloads import text_message

BASE = "https://graph.example.test/v26.0"
PNID = "106540352242922"
SEND_URL = f"{BASE}/{PNID}/messages"
WA = "4915112345678"
# Tuesday 2026-11-24, 09:00 UTC = 10:00 in Berlin: due, inside the window.
WHEN = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
T0 = 1_800_000_000.0  # Unix seconds of the order the workers' clocks give


# -- pure: the arithmetic --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cap", "whole", "block"),
    [(80, 80, 3), (1000, 1000, 48), pytest.param(80.9, 80, 3, id="fraction-of-a-send-dropped")],
)
def test_slots_run_a_little_under_the_whole_cap(cap: float, whole: int, block: int) -> None:
    pace = SlotPace.for_cap(cap)
    assert pace.interval == pytest.approx(1 / (whole * (1 - HEADROOM)))
    assert pace.block == block
    assert pace.slots(T0 + 3 * pace.interval, 3) == pytest.approx(
        [T0, T0 + pace.interval, T0 + 2 * pace.interval]
    )
    assert pace.usable(T0, T0 + pace.tolerance - 1e-6)
    assert not pace.usable(T0, T0 + pace.tolerance + 0.001)


@settings(max_examples=60, deadline=None)
@given(
    cap=st.sampled_from([1, 3, 20, 80, 250, 1000, 2000]),
    workers=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
)
def test_no_second_holds_more_than_the_cap_however_late_within_the_tolerance(
    cap: int, workers: int, seed: int
) -> None:
    """Workers reserve blocks in any order and at any moment, and launch each slot anywhere
    from on time to `tolerance` late: still no window [t, t + 1) above the cap."""
    rng = random.Random(seed)
    pace = SlotPace.for_cap(cap)
    next_slot, now = T0, T0
    ready = [T0] * workers  # when each worker next reserves
    launches: list[float] = []
    while len(launches) < 4 * cap + 20:
        w = min(range(workers), key=ready.__getitem__)
        now = max(now, ready[w])
        count = rng.randint(1, pace.block)
        start = max(next_slot, now)  # what claim.reserve_slots computes
        next_slot = start + count * pace.interval
        slots = pace.slots(next_slot, count)
        # On time and as late as allowed are the extremes that fill a window the most.
        late = [0.0, pace.tolerance, rng.uniform(0, pace.tolerance)]
        launches += [slot + rng.choice(late) for slot in slots]
        # The worker comes back at some point while its block runs, or after an idle spell.
        ready[w] = slots[-1] + rng.choice([-pace.interval * count / 2, 0, rng.uniform(0, 2)])
    launches.sort()
    assert busiest_second(launches) <= cap


def test_a_cap_below_one_per_second_spaces_sends_more_than_a_second() -> None:
    pace = SlotPace.for_cap(0.5)
    assert pace.interval > 2
    with pytest.raises(ValueError, match="positive"):
        SlotPace.for_cap(0)


# -- the statements, on the real database ----------------------------------------------------


@pytest.fixture
async def maker(database_url: str) -> AsyncIterator[object]:
    engine = create_engine(database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def reserve(maker, count: int, now: float, interval: float = 0.01) -> float:
    async with maker() as session:
        end = await claim.reserve_slots(
            session, number=PNID, count=count, interval=interval, now=now
        )
        await session.commit()
    return end


async def test_blocks_follow_each_other_and_idle_time_is_not_saved_up(maker) -> None:
    assert await reserve(maker, 5, T0) == pytest.approx(T0 + 0.05)  # a new clock starts now
    # Another worker at the same moment queues behind the first block, not on top of it.
    assert await reserve(maker, 3, T0) == pytest.approx(T0 + 0.08)
    assert await reserve(maker, 2, T0 + 0.01) == pytest.approx(T0 + 0.10)
    # After an idle minute the clock starts at now: no burst of the slots nobody used.
    assert await reserve(maker, 1, T0 + 60) == pytest.approx(T0 + 60.01)


async def test_a_clock_pushed_far_ahead_by_a_skewed_worker_restarts(maker) -> None:
    await reserve(maker, 1, T0 + 3600)  # a worker whose clock runs an hour fast
    assert await reserve(maker, 1, T0) == pytest.approx(T0 + 0.01)


async def test_a_pause_moves_the_clock_forward_never_back(maker) -> None:
    await reserve(maker, 1, T0)
    async with maker() as session:
        await claim.pause_slots(session, number=PNID, until=T0 + 30)
        await claim.pause_slots(session, number=PNID, until=T0 + 10)
        await session.commit()
    assert await reserve(maker, 1, T0 + 1) == pytest.approx(T0 + 30.01)


# -- through the sender ----------------------------------------------------------------------


@pytest.fixture
async def api() -> AsyncIterator[CloudAPI]:
    transport = httpx.AsyncHTTPTransport()
    yield CloudAPI(transport, PNID, base_url=BASE, access_token="test-token")
    await transport.aclose()


@pytest.fixture
def meta() -> respx.MockRouter:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        yield router


def sender(app: FastAPI, api: CloudAPI, when: datetime, *, pair_seconds: float = 0.0) -> Sender:
    rules = app.state.tagging.ruleset
    rules = rules.model_copy(
        update={"sending": rules.sending.model_copy(update={"pair_interval_seconds": pair_seconds})}
    )
    return Sender(app.state.sessionmaker, ManualClock(when), api, rules, rng=random.Random(1))


async def due_followups(
    app: FastAPI, client: httpx.AsyncClient, writer: AsyncSession, n: int
) -> None:
    """`n` due utility follow-ups for one contact who wrote two hours ago."""
    await templates.register(
        writer,
        name="offer_followup",
        language="en",
        category="utility",
        parameters={"body": ["name"]},
        now=WHEN,
    )
    await writer.commit()
    body = text_message("wamid.in.1", "hello", wa_id=WA, at=WHEN - timedelta(hours=2))
    assert (await post_webhook(client, body)).status_code == 200
    await processed(app)
    contact_id = (await writer.scalars(select(Contact.id))).one()
    for i in range(n):
        writer.add(
            OutboxItem(
                contact_id=contact_id,
                plan_key=f"manual:{i}",
                rule="manual",
                priority=1,
                category="utility",
                template="offer_followup",
                due_at=WHEN,
                not_before=WHEN,
                state="planned",
                planned_at=WHEN,
                updated_at=WHEN,
            )
        )
    await writer.commit()


async def outbox(session: AsyncSession) -> list[OutboxItem]:
    await session.rollback()
    return list((await session.scalars(select(OutboxItem).order_by(OutboxItem.id))).all())


def accepted(request: httpx.Request) -> httpx.Response:
    sent = json.loads(request.content)
    return httpx.Response(
        200, json={"messages": [{"id": f"wamid.{sent['biz_opaque_callback_data']}"}]}
    )


async def test_throughput_error_pauses_every_worker_of_the_number(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    writer: AsyncSession,
    api: CloudAPI,
    meta: respx.MockRouter,
) -> None:
    body = {"error": {"message": "too fast", "code": 130429, "type": "OAuthException"}}
    meta.post(SEND_URL).mock(
        return_value=httpx.Response(429, json=body, headers={"Retry-After": "30"})
    )
    await due_followups(app, client, writer, 1)
    await sender(app, api, WHEN).run_once(WHEN, plan=False)
    [item] = await outbox(session)
    assert (item.state, item.reason) == ("planned", "retry_130429")
    clock = (await session.scalars(select(SendClock))).one()
    assert clock.next_slot >= WHEN.timestamp() + 30
    # Another worker of the same number gets no slot before the pause is over.
    async with app.state.sessionmaker() as other:
        end = await claim.reserve_slots(
            other, number=PNID, count=1, interval=0.1, now=WHEN.timestamp() + 1
        )
        await other.rollback()
    assert end >= WHEN.timestamp() + 30


async def test_pair_rate_holds_between_workers_and_passes(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    writer: AsyncSession,
    api: CloudAPI,
    meta: respx.MockRouter,
) -> None:
    route = meta.post(SEND_URL).mock(side_effect=accepted)
    await due_followups(app, client, writer, 2)
    # Two workers, one pass each at the same moment: one message goes, the other waits 6 s.
    for _ in range(2):
        await sender(app, api, WHEN, pair_seconds=6).run_once(WHEN, plan=False)
    assert route.call_count == 1
    first, second = await outbox(session)
    assert first.state == "sent"
    assert (second.state, second.reason) == ("planned", "pair_rate")
    assert second.not_before == WHEN + timedelta(seconds=6)
    assert second.attempts == 0  # waiting for the pair rate is not a failed attempt
    later = WHEN + timedelta(seconds=6)
    await sender(app, api, later, pair_seconds=6).run_once(later, plan=False)
    assert route.call_count == 2
    assert {i.state for i in await outbox(session)} == {"sent"}
