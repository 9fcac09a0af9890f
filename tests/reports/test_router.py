"""/reports and /alerts through the real app: admins only, reads of the stored snapshots."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import service as access
from app.clock import ManualClock
from app.contacts.models import Contact
from app.reports.models import TeamAlert
from tests.conftest import ADMIN, START
from tests.reports.factories import make_contact, make_purchase

DAY = timedelta(days=1)

ROUTES = [
    ("GET", "/reports/tags"),
    ("GET", "/reports/conversion"),
    ("GET", "/reports/false-reds"),
    ("GET", "/reports/review"),
    ("GET", "/alerts"),
    ("POST", "/reports/snapshot"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
async def test_admins_only(
    app: FastAPI, client: httpx.AsyncClient, writer: AsyncSession, method: str, path: str
) -> None:
    token = await access.create_key(writer, name="alice", role="agent", now=START)
    await writer.commit()
    assert (await client.request(method, path)).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert (await client.request(method, path, headers=wrong)).status_code == 401
    agent = {"Authorization": f"Bearer {token}"}
    response = await client.request(method, path, headers=agent)
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


async def test_before_the_first_snapshot(app: FastAPI, client: httpx.AsyncClient) -> None:
    for path in ("/reports/conversion", "/reports/false-reds"):
        response = await client.get(path, headers=ADMIN)
        assert response.status_code == 404
        assert "POST /reports/snapshot" in response.json()["detail"]
    response = await client.get("/reports/tags", headers=ADMIN)
    assert response.status_code == 200
    assert response.json() == {"from": "2026-10-25", "to": "2026-11-23", "days": []}
    assert (await client.get("/alerts", headers=ADMIN)).json()["items"] == []


async def test_distribution_over_days_and_conversion(
    app: FastAPI, client: httpx.AsyncClient, writer: AsyncSession
) -> None:
    clock: ManualClock = app.state.clock
    buyer = await make_contact(writer, status="red", interests=["discount_sensitive"])
    await make_purchase(writer, buyer, START - DAY)
    for _ in range(3):
        await make_contact(writer, status="green", interests=["discount_sensitive"])
    await writer.commit()
    first = await client.post("/reports/snapshot", headers=ADMIN)
    assert first.status_code == 200, first.text
    assert first.json()["total_contacts"] == 4

    clock.advance(DAY)
    await writer.execute(update(Contact).where(Contact.id != buyer.id).values(status="grey"))
    await make_contact(writer, status="yellow")
    await writer.commit()
    assert (await client.post("/reports/snapshot", headers=ADMIN)).status_code == 200

    response = await client.get(
        "/reports/tags", params={"from": "2026-11-23", "to": "2026-11-24"}, headers=ADMIN
    )
    assert response.status_code == 200
    days = response.json()["days"]
    assert [(d["day"], d["total"]) for d in days] == [("2026-11-23", 4), ("2026-11-24", 5)]
    assert days[0]["dimensions"]["status"] == {
        "green": {"contacts": 3, "share": 0.75},
        "red": {"contacts": 1, "share": 0.25},
    }
    assert days[1]["dimensions"]["status"]["grey"] == {"contacts": 3, "share": 0.6}
    only = await client.get(
        "/reports/tags",
        params={"from": "2026-11-24", "to": "2026-11-24", "dimension": "interests"},
        headers=ADMIN,
    )
    assert list(only.json()["days"][0]["dimensions"]) == ["interests"]

    conversion = (await client.get("/reports/conversion", headers=ADMIN)).json()
    assert conversion["day"] == "2026-11-24"
    assert conversion["conversion_window_days"] == 30
    assert conversion["dimensions"]["status"] == [
        {"value": "grey", "contacts": 3, "converted": 0, "conversion": 0.0},
        {"value": "red", "contacts": 1, "converted": 1, "conversion": 1.0},
        {"value": "yellow", "contacts": 1, "converted": 0, "conversion": 0.0},
    ]
    assert conversion["dimensions"]["interests"] == [
        {"value": "discount_sensitive", "contacts": 4, "converted": 1, "conversion": 0.25}
    ]
    one = await client.get("/reports/conversion?dimension=status", headers=ADMIN)
    assert list(one.json()["dimensions"]) == ["status"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-11-24", "to": "2026-11-23"}, "after"),
        ({"from": "2025-01-01", "to": "2026-11-23"}, "366"),
        ({"dimension": "colour"}, "dimension"),
    ],
    ids=["reversed", "too-long", "unknown-dimension"],
)
async def test_bad_tag_report_requests_are_400(
    app: FastAPI, client: httpx.AsyncClient, params: dict, message: str
) -> None:
    response = await client.get("/reports/tags", params=params, headers=ADMIN)
    assert response.status_code == 400
    assert message in response.json()["detail"]


async def test_false_reds_report(
    app: FastAPI, client: httpx.AsyncClient, writer: AsyncSession
) -> None:
    assert (await client.post("/reports/snapshot", headers=ADMIN)).status_code == 200
    report = (await client.get("/reports/false-reds", headers=ADMIN)).json()
    assert report["rules"] == []
    assert report["computed_at"] == "2026-11-23T10:00:00Z"
    assert report["since"] == "2026-10-24T10:00:00Z"


async def test_alerts_open_and_recently_ended(
    app: FastAPI, client: httpx.AsyncClient, writer: AsyncSession
) -> None:
    writer.add_all(
        [
            TeamAlert(
                name="grey_rising",
                value=0.3,
                threshold=0.2,
                details={},
                started_at=START - 50 * DAY,
                ended_at=START - 31 * DAY,  # ended too long ago
            ),
            TeamAlert(
                name="high_activity_low",
                value=0.1,
                threshold=0.15,
                details={},
                started_at=START - 20 * DAY,
                ended_at=START - 10 * DAY,
            ),
        ]
    )
    await make_contact(writer, status="red", activity="high")
    await writer.commit()
    assert (await client.post("/reports/snapshot", headers=ADMIN)).status_code == 200
    items = (await client.get("/alerts", headers=ADMIN)).json()["items"]
    assert [(a["name"], a["open"]) for a in items] == [
        ("red_high", True),
        ("high_activity_low", False),
    ]
    assert items[0] == {
        "name": "red_high",
        "value": 1.0,
        "threshold": 0.15,
        "details": {"red": 1, "total": 1},
        "started_at": "2026-11-23T10:00:00Z",
        "ended_at": None,
        "open": True,
    }


async def test_every_report_route_documents_an_example(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    spec = (await client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    for method, path in ROUTES:
        response = spec["paths"][path][method.lower()]["responses"]["200"]
        ref = response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        assert schemas[ref].get("examples"), f"{method} {path}: {ref} has no example"
