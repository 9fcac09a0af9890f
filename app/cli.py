"""Command line: serve | worker | migrate | apikey … | webhook … (also the `wa-followup` script)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click
import httpx

from app import log
from app.config import Settings, with_local_secrets
from app.db.engine import create_engine, create_sessionmaker
from app.db.session import session_scope
from app.whatsapp import signature


def _settings() -> Settings:
    return with_local_secrets(Settings())


def run_migrations(database_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    ini = Path.cwd() / "alembic.ini"
    if not ini.exists():
        ini = Path(__file__).resolve().parent.parent / "alembic.ini"
    config = Config(str(ini))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


@click.group()
def main() -> None:
    """WhatsApp follow-up engine."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="uvicorn worker processes")
@click.option(
    "--migrate/--no-migrate", default=True, show_default=True, help="upgrade the schema first"
)
def serve(host: str, port: int, workers: int, migrate: bool) -> None:
    """Run the HTTP service (webhook, API)."""
    import uvicorn

    settings = _settings()
    log.configure(settings.log_level)
    if migrate:
        run_migrations(settings.database_url)
    uvicorn.run(
        "app.main:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        proxy_headers=True,
    )


@main.command()
def migrate() -> None:
    """Upgrade the database schema to the latest revision."""
    settings = _settings()
    log.configure(settings.log_level)
    run_migrations(settings.database_url)
    click.echo("database is at the latest revision")


@main.command()
@click.option("--once", is_flag=True, help="do what is due now, then exit")
def worker(once: bool) -> None:
    """Background loop: stored webhooks left unprocessed (e.g. after a crash) and time-based tags."""
    from app.clock import SystemClock
    from app.tagging import job, ruleset
    from app.tagging.intent import default_detector
    from app.tagging.service import Tagging
    from app.webhook.inbox import InboxProcessor

    settings = _settings()
    log.configure(settings.log_level)
    tagging = Tagging(ruleset=ruleset.load(settings.rules_file), detector=default_detector())
    clock = SystemClock()

    async def run() -> None:
        engine = create_engine(settings.database_url)
        maker = create_sessionmaker(engine)
        processor = InboxProcessor(
            maker, clock, sweep_seconds=settings.inbox_sweep_seconds, tagging=tagging
        )
        tag_job = job.TagJob(maker, clock, tagging.ruleset, every_seconds=settings.tag_job_seconds)
        try:
            if once:
                total = 0
                while n := await processor.process_batch():
                    total += n
                tagged = await job.run_once(maker, clock, tagging.ruleset)
                click.echo(
                    f"processed {total} stored webhooks; time rules applied to {tagged} contacts"
                )
                return
            processor.start()
            tag_job.start()
            await asyncio.Event().wait()
        finally:
            await processor.stop()
            await tag_job.stop()
            await engine.dispose()

    asyncio.run(run())


@main.group()
def detector() -> None:
    """The multilingual intent detector."""


@detector.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def detector_eval(file: Path) -> None:
    """Per-language precision, recall and F1 on a labelled JSONL file (dev-set format)."""
    from app.tagging.evaluation import run_eval

    click.echo(run_eval(file))


@detector.command("detect")
@click.argument("text")
@click.option("--language", default=None, help="a language hint, e.g. de")
def detector_detect(text: str, language: str | None) -> None:
    """Show what the detector reads in TEXT."""
    from dataclasses import asdict

    from app.tagging.intent import default_detector

    _print_json(asdict(default_detector().detect(text, language)))


@main.group()
def apikey() -> None:
    """Named API keys for agents and operators (stored hashed; shown once)."""


def _with_session(fn: Any) -> Any:
    settings = _settings()

    async def run() -> Any:
        engine = create_engine(settings.database_url)
        try:
            async with session_scope(create_sessionmaker(engine)) as session:
                return await fn(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


@apikey.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "agent"]), default="agent", show_default=True)
def apikey_create(name: str, role: str) -> None:
    """Create a key and print it (it cannot be shown again)."""
    from app.access import service
    from app.clock import SystemClock
    from app.errors import AppError

    try:
        token = _with_session(
            lambda s: service.create_key(s, name=name, role=role, now=SystemClock().now())
        )
    except AppError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(token)


@apikey.command("revoke")
@click.argument("name")
def apikey_revoke(name: str) -> None:
    from app.access import service
    from app.clock import SystemClock
    from app.errors import AppError

    try:
        _with_session(lambda s: service.revoke_key(s, name=name, now=SystemClock().now()))
    except AppError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"revoked {name}")


@apikey.command("list")
def apikey_list() -> None:
    from app.access import service

    for key in _with_session(service.list_keys):
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
        click.echo(f"{key.name}\t{key.role}\t{state}")


@main.group()
def webhook() -> None:
    """Try the webhook locally: sign and post a payload file the way Meta would."""


@webhook.command("sign")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def webhook_sign(file: Path) -> None:
    """Print the X-Hub-Signature-256 value for FILE's exact bytes."""
    secret = _settings().whatsapp_app_secret
    assert secret is not None
    click.echo(signature.sign(secret.get_secret_value(), file.read_bytes()))


@webhook.command("post")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", default="http://127.0.0.1:8000/webhook", show_default=True)
def webhook_post(file: Path, url: str) -> None:
    """Sign FILE with the configured app secret and POST it to the running service."""
    secret = _settings().whatsapp_app_secret
    assert secret is not None
    body = file.read_bytes()
    response = httpx.post(
        url,
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signature.sign(secret.get_secret_value(), body),
        },
        timeout=10,
    )
    click.echo(f"{response.status_code} {response.text}")
    if response.status_code != 200:
        sys.exit(1)


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=_json_default, ensure_ascii=False))


def _json_default(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)
