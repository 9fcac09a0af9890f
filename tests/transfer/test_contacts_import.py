"""POST /imports/contacts through the real app: new and existing contacts, all-or-nothing
validation with line numbers, dry run, encodings, limits and who may import."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent
from app.contacts.models import Contact
from app.tagging.models import TagEvent
from app.transfer.upload import MAX_BYTES
from tests.conftest import ADMIN, START, count, post_webhook, processed
from tests.payloads import text_message
from tests.transfer.helpers import CSV, lines, new_agent, upload

PATH = "/imports/contacts"


async def contact(session: AsyncSession, wa_id: str) -> Contact:
    """The stored contact as of now; contacts read before stay readable (detached, not expired)."""
    session.expunge_all()
    await session.rollback()
    return (await session.scalars(select(Contact).where(Contact.wa_id == wa_id))).one()


async def test_new_contacts_get_source_import_facts_from_the_number_and_an_agent(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await new_agent(app, "alice")
    await new_agent(app, "bob")
    body = lines(
        "wa_id,user_id,name,language,country,timezone,agent,opted_out",
        "4915112345678,,Jonas Weber,de,,,,",
        "+55 11 98765-4321,BR.1020,Ana Souza,pt-BR,BR,America/Manaus,,false",
        ",US.777,Sam,en,US,America/New_York,alice,",
        "16505551234,,Lee,,,,,",
        "33612345678,,Chloé,fr,,,bob,yes",
    )
    response = await upload(client, PATH, body)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "dry_run": False,
        "rows": 5,
        "created": 5,
        "updated": 0,
        "unchanged": 0,
    }

    jonas = await contact(session, "4915112345678")
    assert (jonas.source, jonas.country, jonas.timezone) == ("import", "DE", "Europe/Berlin")
    assert (jonas.name, jonas.language, jonas.phone_e164) == ("Jonas Weber", "de", "+4915112345678")
    assert jonas.first_seen_at == START
    ana = await contact(session, "5511987654321")
    # A time zone in the file wins over the number's.
    assert (ana.user_id, ana.country, ana.timezone) == ("BR.1020", "BR", "America/Manaus")
    sam = (await session.scalars(select(Contact).where(Contact.user_id == "US.777"))).one()
    assert (sam.wa_id, sam.timezone) == (None, "America/New_York")
    chloe = await contact(session, "33612345678")
    assert chloe.opted_out is True

    agents: dict[int | None, str] = {
        a.id: a.name for a in (await session.scalars(select(Agent))).all()
    }
    assert agents[sam.agent_id] == "alice"
    assert agents[chloe.agent_id] == "bob"
    # The others are dealt out in turn, not all to the first agent.
    dealt = [
        agents[(await contact(session, w)).agent_id]
        for w in ("4915112345678", "5511987654321", "16505551234")
    ]
    assert dealt == ["alice", "bob", "alice"]

    # The contact reads like any other through the API.
    read = (await client.get("/contacts/US.777", headers=ADMIN)).json()
    assert read["tags"]["source"] == "import"


async def test_existing_contacts_keep_source_and_values_and_only_get_gaps_filled(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await new_agent(app, "alice")
    assert (
        await post_webhook(
            client, text_message("wamid.1", "hola", wa_id="5511987654321", name="Ana")
        )
    ).status_code == 200
    await processed(app)
    before = await contact(session, "5511987654321")
    assert before.source == "unknown"

    body = lines(
        "wa_id,user_id,name,language,timezone",
        "5511987654321,BR.1020,Ana Maria,pt,America/Manaus",
    )
    response = await upload(client, PATH, body)
    assert response.json() == {
        "dry_run": False,
        "rows": 1,
        "created": 0,
        "updated": 1,
        "unchanged": 0,
    }
    after = await contact(session, "5511987654321")
    assert (after.source, after.name, after.timezone) == ("unknown", "Ana", "America/Sao_Paulo")
    # The language the messages showed stays; the user_id was missing and is filled.
    assert (after.user_id, after.language) == ("BR.1020", "es")
    assert after.agent_id == before.agent_id

    again = await upload(client, PATH, body)
    assert again.json() == {"dry_run": False, "rows": 1, "created": 0, "updated": 0, "unchanged": 1}


async def test_a_number_for_a_user_id_only_contact_brings_the_numbers_facts(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await upload(client, PATH, lines("user_id,name", "DE.42,Jonas"))
    response = await upload(client, PATH, lines("user_id,wa_id", "DE.42,4915112345678"))
    assert response.json()["updated"] == 1
    jonas = await contact(session, "4915112345678")
    assert (jonas.user_id, jonas.country, jonas.timezone) == ("DE.42", "DE", "Europe/Berlin")


async def test_opted_out_true_opts_out_and_false_never_opts_back_in(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await upload(client, PATH, lines("wa_id", "4915112345678", "16505551234"))
    response = await upload(
        client, PATH, lines("wa_id,opted_out", "4915112345678,true", "16505551234,false")
    )
    assert response.json() == {
        "dry_run": False,
        "rows": 2,
        "created": 0,
        "updated": 1,
        "unchanged": 1,
    }
    assert (await contact(session, "4915112345678")).opted_out is True
    event = (await session.scalars(select(TagEvent))).one()
    assert (event.dimension, event.rule, event.new_value) == ("opted_out", "opt_out.import", True)
    assert event.evidence == {"by": "admin", "line": 2}

    back = await upload(client, PATH, lines("wa_id,opted_out", "4915112345678,false"))
    assert back.json()["unchanged"] == 1
    assert (await contact(session, "4915112345678")).opted_out is True


async def test_every_problem_is_listed_by_line_and_nothing_is_stored(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await new_agent(app, "alice")
    body = lines(
        "wa_id,user_id,name,timezone,agent,opted_out,language,country",
        "4915112345678,,Good Row,,,,,",  # 2: fine, yet not stored either
        "12,,Too short,,,,,",  # 3
        "4915199999999,,,Mars/Olympus,,,,",  # 4
        "4915188888888,,,,carol,,,",  # 5
        ",,Nobody,,,,,",  # 6
        "+49 151 12345678,,Twice,,,,,",  # 7: the number of line 2, written differently
        "4.91511E+12,,Rounded,,,,,",  # 8
        "4915177777777,,,,,maybe,klingon!,XX",  # 9
    )
    response = await upload(client, PATH, body)
    assert response.status_code == 400
    data = response.json()
    assert data["error"] == "invalid_csv"
    assert data["detail"] == "9 problems in the file; nothing was imported"
    found = {(p["line"], p["column"]) for p in data["problems"]}
    assert found == {
        (3, "wa_id"),
        (4, "timezone"),
        (5, "agent"),
        (6, None),
        (7, "wa_id"),
        (8, "wa_id"),
        (9, "opted_out"),
        (9, "language"),
        (9, "country"),
    }
    messages = {p["line"]: p["message"] for p in data["problems"]}
    assert "alice" in messages[5]
    assert "carol" in messages[5]
    assert "line 2" in messages[7]
    assert "scientific notation" in messages[8]
    assert "Europe/Berlin" in messages[4]
    assert [p["line"] for p in data["problems"]] == sorted(p["line"] for p in data["problems"])
    assert await count(session, Contact) == 0


async def test_unknown_and_duplicate_columns_are_problems_but_export_columns_are_read_past(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    wrong = await upload(client, PATH, lines("wa_id,langauge,wa_id", "4915112345678,de,"))
    assert wrong.status_code == 400
    messages = [p["message"] for p in wrong.json()["problems"]]
    assert any("unknown column 'langauge'" in m for m in messages)
    assert any("'wa_id' appears twice" in m for m in messages)

    exported = await upload(
        client,
        PATH,
        lines("wa_id,source,status,interests", "4915112345678,ctwa_ad,red,brand_loyal"),
    )
    assert exported.status_code == 200, exported.text
    stored = await contact(session, "4915112345678")
    assert (stored.source, stored.status, stored.interests) == ("import", None, [])


async def test_ids_that_point_at_two_contacts_or_clash_are_refused(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await upload(client, PATH, lines("wa_id,user_id", "4915112345678,DE.1", "16505551234,"))
    body = lines(
        "wa_id,user_id",
        "16505551234,DE.1",  # 2: two different contacts
        "4915112345678,DE.2",  # 3: the number belongs to DE.1
        "12125551234,",  # 4: fine
        ",US.9",  # 5: fine
    )
    response = await upload(client, PATH, body)
    assert response.status_code == 400
    problems = {p["line"]: p["message"] for p in response.json()["problems"]}
    assert set(problems) == {2, 3}
    assert "two different contacts" in problems[2]
    assert "DE.1" in problems[3]
    # Two rows naming one contact by different ids.
    same = await upload(client, PATH, lines("wa_id,user_id", "4915112345678,", ",DE.1"))
    assert same.json()["problems"] == [
        {"line": 3, "column": None, "message": "the same contact as line 2"}
    ]
    assert await count(session, Contact) == 2


async def test_dry_run_reports_what_would_change_and_stores_nothing(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await upload(client, PATH, lines("wa_id", "4915112345678"))
    body = lines("wa_id,name", "4915112345678,Jonas", "16505551234,Lee")
    response = await upload(client, PATH, body, dry_run="true")
    assert response.json() == {
        "dry_run": True,
        "rows": 2,
        "created": 1,
        "updated": 1,
        "unchanged": 0,
    }
    assert await count(session, Contact) == 1
    assert (await contact(session, "4915112345678")).name is None
    bad = await upload(client, PATH, lines("wa_id", "nope"), dry_run="true")
    assert bad.status_code == 400
    assert bad.json()["problems"][0]["line"] == 2


@pytest.mark.parametrize(
    "raw",
    [
        "\ufeffwa_id,name\r\n4915112345678,Jürgen\r\n".encode(),
        "wa_id;name\n4915112345678;Jürgen\n".encode(),
        "\ufeffWA_ID ; Name\r\n\r\n4915112345678 ; Jürgen \r\n\r\n".encode(),
    ],
    ids=["bom-crlf", "semicolons", "bom-semicolons-blank-lines"],
)
async def test_spreadsheet_encodings_are_read(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, raw: bytes
) -> None:
    response = await upload(client, PATH, raw)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1
    assert (await contact(session, "4915112345678")).name == "Jürgen"


@pytest.mark.parametrize(
    ("raw", "line", "words"),
    [
        (b"", 1, "empty file"),
        (b"name\nJonas\n", 1, "wa_id or user_id"),
        ("wa_id,name\n4915112345678,J\xfcrgen\n".encode("latin-1"), 2, "not UTF-8"),
        (b'wa_id,name\n4915112345678,"Jonas\n', 2, "quotes"),
        (b"wa_id,name\n4915112345678,Jonas,extra\n", 2, "3 cells"),
        (b"wa_id,\n4915112345678,what\n", 2, "without a header"),
    ],
    ids=["empty", "no-id-column", "latin-1", "open-quote", "extra-cell", "unnamed-column"],
)
async def test_unreadable_files_are_400_with_the_line(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    raw: bytes,
    line: int,
    words: str,
) -> None:
    response = await upload(client, PATH, raw)
    assert response.status_code == 400
    problem = response.json()["problems"][0]
    assert problem["line"] == line
    assert words in problem["message"]
    assert await count(session, Contact) == 0


async def test_a_header_alone_imports_nothing(app: FastAPI, client: httpx.AsyncClient) -> None:
    response = await upload(client, PATH, lines("wa_id,name"))
    assert response.json() == {
        "dry_run": False,
        "rows": 0,
        "created": 0,
        "updated": 0,
        "unchanged": 0,
    }


async def test_line_numbers_count_quoted_line_breaks(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    body = 'wa_id,name\n4915112345678,"two\nlines"\n\n16505551234,ok\nbad,x\n'
    response = await upload(client, PATH, body)
    assert [p["line"] for p in response.json()["problems"]] == [6]


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_an_oversized_file_is_413_and_nothing_is_stored(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, declared: bool
) -> None:
    row = b"4915112345678,Jonas\n"
    body = b"wa_id,name\n" + row * (MAX_BYTES // len(row) + 1)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 1 << 20):
            yield body[start : start + (1 << 20)]

    response = await client.post(
        PATH, content=body if declared else chunks(), headers={**ADMIN, **CSV}
    )
    assert response.status_code == 413
    assert "20 MiB" in response.json()["detail"]
    assert await count(session, Contact) == 0


async def test_a_form_upload_is_415(app: FastAPI, client: httpx.AsyncClient) -> None:
    response = await client.post(
        PATH, files={"file": ("c.csv", b"wa_id\n4915112345678\n", "text/csv")}, headers=ADMIN
    )
    assert response.status_code == 415
    assert "--data-binary" in response.json()["detail"]


async def test_only_admins_import(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    body = lines("wa_id", "4915112345678")
    assert (await upload(client, PATH, body, headers={})).status_code == 401
    assert (
        await upload(client, PATH, body, headers={"Authorization": "Bearer nope"})
    ).status_code == 401
    alice = await new_agent(app, "alice")
    forbidden = await upload(client, PATH, body, headers=alice)
    assert forbidden.status_code == 403
    assert await count(session, Contact) == 0
