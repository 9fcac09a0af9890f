"""GET /exports/contacts.csv through the real app: columns, tags, formula escaping, who sees
which contacts, paging, and a round trip into a fresh database."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from app.clock import ManualClock
from app.main import create_app
from app.transfer import csv_export
from tests.conftest import ADMIN, make_settings, post_webhook, processed
from tests.databases import DatabaseFactory
from tests.payloads import text_message
from tests.transfer.helpers import export, lines, new_agent, upload

HEADER = [
    "wa_id",
    "user_id",
    "name",
    "country",
    "timezone",
    "language",
    "source",
    "opted_out",
    "agent",
    "first_seen_at",
    "last_inbound_at",
    "activity",
    "intent",
    "status",
    "lifecycle",
    "engagement",
    "spend_tier",
    "purchase_frequency",
    "interests",
    "categories",
    "windows",
]
IDENTITY = ("wa_id", "user_id", "name", "country", "timezone", "language", "opted_out", "agent")


async def test_columns_tags_and_values(app: FastAPI, client: httpx.AsyncClient) -> None:
    await new_agent(app, "alice")
    message = text_message(
        "wamid.1", "any discount on the power bank 20000 mAh?", wa_id="4915112345678", name="Jonas"
    )
    assert (await post_webhook(client, message)).status_code == 200
    await processed(app)
    await upload(client, "/imports/contacts", lines("user_id,opted_out", "US.777,true"))

    response = await client.get("/exports/contacts.csv", headers=ADMIN)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        response.headers["content-disposition"] == 'attachment; filename="contacts-2026-11-23.csv"'
    )
    assert response.text.startswith(",".join(HEADER) + "\r\n")
    jonas, sam = list(csv.DictReader(io.StringIO(response.text, newline="")))

    tags = (await client.get("/contacts/4915112345678", headers=ADMIN)).json()["tags"]
    assert jonas["wa_id"] == "4915112345678"
    assert (jonas["name"], jonas["country"], jonas["timezone"]) == ("Jonas", "DE", "Europe/Berlin")
    assert (jonas["source"], jonas["opted_out"], jonas["agent"]) == ("unknown", "false", "alice")
    assert jonas["first_seen_at"] == jonas["last_inbound_at"] == "2025-11-23T10:00:00Z"
    for dimension in ("activity", "intent", "status", "lifecycle", "engagement", "spend_tier"):
        assert jonas[dimension] == (tags[dimension] or ""), dimension
    assert tags["interests"]
    assert jonas["interests"] == "|".join(tags["interests"])
    assert tags["categories"]
    assert jonas["categories"] == "|".join(tags["categories"])
    assert (sam["wa_id"], sam["user_id"], sam["opted_out"]) == ("", "US.777", "true")
    assert (sam["source"], sam["first_seen_at"], sam["last_inbound_at"]) == (
        "import",
        "2026-11-23T10:00:00Z",
        "",
    )


@pytest.mark.parametrize(
    ("name", "cell"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1 fan", "'+1 fan"),
        ("-Ana-", "'-Ana-"),
        ("@home", "'@home"),
        ("'quoted", "''quoted"),
        ('Zoë, "Z"', 'Zoë, "Z"'),
    ],
    ids=["equals", "plus", "minus", "at", "apostrophe", "comma-and-quotes"],
)
async def test_formula_cells_are_defused_and_import_back_unchanged(
    app: FastAPI, client: httpx.AsyncClient, name: str, cell: str
) -> None:
    def quoted(value: str) -> str:
        return '"' + value.replace('"', '""') + '"'

    upload_name = lines("wa_id,name", f"4915112345678,{quoted(name)}")
    assert (await upload(client, "/imports/contacts", upload_name)).status_code == 200
    (row,) = await export(client)
    assert row["name"] == cell
    # What the export wrote reads back as the name it came from.
    upload_cell = lines("wa_id,name", f"16505551234,{quoted(cell)}")
    assert (await upload(client, "/imports/contacts", upload_cell)).status_code == 200
    stored = (await client.get("/contacts/16505551234", headers=ADMIN)).json()
    assert stored["name"] == name


async def test_an_agent_exports_its_own_contacts_only(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice = await new_agent(app, "alice")
    bob = await new_agent(app, "bob")
    body = lines(
        "wa_id,agent", "4915112345678,alice", "16505551234,bob", "12125551234,alice", "33612345678,"
    )
    assert (await upload(client, "/imports/contacts", body)).status_code == 200

    everyone = await export(client)
    assert len(everyone) == 4
    assert {r["agent"] for r in everyone} == {"alice", "bob"}  # the last one was dealt in turn
    for name, key in (("alice", alice), ("bob", bob)):
        own = [r for r in everyone if r["agent"] == name]
        assert await export(client, key) == own
        assert await export(client, key, agent=name) == own
        assert await export(client, agent=name) == own

    other = await client.get("/exports/contacts.csv", headers=alice, params={"agent": "bob"})
    assert other.status_code == 403
    assert (await client.get("/exports/contacts.csv")).status_code == 401
    missing = await client.get("/exports/contacts.csv", headers=ADMIN, params={"agent": "carol"})
    assert missing.status_code == 404


async def test_status_filter(app: FastAPI, client: httpx.AsyncClient) -> None:
    await upload(client, "/imports/contacts", lines("wa_id", "4915112345678", "16505551234"))
    put = await client.put(
        "/contacts/16505551234/tags/status", json={"value": "red"}, headers=ADMIN
    )
    assert put.status_code == 200, put.text
    assert [r["wa_id"] for r in await export(client, status="red")] == ["16505551234"]
    assert [r["wa_id"] for r in await export(client, status="orange,red")] == ["16505551234"]
    assert await export(client, status="grey") == []
    wrong = await client.get("/exports/contacts.csv", headers=ADMIN, params={"status": "purple"})
    assert wrong.status_code == 400


async def test_pages_cover_every_contact_once(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_export, "PAGE_SIZE", 2)
    numbers = [f"49151123456{n:02d}" for n in range(7)]
    await upload(client, "/imports/contacts", lines("wa_id", *numbers))
    assert [r["wa_id"] for r in await export(client)] == numbers
    monkeypatch.setattr(csv_export, "PAGE_SIZE", 7)
    assert [r["wa_id"] for r in await export(client)] == numbers


async def test_bom_on_request_only(app: FastAPI, client: httpx.AsyncClient) -> None:
    plain = await client.get("/exports/contacts.csv", headers=ADMIN)
    assert plain.content.startswith(b"wa_id,")
    excel = await client.get("/exports/contacts.csv", headers=ADMIN, params={"bom": "true"})
    assert excel.content.startswith(b"\xef\xbb\xbfwa_id,")


@asynccontextmanager
async def fresh_app(
    databases: DatabaseFactory, clock: ManualClock
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    url = await databases.new()
    application = create_app(make_settings(url), clock=clock)
    try:
        async with LifespanManager(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                yield application, c
    finally:
        await databases.drop(url)


async def test_round_trip_into_a_fresh_database_reproduces_the_contacts(
    app: FastAPI, client: httpx.AsyncClient, databases: DatabaseFactory, clock: ManualClock
) -> None:
    for name in ("alice", "bob"):
        await new_agent(app, name)
    message = text_message("wamid.1", "how much is it?", wa_id="5511987654321", name="Ana")
    assert (await post_webhook(client, message)).status_code == 200
    await processed(app)
    body = lines(
        "wa_id,user_id,name,language,country,timezone,agent,opted_out",
        "4915112345678,DE.1,=cmd|' /C calc'!A0,de,,,bob,",
        ',US.777,Sam "the man",en-US,US,America/Chicago,alice,true',
        "12125551234,,'-quoted,,,,,",
    )
    assert (await upload(client, "/imports/contacts", body)).status_code == 200
    original = await client.get("/exports/contacts.csv", headers=ADMIN)

    async with fresh_app(databases, clock) as (app2, client2):
        for name in ("alice", "bob"):
            await new_agent(app2, name)
        imported = await upload(client2, "/imports/contacts", original.content)
        assert imported.json() == {
            "dry_run": False,
            "rows": 4,
            "created": 4,
            "updated": 0,
            "unchanged": 0,
        }
        copy = await export(client2)
        # The same file again finds every contact in place.
        again = await upload(client2, "/imports/contacts", original.content)
        assert again.json()["unchanged"] == 4

    source = list(csv.DictReader(io.StringIO(original.text, newline="")))
    assert [{k: r[k] for k in IDENTITY} for r in copy] == [
        {k: r[k] for k in IDENTITY} for r in source
    ]
    assert {r["source"] for r in copy} == {"import"}
