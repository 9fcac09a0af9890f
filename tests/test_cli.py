"""The command line a newcomer uses: migrate a fresh database, sign a payload."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect

from app.cli import main
from app.db.engine import create_engine
from app.whatsapp.signature import verify
from tests.conftest import APP_SECRET


async def test_migrate_creates_the_schema_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'db.sqlite'}"
    result = await asyncio.to_thread(
        CliRunner().invoke, main, ["migrate"], env={"DATABASE_URL": url}
    )
    assert result.exit_code == 0, result.output
    engine = create_engine(url)
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    assert {
        "inbound_event",
        "contact",
        "message",
        "message_status",
        "webhook_update",
        "api_key",
    } <= tables


def test_webhook_sign_matches_the_verifier(tmp_path: Path) -> None:
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    path = tmp_path / "body.json"
    path.write_bytes(body)
    result = CliRunner().invoke(
        main, ["webhook", "sign", str(path)], env={"WHATSAPP_APP_SECRET": APP_SECRET}
    )
    assert result.exit_code == 0
    assert verify(APP_SECRET, body, result.output.strip())


def test_local_secrets_are_generated_once_and_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.config import Settings, with_local_secrets

    monkeypatch.chdir(tmp_path)
    for name in ("WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN", "ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    first = with_local_secrets(Settings(_env_file=None))  # type: ignore[call-arg]
    second = with_local_secrets(Settings(_env_file=None))  # type: ignore[call-arg]
    assert first.whatsapp_app_secret is not None
    assert second.whatsapp_app_secret is not None
    assert (
        first.whatsapp_app_secret.get_secret_value()
        == second.whatsapp_app_secret.get_secret_value()
    )
    assert len(first.whatsapp_app_secret.get_secret_value()) >= 32
    secret_file = tmp_path / ".local-secrets" / "whatsapp_app_secret"
    assert secret_file.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_database_url_gets_the_async_driver(given: str, expected: str) -> None:
    from app.config import Settings

    assert Settings(_env_file=None, database_url=given).database_url == expected  # type: ignore[call-arg]


def test_detector_eval_prints_per_language_scores(tmp_path: Path) -> None:
    rows = tmp_path / "set.jsonl"
    rows.write_text(
        '{"id": "en-1", "lang": "en", "text": "how much is it?", "intent": "high", "interests": [], "opt_out": false}\n'
        '{"id": "de-1", "lang": "de", "text": "STOPP", "intent": "none", "interests": [], "opt_out": true}\n'
    )
    result = CliRunner().invoke(main, ["detector", "eval", str(rows)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("en ") for line in lines)
    assert any(line.startswith("de ") for line in lines)
    assert any(line.startswith("overall") for line in lines)


def test_detector_detect_shows_signals_and_evidence() -> None:
    result = CliRunner().invoke(main, ["detector", "detect", "wie viel kostet das?"])
    assert result.exit_code == 0
    assert '"intent": "high"' in result.output
    assert '"phrase"' in result.output


def test_blank_environment_values_mean_unset() -> None:
    from app.config import Settings

    settings = Settings(
        _env_file=None, whatsapp_access_token="", whatsapp_app_secret="  ", rules_file=""
    )  # type: ignore[call-arg]
    assert settings.whatsapp_access_token is None
    assert settings.whatsapp_app_secret is None
    assert settings.rules_file is None
    assert settings.dry_run is True


async def test_an_agent_key_comes_with_its_account_and_time_zone(tmp_path: Path) -> None:
    from sqlalchemy import select

    from app.agents.models import Agent

    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    env = {"DATABASE_URL": url}
    run = CliRunner().invoke
    assert (await asyncio.to_thread(run, main, ["migrate"], env=env)).exit_code == 0
    made = await asyncio.to_thread(
        run, main, ["apikey", "create", "maria", "--timezone", "America/Sao_Paulo"], env=env
    )
    assert made.exit_code == 0, made.output
    assert made.output.startswith("wfu_")
    bad = await asyncio.to_thread(
        run, main, ["apikey", "create", "joao", "--timezone", "Mars/Olympus"], env=env
    )
    assert bad.exit_code != 0
    assert "time zone" in bad.output
    engine = create_engine(url)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(Agent.name, Agent.timezone))).all()
    await engine.dispose()
    assert [tuple(r) for r in rows] == [("maria", "America/Sao_Paulo")]
