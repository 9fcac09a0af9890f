"""/docs describes the CSV routes with examples a new user can copy."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from fastapi import FastAPI

from tests.transfer.helpers import new_agent, upload


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/exports/contacts.csv", "get"),
        ("/imports/contacts", "post"),
        ("/imports/purchases", "post"),
    ],
    ids=["export", "contacts", "purchases"],
)
async def test_each_route_has_a_description_and_examples(
    app: FastAPI, client: httpx.AsyncClient, path: str, method: str
) -> None:
    spec = (await client.get("/openapi.json")).json()
    route = spec["paths"][path][method]
    assert len(route["description"]) > 100
    for status, response in route["responses"].items():
        assert response["description"], status
        for media in response.get("content", {}).values():
            assert "example" in media or "$ref" in media.get("schema", {}), (status, media)
    if method == "get":
        example = route["responses"]["200"]["content"]["text/csv"]["example"]
        assert next(csv.reader(io.StringIO(example)))[0] == "wa_id"
    else:
        assert route["requestBody"]["content"]["text/csv"]["example"]


async def test_the_example_files_import(app: FastAPI, client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    for name in ("alice", "bob"):
        await new_agent(app, name)
    for path, counts in (
        ("/imports/contacts", {"created": 3}),
        ("/imports/purchases", {"orders": 2, "created": 2}),
    ):
        example = spec["paths"][path]["post"]["requestBody"]["content"]["text/csv"]["example"]
        response = await upload(client, path, example)
        assert response.status_code == 200, response.text
        assert counts.items() <= response.json().items()
