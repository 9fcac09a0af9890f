"""`python -m app contacts export|import` and `purchases import` on the test database."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import httpx
from click.testing import CliRunner, Result
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli import main
from app.contacts.models import Contact, Purchase
from tests.conftest import ADMIN, count
from tests.transfer.helpers import lines, new_agent


async def cli(database_url: str, *args: str) -> Result:
    # The CLI runs its own event loop, so it gets a thread of its own.
    return await asyncio.to_thread(
        CliRunner().invoke, main, list(args), env={"DATABASE_URL": database_url}
    )


async def test_contacts_import_dry_run_then_real_then_export(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    database_url: str,
    tmp_path: Path,
) -> None:
    await new_agent(app, "alice")
    await new_agent(app, "bob")
    source = tmp_path / "contacts.csv"
    source.write_text(
        lines("wa_id,name,agent", "4915112345678,Jonas,alice", "16505551234,=1+1,bob")
    )

    dry = await cli(database_url, "contacts", "import", str(source), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert '"dry_run": true' in dry.output
    assert '"created": 2' in dry.output
    assert await count(session, Contact) == 0

    real = await cli(database_url, "contacts", "import", str(source))
    assert real.exit_code == 0, real.output
    assert '"created": 2' in real.output
    assert (await client.get("/contacts/4915112345678", headers=ADMIN)).json()["name"] == "Jonas"

    out = tmp_path / "out.csv"
    exported = await cli(database_url, "contacts", "export", "--out", str(out), "--agent", "alice")
    assert exported.exit_code == 0, exported.output
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["wa_id"], r["agent"]) for r in rows] == [("4915112345678", "alice")]

    to_stdout = await cli(database_url, "contacts", "export", "--bom")
    assert to_stdout.exit_code == 0
    assert to_stdout.stdout_bytes.startswith(b"\xef\xbb\xbfwa_id,")
    assert "'=1+1" in to_stdout.output

    nobody = await cli(database_url, "contacts", "export", "--agent", "carol")
    assert nobody.exit_code == 1
    assert "no agent 'carol'" in nobody.output


async def test_a_bad_file_lists_its_problems_and_stores_nothing(
    app: FastAPI, session: AsyncSession, database_url: str, tmp_path: Path
) -> None:
    source = tmp_path / "contacts.csv"
    source.write_text(lines("wa_id,timezone", "12,", "4915112345678,Mars/Base"))
    result = await cli(database_url, "contacts", "import", str(source))
    assert result.exit_code == 1
    assert "2 problems in the file; nothing was imported" in result.output
    assert "line 2, wa_id:" in result.output
    assert "line 3, timezone: unknown time zone 'Mars/Base'" in result.output
    assert await count(session, Contact) == 0


async def test_purchases_import_and_again(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    database_url: str,
    tmp_path: Path,
) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(lines("wa_id", "4915112345678"))
    assert (await cli(database_url, "contacts", "import", str(contacts))).exit_code == 0
    orders = tmp_path / "orders.csv"
    orders.write_text(
        lines(
            "wa_id,order_id,amount,currency,purchased_at,sku",
            "4915112345678,SO-1,900,EUR,2026-11-20T09:30:00Z,A",
            "4915112345678,SO-1,900,EUR,2026-11-20T09:30:00Z,B",
        )
    )
    dry = await cli(database_url, "purchases", "import", str(orders), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert await count(session, Purchase) == 0
    first = await cli(database_url, "purchases", "import", str(orders))
    assert first.exit_code == 0, first.output
    assert '"created": 1' in first.output
    again = await cli(database_url, "purchases", "import", str(orders))
    assert '"already_recorded": 1' in again.output
    assert await count(session, Purchase) == 1
    tags = (await client.get("/contacts/4915112345678", headers=ADMIN)).json()["tags"]
    assert tags["spend_tier"] == "mid"

    unknown = tmp_path / "unknown.csv"
    unknown.write_text(
        lines(
            "wa_id,order_id,amount,currency,purchased_at",
            "16505551234,SO-9,1,EUR,2026-11-20T09:30:00Z",
        )
    )
    refused = await cli(database_url, "purchases", "import", str(unknown))
    assert refused.exit_code == 1
    assert "line 2, wa_id: no contact with wa_id 16505551234" in refused.output
