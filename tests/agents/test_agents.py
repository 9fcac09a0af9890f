"""Agent accounts, round-robin assignment, reassignment, and who may see what."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from app.agents.models import Agent
from app.clock import ManualClock
from app.errors import BadRequest
from tests.conftest import ADMIN
from tests.queue.conftest import new_agent, writes


async def agent_of(client: httpx.AsyncClient, wa_id: str) -> str | None:
    r = await client.get(
        "/queues/today", params={"tag": f"country:{_country(wa_id)}"}, headers=ADMIN
    )
    assert r.status_code == 200
    return next(i["agent"] for i in r.json()["items"] if i["wa_id"] == wa_id)


def _country(wa_id: str) -> str:
    return {"49": "DE", "55": "BR"}[wa_id[:2]]


async def test_new_contacts_go_to_the_active_agents_in_turn(
    app: FastAPI, client: httpx.AsyncClient, clock: ManualClock, writer
) -> None:
    for name in ("alice", "bob", "carol"):
        await new_agent(client, name)
    await writer.execute(update(Agent).where(Agent.name == "carol").values(active=False))
    await writer.commit()
    numbers = [f"49151000000{i:02d}" for i in range(6)]
    for i, wa_id in enumerate(numbers):
        clock.advance(timedelta(seconds=1))
        await writes(app, client, wa_id, "How much is it?", clock.now() - timedelta(minutes=i))
    owners = [await agent_of(client, w) for w in numbers]
    assert owners == ["alice", "bob", "alice", "bob", "alice", "bob"]

    # A second message does not move the contact.
    await writes(app, client, numbers[0], "and in blue?", clock.now())
    assert await agent_of(client, numbers[0]) == "alice"


async def test_without_agents_contacts_stay_unassigned_until_they_write_again(
    app: FastAPI, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await writes(app, client, "4915100000001", "How much is it?", clock.now())
    assert await agent_of(client, "4915100000001") is None
    await new_agent(client, "alice")
    clock.advance(timedelta(minutes=1))
    await writes(app, client, "4915100000001", "Hello?", clock.now())
    assert await agent_of(client, "4915100000001") == "alice"


async def test_an_agent_sees_its_own_queue_and_contacts_only(
    app: FastAPI, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    alice = await new_agent(client, "alice", "Europe/Berlin")
    bob = await new_agent(client, "bob")
    await writes(app, client, "4915100000001", "How much is it?", clock.now())  # alice
    await writes(app, client, "4915100000002", "How much is it?", clock.now())  # bob

    mine = (await client.get("/queues/today", headers=alice)).json()
    assert [i["wa_id"] for i in mine["items"]] == ["4915100000001"]
    assert mine["agent"] == "alice"
    assert mine["timezone"] == "Europe/Berlin"
    assert (
        await client.get("/queues/today", params={"agent": "alice"}, headers=alice)
    ).status_code == 200

    others = await client.get("/queues/today", params={"agent": "bob"}, headers=alice)
    assert others.status_code == 403
    for path in (
        "/contacts/4915100000002",
        "/contacts/4915100000002/messages",
        "/contacts/4915100000002/tag-events",
        "/queues/items/4915100000002/actions",
    ):
        assert (await client.get(path, headers=alice)).status_code == 403, path
        assert (await client.get(path, headers=bob)).status_code == 200, path
    for method, path, body in (
        ("PUT", "/contacts/4915100000002/tags/status", {"value": "green"}),
        ("PATCH", "/contacts/4915100000002/preferences", {"passive": True}),
        ("POST", "/queues/items/4915100000002/done", {}),
        ("POST", "/queues/items/4915100000002/snooze", {"hours": 2}),
        (
            "POST",
            "/contacts/4915100000002/purchases",
            {
                "order_id": "A1",
                "amount": "10",
                "currency": "EUR",
                "purchased_at": "2026-11-23T09:00:00Z",
            },
        ),
    ):
        r = await client.request(method, path, json=body, headers=alice)
        assert r.status_code == 403, (path, r.text)

    everyone = (await client.get("/queues/today", headers=ADMIN)).json()
    assert sorted(i["wa_id"] for i in everyone["items"]) == ["4915100000001", "4915100000002"]


async def test_reassigning_moves_the_contact_to_the_other_queue(
    app: FastAPI, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    alice = await new_agent(client, "alice")
    bob = await new_agent(client, "bob")
    await writes(app, client, "4915100000001", "How much is it?", clock.now())
    r = await client.put("/contacts/4915100000001/agent", json={"agent": "bob"}, headers=ADMIN)
    assert r.status_code == 200
    assert r.json()["agent"] == "bob"
    assert (await client.get("/queues/today", headers=alice)).json()["items"] == []
    assert len((await client.get("/queues/today", headers=bob)).json()["items"]) == 1
    assert (
        await client.put("/contacts/4915100000001/agent", json={"agent": "alice"}, headers=bob)
    ).status_code == 403
    assert (
        await client.put("/contacts/4915100000001/agent", json={"agent": "zed"}, headers=ADMIN)
    ).status_code == 404


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}],
    ids=["missing", "unknown", "not-bearer"],
)
async def test_no_valid_key_is_401(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    for path in ("/queues/today", "/agents", "/queues/items/4915100000001/actions"):
        assert (await client.get(path, headers=headers)).status_code == 401, path


async def test_a_revoked_agent_key_is_401_and_can_be_replaced(
    app: FastAPI, client: httpx.AsyncClient, clock: ManualClock, writer
) -> None:
    from app.access import service as access

    alice = await new_agent(client, "alice")
    await new_agent(client, "bob")
    assert (await client.get("/queues/today", headers=alice)).status_code == 200
    await access.revoke_key(writer, name="alice", now=clock.now())
    await writer.commit()
    assert (await client.get("/queues/today", headers=alice)).status_code == 401
    # Without a working key alice gets no new contacts: she could not open them.
    numbers = [f"49151000000{i:02d}" for i in range(4)]
    for wa_id in numbers[:2]:
        clock.advance(timedelta(seconds=1))
        await writes(app, client, wa_id, "How much is it?", clock.now())
    assert [await agent_of(client, w) for w in numbers[:2]] == ["bob", "bob"]

    # A new key for the same agent replaces the revoked one; she is back in turn.
    token = await access.create_key(writer, name="alice", role="agent", now=clock.now())
    await writer.commit()
    again = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/queues/today", headers=again)).status_code == 200
    assert (await client.get("/queues/today", headers=alice)).status_code == 401
    for wa_id in numbers[2:]:
        clock.advance(timedelta(seconds=1))
        await writes(app, client, wa_id, "How much is it?", clock.now())
    assert sorted([await agent_of(client, w) for w in numbers[2:]]) == ["alice", "bob"]
    with pytest.raises(BadRequest, match="revoke it first"):
        await access.create_key(writer, name="alice", role="agent", now=clock.now())


async def test_agent_accounts_are_admin_business(client: httpx.AsyncClient) -> None:
    alice = await new_agent(client, "alice", "Asia/Jakarta")
    assert (await client.get("/agents", headers=alice)).status_code == 403
    assert (
        await client.post("/agents", json={"name": "mallory"}, headers=alice)
    ).status_code == 403
    listed = (await client.get("/agents", headers=ADMIN)).json()
    assert [(a["name"], a["timezone"], a["active"]) for a in listed] == [
        ("alice", "Asia/Jakarta", True)
    ]
    r = await client.patch(
        "/agents/alice", json={"active": False, "timezone": "UTC"}, headers=ADMIN
    )
    assert (r.json()["active"], r.json()["timezone"]) == (False, "UTC")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"name": "alice", "timezone": "Mars/Olympus"}, 400),
        ({"name": "has space"}, 422),
        ({"name": ""}, 422),
        ({"timezone": "UTC"}, 422),
        ({"name": "x", "role": "admin"}, 422),
    ],
)
async def test_bad_agent_requests(client: httpx.AsyncClient, body: dict, status: int) -> None:
    assert (await client.post("/agents", json=body, headers=ADMIN)).status_code == status


async def test_a_duplicate_agent_is_refused(client: httpx.AsyncClient) -> None:
    await new_agent(client, "alice")
    r = await client.post("/agents", json={"name": "alice"}, headers=ADMIN)
    assert r.status_code == 400
    assert "exists" in r.text
    assert (
        await client.patch("/agents/zed", json={"active": False}, headers=ADMIN)
    ).status_code == 404
