"""`scheduler plan --now` (dry run) and `scheduler run-once --now` as an operator runs them."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import httpx
import pytest
from click.testing import CliRunner, Result
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli import main
from app.scheduling import templates
from app.scheduling.models import OutboxItem
from tests.conftest import ADMIN_TOKEN, APP_SECRET, post_webhook, processed
from tests.payloads import text_message

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


async def cli(database_url: str, *args: str) -> Result:
    env = {
        "DATABASE_URL": database_url,
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "WHATSAPP_VERIFY_TOKEN": "v",
        "WHATSAPP_ACCESS_TOKEN": "",
        "LOG_LEVEL": "WARNING",
    }
    return await asyncio.to_thread(
        CliRunner().invoke, main, list(args), env=env, catch_exceptions=False
    )


@pytest.fixture
async def asked(app: FastAPI, client: httpx.AsyncClient, writer: AsyncSession) -> None:
    await templates.register(
        writer,
        name="offer_followup",
        language="en",
        category="marketing",
        parameters={"body": ["name"]},
        now=MONDAY,
    )
    await writer.commit()
    body = text_message("wamid.cli", "how much is it?", wa_id="4915112345678", at=MONDAY)
    assert (await post_webhook(client, body)).status_code == 200
    await processed(app)


async def test_plan_is_a_dry_run_printing_json(
    app: FastAPI, asked, session: AsyncSession, database_url: str
) -> None:
    result = await cli(database_url, "scheduler", "plan", "--now", "2026-11-23T22:00:00Z")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert plan["now"] == "2026-11-23T22:00:00+00:00"
    [followup] = plan["followups"]
    assert followup["wa_id"] == "4915112345678"
    assert followup["rule"] == "high_intent_followup"
    assert followup["decision"] == "wait"
    assert followup["reason"] == "quiet_hours"
    assert followup["send_at"] == "2026-11-24T07:00:00+00:00"
    await session.rollback()
    assert (await session.scalars(select(OutboxItem))).all() == []  # nothing written


async def test_run_once_sends_what_is_due_dry(
    app: FastAPI, asked, session: AsyncSession, database_url: str
) -> None:
    result = await cli(database_url, "scheduler", "run-once", "--now", "2026-11-24T09:00:00Z")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["dry_run"] is True
    assert (report["planned"], report["sent"]) == (1, 1)
    await session.rollback()
    [item] = (await session.scalars(select(OutboxItem))).all()
    assert item.state == "sent"
    assert item.wamid.startswith("wamid.dryrun.")


@pytest.mark.parametrize("now", ["yesterday", "2026-11-24T09:00:00"], ids=["not-iso", "no-zone"])
async def test_bad_now_is_a_clear_error(database_url: str, now: str) -> None:
    result = await cli(database_url, "scheduler", "plan", "--now", now)
    assert result.exit_code == 2
    assert "--now" in result.output or "time zone" in result.output or "ISO" in result.output


async def test_templates_and_discount_pools_from_the_cli(database_url: str, tmp_path) -> None:
    added = await cli(
        database_url,
        "templates",
        "add",
        "discount_code",
        "--body",
        "name,code",
        "--coupon-button",
        "0",
    )
    assert added.exit_code == 0, added.output
    listed = await cli(database_url, "templates", "list")
    assert "discount_code\ten\tmarketing\tAPPROVED" in listed.output
    bad = await cli(database_url, "templates", "add", "x", "--body", "name,shoe_size")
    assert bad.exit_code == 1
    assert "shoe_size" in bad.output
    pool = tmp_path / "codes.csv"
    pool.write_text("code\nWINTER01\nWINTER02\nWINTER01\n")
    imported = await cli(database_url, "discounts", "import", str(pool), "--offer", "winter")
    assert "added 2 codes" in imported.output
    generated = await cli(
        database_url, "discounts", "generate", "--offer", "winter", "--count", "5", "--prefix", "W"
    )
    assert "added 5 codes" in generated.output
