"""Command line for CSV files: `contacts export|import` and `purchases import` (docs/csv.md).
The same code as the HTTP routes, run with the operator's rights on DATABASE_URL."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import SystemClock
from app.config import Settings
from app.db.engine import create_engine, create_sessionmaker
from app.db.session import session_scope
from app.errors import AppError
from app.transfer import contacts_import, csv_export, purchases_import
from app.transfer.table import Rejected, decode

T = TypeVar("T")
RACED = "the data changed while importing; nothing was imported, run the import again"
FileArgument = click.Path(exists=True, dir_okay=False, path_type=Path)


def _in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = create_engine(settings.database_url)
        try:
            async with session_scope(create_sessionmaker(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _report(result: Any) -> None:
    click.echo(json.dumps(asdict(result)))


def _fail(exc: Rejected) -> click.ClickException:
    listed = "\n".join(f"  {p}" for p in exc.listed)
    more = len(exc.problems) - len(exc.listed)
    return click.ClickException(
        f"{exc.summary}:\n{listed}" + (f"\n  … and {more} more" if more > 0 else "")
    )


@click.group("contacts")
def contacts() -> None:
    """Contacts to and from CSV files."""


@contacts.command("export")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="file to write (default: standard output)",
)
@click.option("--status", multiple=True, help="only this colour (repeatable)")
@click.option("--agent", default=None, help="only this agent's contacts")
@click.option("--bom", is_flag=True, help="start with a byte order mark (for Excel)")
def export(out: Path | None, status: tuple[str, ...], agent: str | None, bom: bool) -> None:
    """Every contact with its tags, as GET /exports/contacts.csv gives an admin."""
    from app.agents import service as agents
    from app.queue.service import parse_statuses

    settings = Settings()

    async def run() -> None:
        engine = create_engine(settings.database_url)
        maker = create_sessionmaker(engine)
        try:
            async with maker() as session:
                agent_id = (await agents.get(session, agent)).id if agent else None
            scope = csv_export.Scope(
                agent_id=agent_id, statuses=tuple(parse_statuses(status)) if status else ()
            )
            with out.open("wb") if out else nullcontext(sys.stdout.buffer) as target:
                async for chunk in csv_export.chunks(maker, scope, bom=bom):
                    target.write(chunk)
                target.flush()
        finally:
            await engine.dispose()

    try:
        asyncio.run(run())
    except AppError as exc:
        raise click.ClickException(exc.detail) from exc


@contacts.command("import")
@click.argument("file", type=FileArgument)
@click.option("--dry-run", is_flag=True, help="only check the file; store nothing")
def import_contacts(file: Path, dry_run: bool) -> None:
    """Create or complete contacts from FILE, as POST /imports/contacts does: all rows or none."""
    settings = Settings()
    try:
        result = _in_session(
            settings,
            lambda s: contacts_import.run(
                s, decode(file.read_bytes()), now=SystemClock().now(), dry_run=dry_run, by="cli"
            ),
        )
    except Rejected as exc:
        raise _fail(exc) from exc
    except IntegrityError as exc:
        raise click.ClickException(RACED) from exc
    _report(result)


@click.group("purchases")
def purchases() -> None:
    """Purchases from CSV files."""


@purchases.command("import")
@click.argument("file", type=FileArgument)
@click.option("--dry-run", is_flag=True, help="only check the file; store nothing")
def import_purchases(file: Path, dry_run: bool) -> None:
    """Record the orders in FILE, as POST /imports/purchases does: all rows or none."""
    from app.tagging import ruleset
    from app.tagging.intent import default_detector
    from app.tagging.service import Tagging

    settings = Settings()
    tagging = Tagging(ruleset=ruleset.load(settings.rules_file), detector=default_detector())
    try:
        result = _in_session(
            settings,
            lambda s: purchases_import.run(
                s,
                decode(file.read_bytes()),
                now=SystemClock().now(),
                dry_run=dry_run,
                tagging=tagging,
            ),
        )
    except Rejected as exc:
        raise _fail(exc) from exc
    except IntegrityError as exc:
        raise click.ClickException(RACED) from exc
    except AppError as exc:
        raise click.ClickException(exc.detail) from exc
    _report(result)
