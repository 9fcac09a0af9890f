"""PATCH /contacts/{id}/preferences: structured fields or the seeds' one-line note."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import ADMIN, post_webhook, processed
from tests.payloads import text_message

WA = "8613812345678"
NOTE = "Mr. Wang | prefers text | reachable Mon-Fri 9-18 | max 2 pushes per week"


@pytest.fixture
async def known(app: FastAPI, client: httpx.AsyncClient) -> None:
    assert (
        await post_webhook(client, text_message("wamid.pref", "你好", wa_id=WA))
    ).status_code == 200
    await processed(app)


async def test_note_is_parsed_stored_and_rendered_back(
    app: FastAPI, client: httpx.AsyncClient, known
) -> None:
    response = await client.patch(f"/contacts/{WA}/preferences", json={"note": NOTE}, headers=ADMIN)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["note"] == NOTE
    prefs = body["preferences"]
    assert prefs["format"] == "text"
    assert prefs["max_per_week"] == 2
    assert prefs["windows"] == [
        {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "18:00"}
    ]
    assert prefs["quiet_hours"] == {"start": "22:00", "end": "08:00"}
    contact = (await client.get(f"/contacts/{WA}", headers=ADMIN)).json()
    assert contact["preferences"]["note"] == NOTE


async def test_fields_change_only_what_is_sent(
    app: FastAPI, client: httpx.AsyncClient, known
) -> None:
    await client.patch(f"/contacts/{WA}/preferences", json={"note": NOTE}, headers=ADMIN)
    response = await client.patch(
        f"/contacts/{WA}/preferences",
        json={"passive": True, "quiet_hours": {"start": "21:00", "end": "07:00"}},
        headers=ADMIN,
    )
    assert response.status_code == 200
    prefs = response.json()["preferences"]
    assert (prefs["passive"], prefs["max_per_week"], prefs["format"]) == (True, 2, "text")
    assert (
        response.json()["note"]
        == "Mr. Wang | prefers text | reachable Mon-Fri 9-18 | quiet 21-7 | max 2 pushes per week | passive"
    )


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"note": "Mr. Wang | prefers smoke signals"}, 400, "prefers smoke signals"),
        ({"format": "fax"}, 400, "fax"),
        ({"max_per_week": 99}, 400, "max_per_week"),
        ({"windows": [{"days": ["funday"], "start": "09:00", "end": "18:00"}]}, 400, "funday"),
        ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, 400, "25:00"),
        ({"colour": "blue"}, 422, None),
    ],
    ids=["note-segment", "format", "cap", "day", "time", "unknown-field"],
)
async def test_bad_preferences_are_refused_with_the_reason(
    app: FastAPI, client: httpx.AsyncClient, known, body, status, detail
) -> None:
    response = await client.patch(f"/contacts/{WA}/preferences", json=body, headers=ADMIN)
    assert response.status_code == status, response.text
    if detail:
        assert detail in response.json()["detail"]
