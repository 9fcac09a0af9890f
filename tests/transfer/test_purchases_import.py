"""POST /imports/purchases through the real app: rows grouped into orders, recorded once
(tags follow), all-or-nothing validation with line numbers, dry run and who may import."""

from __future__ import annotations

from decimal import Decimal

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts.models import Purchase
from tests.conftest import ADMIN, count
from tests.transfer.helpers import lines, new_agent, upload

PATH = "/imports/purchases"
HEADER = "wa_id,user_id,order_id,amount,currency,purchased_at,sku,category,quantity"


async def two_contacts(client: httpx.AsyncClient) -> None:
    response = await upload(
        client, "/imports/contacts", lines("wa_id,user_id", "4915112345678,", ",US.777")
    )
    assert response.json()["created"] == 2


async def test_rows_of_one_order_are_its_items_and_tags_follow(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await two_contacts(client)
    body = lines(
        HEADER,
        "4915112345678,,SO-1,2450.00,eur,2026-11-20T09:30:00+01:00,PB-20000,3c,1",
        "4915112345678,,SO-1,,,,CABLE-C,3c,2",  # the order's fields may be left out on its items
        ",US.777,SO-2,19.90,USD,2026-11-21T16:05:00Z,,,",
    )
    response = await upload(client, PATH, body)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "dry_run": False,
        "rows": 3,
        "orders": 2,
        "created": 2,
        "already_recorded": 0,
    }
    so1 = (await session.scalars(select(Purchase).where(Purchase.order_id == "SO-1"))).one()
    assert (so1.amount, so1.currency) == (Decimal("2450.00"), "EUR")
    assert so1.purchased_at.isoformat() == "2026-11-20T08:30:00+00:00"
    assert [(i["sku"], i["category"], i["quantity"]) for i in so1.items] == [
        ("PB-20000", "3c", 1),
        ("CABLE-C", "3c", 2),
    ]
    so2 = (await session.scalars(select(Purchase).where(Purchase.order_id == "SO-2"))).one()
    assert so2.items == []

    jonas = (await client.get("/contacts/4915112345678", headers=ADMIN)).json()
    assert jonas["tags"]["spend_tier"] == "high"
    assert "3c" in jonas["tags"]["categories"]
    sam = (await client.get("/contacts/US.777", headers=ADMIN)).json()
    assert sam["tags"]["spend_tier"] == "low"
    events = (await client.get("/contacts/4915112345678/tag-events", headers=ADMIN)).json()
    assert any(e["dimension"] == "spend_tier" for e in events["items"])


async def test_importing_the_same_file_again_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await two_contacts(client)
    body = lines(
        HEADER,
        "4915112345678,,SO-1,600,EUR,2026-11-20T09:30:00Z,A,,",
        "4915112345678,,SO-1,600,EUR,2026-11-20T09:30:00Z,B,,",
        ",US.777,SO-2,19.90,USD,2026-11-21T16:05:00Z,,,",
    )
    assert (await upload(client, PATH, body)).json()["created"] == 2
    events = (await client.get("/contacts/4915112345678/tag-events", headers=ADMIN)).json()
    again = await upload(client, PATH, body)
    assert again.json() == {
        "dry_run": False,
        "rows": 3,
        "orders": 2,
        "created": 0,
        "already_recorded": 2,
    }
    assert await count(session, Purchase) == 2
    assert (await client.get("/contacts/4915112345678/tag-events", headers=ADMIN)).json() == events
    # An order recorded through the API counts as recorded as well.
    order = {
        "order_id": "SO-3",
        "amount": "10",
        "currency": "EUR",
        "purchased_at": "2026-11-22T10:00:00Z",
    }
    assert (
        await client.post("/contacts/4915112345678/purchases", json=order, headers=ADMIN)
    ).status_code == 201
    mixed = await upload(
        client, PATH, lines(HEADER, "4915112345678,,SO-3,10,EUR,2026-11-22T10:00:00Z,,,")
    )
    assert mixed.json()["already_recorded"] == 1


