"""GET /queues/today through the real app: order, filters, paging, explanations, done and snooze."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from app.clock import ManualClock
from tests.conftest import ADMIN
from tests.queue.conftest import new_agent, set_status, writes

H = timedelta(hours=1)


async def queue(client: httpx.AsyncClient, headers: dict[str, str] = ADMIN, **params) -> dict:
    r = await client.get("/queues/today", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def ids(page: dict) -> list[str]:
    return [item["wa_id"] for item in page["items"]]


# (wa_id, hours ago the contact wrote, colour set by an agent)
TEAM = [
    ("4915100000001", 1, "green"),
    ("4915100000002", 5, "orange"),
    ("4915100000003", 2, "red"),
    ("4915100000004", 9, "yellow"),
    ("4915100000005", 1, "red"),
    ("4915100000006", 30, "grey"),
    ("4915100000007", 11, "orange"),
]


@pytest.fixture
async def team(app: FastAPI, client: httpx.AsyncClient, clock: ManualClock) -> None:
    for wa_id, hours_ago, colour in TEAM:
        await writes(app, client, wa_id, "hello", clock.now() - hours_ago * H)
        await set_status(client, wa_id, colour)


# Due: red 3 at 10:00 and red 5 at 11:00 (2 h after the message); orange 7 at 11:00 and orange
# 2 at 17:00 (12 h); grey 6 at 04:00 (24 h, overdue); yellow 4 tomorrow 01:00 (24 h); green 1 on
# the 26th (72 h). A day holds what falls due by its end, overdue included, colour first.
ORDER_CASES = [
    # (filters, expected wa_id suffixes in order)
    ({}, ["3", "5", "7", "2", "6"]),
    ({"date": "2026-11-24"}, ["3", "5", "7", "2", "4", "6"]),
    ({"date": "2026-11-26"}, ["3", "5", "7", "2", "4", "1", "6"]),
    ({"status": "red"}, ["3", "5"]),
    ({"status": "orange,yellow", "date": "2026-11-24"}, ["7", "2", "4"]),
    ({"status": ["green", "red"], "date": "2026-11-26"}, ["3", "5", "1"]),
    ({"status": "grey"}, ["6"]),
]


@pytest.mark.usefixtures("team")
@pytest.mark.parametrize(("params", "expected"), ORDER_CASES)
async def test_order_is_colour_then_due_time(
    client: httpx.AsyncClient, params: dict, expected: list[str]
) -> None:
    page = await queue(client, **params)
    assert [w[-1] for w in ids(page)] == expected


@pytest.mark.usefixtures("team")
async def test_items_due_after_the_day_wait(client: httpx.AsyncClient) -> None:
    page = await queue(client, date="2026-11-23")
    assert [w[-1] for w in ids(page)] == ["3", "5", "7", "2", "6"]
    grey = page["items"][-1]
    assert grey["status"] == "grey"
    assert grey["overdue"] is True
    assert grey["window_open"] is False
    assert grey["needs_template"] is True


@pytest.mark.usefixtures("team")
async def test_paging_walks_every_item_once(client: httpx.AsyncClient) -> None:
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 2, "date": "2026-11-26"}
        if cursor:
            params["cursor"] = cursor
        page = await queue(client, **params)
        seen += ids(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [w[-1] for w in seen] == ["3", "5", "7", "2", "4", "1", "6"]


async def test_a_price_question_is_red_due_within_the_hour_with_its_evidence(
    app: FastAPI, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    asked_at = clock.now() - timedelta(minutes=10)
    await writes(app, client, "4915112345678", "How much is the power bank?", asked_at)
    await writes(app, client, "4915112345679", "thanks!", asked_at)
    page = await queue(client)
    first = page["items"][0]
    assert first["wa_id"] == "4915112345678"
    assert first["status"] == "red"
    assert first["tags"]["intent"] == "high"
    assert first["kind"] == "reply"
    assert first["due_at"].startswith((asked_at + H).strftime("%Y-%m-%dT%H:%M"))
    assert first["deadline_at"].startswith((asked_at + 24 * H).strftime("%Y-%m-%dT%H:%M"))
    assert first["overdue"] is False
    assert first["reason"]["message"]["text"] == "How much is the power bank?"
    assert "How much is the power bank?" in first["reason"]["summary"]
    assert first["reason"]["rule"]
    assert first["reason"]["evidence"]
    assert first["window_open"] is True
    assert first["needs_template"] is False
    assert first["action"].startswith("Call first")
    assert page["timezone"] == "UTC"
    assert page["date"] == "2026-11-23"

    clock.advance(2 * H)
    later = await queue(client)
    assert later["items"][0]["wa_id"] == "4915112345678"
    assert later["items"][0]["overdue"] is True


async def test_tag_filter_by_dimension_or_bare_value(
    app: FastAPI, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await writes(app, client, "4915112345670", "Any discount on this?", clock.now() - H)
    await writes(app, client, "4915112345671", "How much is it?", clock.now() - H)
    for tag in ("interests:discount_sensitive", "discount_sensitive"):
        assert ids(await queue(client, tag=tag)) == ["4915112345670"]
    assert ids(await queue(client, tag="country:DE")) == ["4915112345670", "4915112345671"] or ids(
        await queue(client, tag="country:DE")
    ) == ["4915112345671", "4915112345670"]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"status": "purple"}, "unknown status"),
        ({"tag": "nonsense"}, "unknown"),
        ({"tag": "colour:red"}, "dimension"),
        ({"cursor": "!!!"}, "cursor"),
        ({"timezone": "Mars/Olympus"}, "time zone"),
        ({"date": "yesterday"}, "date"),
        ({"limit": 0}, "limit"),
        ({"agent": "nobody"}, "no agent"),
    ],
)
async def test_bad_parameters_get_a_clear_error(
    client: httpx.AsyncClient, params: dict, fragment: str
) -> None:
    r = await client.get("/queues/today", params=params, headers=ADMIN)
    assert r.status_code in (400, 404, 422)
    assert fragment in r.text


async def test_done_moves_the_item_to_the_next_follow_up_and_is_recorded(
    app: FastAPI, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await writes(app, client, "4915112345678", "How much is the power bank?", clock.now())
    r = await client.post(
        "/queues/items/4915112345678/done", json={"note": "called"}, headers=ADMIN
    )
    assert r.status_code == 200, r.text
    state = r.json()
    assert state["kind"] == "follow_up"
    assert state["due_at"].startswith((clock.now() + 24 * H).strftime("%Y-%m-%dT%H:%M"))
    assert ids(await queue(client)) == []
    assert ids(await queue(client, date="2026-11-24")) == ["4915112345678"]

    actions = (await client.get("/queues/items/4915112345678/actions", headers=ADMIN)).json()
    assert [(a["action"], a["by"], a["kind"], a["note"]) for a in actions] == [
        ("done", "admin", "reply", "called")
    ]

    # A new message makes it a reply item again, due within the hour.
    clock.advance(H)
    await writes(app, client, "4915112345678", "Is it in stock?", clock.now())
    assert ids(await queue(client)) == ["4915112345678"]


async def test_snooze_hides_the_item_until_then(
    app: FastAPI, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await writes(app, client, "4915112345678", "How much is the power bank?", clock.now())
    r = await client.post(
        "/queues/items/4915112345678/snooze",
        json={"hours": 20, "note": "after lunch"},
        headers=ADMIN,
    )
    assert r.status_code == 200, r.text
    assert ids(await queue(client)) == []
    clock.advance(20 * H)
    page = await queue(client)
    assert ids(page) == ["4915112345678"]
    assert page["items"][0]["kind"] == "reply"

    bad = await client.post(
        "/queues/items/4915112345678/snooze", json={"until": "2020-01-01T00:00:00Z"}, headers=ADMIN
    )
    assert bad.status_code == 400
    neither = await client.post("/queues/items/4915112345678/snooze", json={}, headers=ADMIN)
    assert neither.status_code == 422


async def test_a_message_during_a_snooze_brings_the_item_back(
    app: FastAPI, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await writes(app, client, "4915112345678", "hello", clock.now())
    await set_status(client, "4915112345678", "red")
    r = await client.post("/queues/items/4915112345678/snooze", json={"hours": 48}, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert ids(await queue(client)) == []
    clock.advance(H)
    await writes(app, client, "4915112345678", "How much is the power bank?", clock.now())
    page = await queue(client)
    assert ids(page) == ["4915112345678"]
    assert page["items"][0]["kind"] == "reply"
    assert page["items"][0]["due_at"] == (clock.now() + H).isoformat().replace("+00:00", "Z")


async def test_the_day_is_the_agents_own(
    app: FastAPI, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    # 10:00 UTC is already 17:00 in Jakarta; an item due at 18:00 UTC (01:00 the next day in
    # Jakarta) is tomorrow's work there and today's work in UTC.
    jakarta = await new_agent(client, "sari", "Asia/Jakarta")
    await writes(app, client, "6281234567890", "hello", clock.now() - 4 * H)
    await set_status(client, "6281234567890", "orange")  # due 8 h after the message: 18:00 UTC
    page = await queue(client, jakarta)
    assert page["timezone"] == "Asia/Jakarta"
    assert page["agent"] == "sari"
    assert ids(page) == []
    assert ids(await queue(client, jakarta, date="2026-11-24")) == ["6281234567890"]
    assert ids(await queue(client, ADMIN, agent="sari", timezone="UTC")) == ["6281234567890"]