async def test_every_problem_is_listed_by_line_and_nothing_is_stored(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await two_contacts(client)
    body = lines(
        HEADER,
        "4915112345678,,SO-1,10.00,EUR,2026-11-20T09:30:00Z,A,,",  # 2: fine, yet not stored
        "4915112345678,,SO-1,12.00,EUR,2026-11-20T09:30:00Z,B,,",  # 3: another amount
        "16505551234,,SO-2,5,EUR,2026-11-20T09:30:00Z,,,",  # 4: unknown contact
        "4915112345678,,SO-3,1,299.00,EUR,2026-11-20T09:30:00Z,,,",  # 5: cells shifted
        '4915112345678,,SO-4,"1,299.00",EUR,2026-11-20 09:30,,,',  # 6: comma, no zone
        "4915112345678,,,5,EUR,2026-11-20T09:30:00Z,,,",  # 7: no order_id
        "4915112345678,,SO-5,5,EURO,2026-11-20T09:30:00Z,,books,0",  # 8: currency, sku, quantity
        ",,SO-6,5,EUR,2026-11-20T09:30:00Z,,,",  # 9: whose?
        "4915112345678,,SO-7,,EUR,2026-11-20T09:30:00Z,,,",  # 10: no amount
        ",US.777,SO-1,10.00,EUR,2026-11-20T09:30:00Z,C,,",  # 11: SO-1 is Jonas's order
    )
    response = await upload(client, PATH, body)
    assert response.status_code == 400
    problems = response.json()["problems"]
    assert {(p["line"], p["column"]) for p in problems} == {
        (3, "amount"),
        (4, "wa_id"),
        (5, "currency"),
        (5, "purchased_at"),
        (6, "amount"),
        (6, "purchased_at"),
        (7, "order_id"),
        (8, "currency"),
        (8, "quantity"),
        (8, "sku"),
        (9, None),
        (10, None),
        (11, "user_id"),
    }
    by_line = {(p["line"], p["column"]): p["message"] for p in problems}
    assert "line 2" in by_line[3, "amount"]
    assert "no contact with wa_id 16505551234" in by_line[4, "wa_id"]
    assert "dot" in by_line[6, "amount"]
    assert "time zone" in by_line[6, "purchased_at"]
    assert "has no amount" in by_line[10, None]
    assert await count(session, Purchase) == 0


async def test_an_order_recorded_for_another_contact_is_refused(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await two_contacts(client)
    ok = await upload(client, PATH, lines(HEADER, ",US.777,SO-1,5,EUR,2026-11-20T09:30:00Z,,,"))
    assert ok.status_code == 200
    clash = await upload(
        client, PATH, lines(HEADER, "4915112345678,,SO-1,5,EUR,2026-11-20T09:30:00Z,,,")
    )
    assert clash.status_code == 400
    assert clash.json()["problems"] == [
        {"line": 2, "column": "order_id", "message": "order SO-1 is recorded for another contact"}
    ]


async def test_a_header_without_the_order_columns_is_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await upload(client, PATH, lines("wa_id,order_id,amount", "4915112345678,SO-1,5"))
    assert response.status_code == 400
    assert response.json()["problems"][0]["line"] == 1
    assert "currency, purchased_at" in response.json()["problems"][0]["message"]


async def test_dry_run_counts_and_stores_nothing(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await two_contacts(client)
    await upload(client, PATH, lines(HEADER, ",US.777,SO-1,5,EUR,2026-11-20T09:30:00Z,,,"))
    body = lines(
        HEADER,
        ",US.777,SO-1,5,EUR,2026-11-20T09:30:00Z,,,",
        "4915112345678,,SO-2,2500,EUR,2026-11-20T09:30:00Z,,,",
    )
    response = await upload(client, PATH, body, dry_run="true")
    assert response.json() == {
        "dry_run": True,
        "rows": 2,
        "orders": 2,
        "created": 1,
        "already_recorded": 1,
    }
    assert await count(session, Purchase) == 1
    jonas = (await client.get("/contacts/4915112345678", headers=ADMIN)).json()
    assert jonas["tags"]["spend_tier"] is None


async def test_only_admins_import(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await two_contacts(client)
    body = lines(HEADER, ",US.777,SO-1,5,EUR,2026-11-20T09:30:00Z,,,")
    assert (await upload(client, PATH, body, headers={})).status_code == 401
    forbidden = await upload(client, PATH, body, headers=await new_agent(app, "alice"))
    assert forbidden.status_code == 403
    assert await count(session, Purchase) == 0
