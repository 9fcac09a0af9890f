"""Command line: serve | worker | migrate | apikey … | webhook … (also the `wa-followup` script)."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import httpx

from app import log
from app.config import Settings, with_local_secrets
from app.db.engine import create_engine, create_sessionmaker
from app.db.session import session_scope
from app.runtime import settle_heap
from app.sending.api import cloud_api
from app.transfer import cli as transfer_cli
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


main.add_command(transfer_cli.contacts)
main.add_command(transfer_cli.purchases)


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
    """Background loop: stored webhooks left unprocessed (e.g. after a crash), time-based tags,
    and the scheduler and sender (planned follow-ups sent inside each contact's window)."""
    from app.clock import SystemClock
    from app.sending.worker import Sender, SendLoop
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
        async with cloud_api(settings) as api:
            sender = Sender(maker, clock, api, tagging.ruleset)
            send_loop = SendLoop(sender)
            settle_heap()
            try:
                if once:
                    total = 0
                    while n := await processor.process_batch():
                        total += n
                    tagged = await job.run_once(maker, clock, tagging.ruleset)
                    report = await sender.run_once()
                    click.echo(
                        f"processed {total} stored webhooks; time rules applied to {tagged} contacts; "
                        f"planned {report.planned}, sent {report.sent} follow-ups"
                    )
                    return
                processor.start()
                tag_job.start()
                send_loop.start()
                await asyncio.Event().wait()
            finally:
                await send_loop.stop()
                await processor.stop()
                await tag_job.stop()
                await engine.dispose()

    asyncio.run(run())


@main.group()
def scheduler() -> None:
    """Follow-up planning and sending at a given moment (dry runs and one-off passes)."""


def _parse_now(value: str | None) -> datetime:
    from app.clock import SystemClock

    if value is None:
        return SystemClock().now()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO 8601 time: {value!r}") from exc
    if parsed.tzinfo is None:
        raise click.BadParameter("give a time zone, e.g. 2026-11-23T10:00:00Z")
    return parsed.astimezone(UTC)


@scheduler.command("plan")
@click.option("--now", "now_text", default=None, help="ISO 8601 moment to plan for (default: now)")
def scheduler_plan(now_text: str | None) -> None:
    """Print the plan as JSON: the follow-up each contact would get, and when it may be sent.
    A dry run: nothing is written, nothing is sent."""
    from app.scheduling import planner
    from app.sending import outcomes
    from app.tagging import ruleset as ruleset_module

    settings = _settings()
    now = _parse_now(now_text)
    rules = ruleset_module.load(settings.rules_file)

    async def run() -> list[dict[str, Any]]:
        from app.scheduling import constraints

        engine = create_engine(settings.database_url)
        try:
            async with create_sessionmaker(engine)() as session:
                _, planned = await planner.plan(session, now=now, ruleset=rules, dry_run=True)
                entries = []
                policy = outcomes.policy_of(rules)
                for item in planned:
                    from app.contacts.models import Contact

                    contact = await session.get(Contact, item.contact_id)
                    assert contact is not None
                    decision = constraints.decide(
                        outcomes.recipient_of(contact),
                        constraints.PlannedSend(
                            category=item.followup.category,
                            free_form=False,
                            due_at=item.followup.due_at,
                        ),
                        marketing_sent=await outcomes.marketing_sent(session, contact.id, now),
                        global_marketing_today=0,
                        now=now,
                        policy=policy,
                    )
                    send_at = (
                        decision.at
                        if decision.action == "wait"
                        else (now if decision.action == "send" else None)
                    )
                    entries.append(
                        {
                            **item.as_json(),
                            "decision": decision.action,
                            "reason": decision.reason,
                            "send_at": send_at.isoformat() if send_at else None,
                        }
                    )
                await session.rollback()
                return entries
        finally:
            await engine.dispose()

    _print_json({"now": now.isoformat(), "followups": asyncio.run(run())})


@scheduler.command("run-once")
@click.option("--now", "now_text", default=None, help="ISO 8601 moment to act at (default: now)")
def scheduler_run_once(now_text: str | None) -> None:
    """Plan, then send what is due at that moment (dry run without WHATSAPP_ACCESS_TOKEN)."""
    from dataclasses import asdict

    from app.clock import SystemClock
    from app.sending.worker import Sender
    from app.tagging import ruleset as ruleset_module

    settings = _settings()
    log.configure(settings.log_level)
    now = _parse_now(now_text)
    rules = ruleset_module.load(settings.rules_file)

    async def run() -> dict[str, Any]:
        engine = create_engine(settings.database_url)
        async with cloud_api(settings) as api:
            try:
                # `now` is the moment the rules see; the sends are still paced in real time, on
                # the clock every other worker shares.
                sender = Sender(create_sessionmaker(engine), SystemClock(), api, rules)
                settle_heap()
                return asdict(await sender.run_once(now))
            finally:
                await engine.dispose()

    _print_json({"now": now.isoformat(), "dry_run": settings.dry_run, **asyncio.run(run())})


@main.group()
def templates() -> None:
    """Message templates approved by Meta, registered with their parameters."""


@templates.command("add")
@click.argument("name")
@click.option("--language", default="en", show_default=True)
@click.option(
    "--category",
    type=click.Choice(["marketing", "utility", "authentication"]),
    default="marketing",
    show_default=True,
)
@click.option(
    "--body",
    "body",
    default="",
    help="comma-separated variables for {{1}}, {{2}}, …: name, code, valid_until, offer, wa_id",
)
@click.option("--header", "header", default="", help="comma-separated header variables")
@click.option(
    "--coupon-button",
    "coupon",
    type=int,
    default=None,
    help="index of a copy-code button carrying the code",
)
def templates_add(
    name: str, language: str, category: str, body: str, header: str, coupon: int | None
) -> None:
    """Register (or update) a template."""
    from app.clock import SystemClock
    from app.errors import AppError
    from app.scheduling import templates as service

    parameters: dict[str, Any] = {
        "header": [v.strip() for v in header.split(",") if v.strip()],
        "body": [v.strip() for v in body.split(",") if v.strip()],
        "buttons": [{"kind": "copy_code", "index": coupon, "params": ["code"]}]
        if coupon is not None
        else [],
    }
    try:
        _with_session(
            lambda s: service.register(
                s,
                name=name,
                language=language,
                category=category,
                parameters=parameters,
                now=SystemClock().now(),
            )
        )
    except AppError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"registered {name} ({language}, {category})")


@templates.command("list")
def templates_list() -> None:
    from app.scheduling import templates as service

    for t in _with_session(service.list_all):
        click.echo(f"{t.name}\t{t.language}\t{t.category}\t{t.status}\t{json.dumps(t.parameters)}")


@main.group()
def discounts() -> None:
    """Discount code pools: one code per contact and offer, never reused."""


@discounts.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--offer", required=True)
def discounts_import(file: Path, offer: str) -> None:
    """Add the codes in FILE (CSV, first column; a header named code is skipped)."""
    from app.clock import SystemClock
    from app.errors import AppError
    from app.scheduling import discounts as service

    try:
        added = _with_session(
            lambda s: service.add_codes(
                s, offer=offer, codes=service.read_csv(file.read_text()), now=SystemClock().now()
            )
        )
    except AppError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"added {added} codes to {offer}")


@discounts.command("generate")
@click.option("--offer", required=True)
@click.option("--count", type=int, default=100, show_default=True)
@click.option("--prefix", default="", show_default=True)
@click.option("--length", type=int, default=8, show_default=True)
def discounts_generate(offer: str, count: int, prefix: str, length: int) -> None:
    from app.clock import SystemClock
    from app.errors import AppError
    from app.scheduling import discounts as service

    try:
        codes = service.generate_codes(prefix.upper(), length, count)
        added = _with_session(
            lambda s: service.add_codes(s, offer=offer, codes=codes, now=SystemClock().now())
        )
    except AppError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"added {added} codes to {offer}")


@main.command()
@click.option("--contacts", "count", type=int, default=1000, show_default=True)
@click.option(
    "--seed",
    "seed_value",
    type=int,
    default=7,
    show_default=True,
    help="random seed (same seed, same data)",
)
@click.option(
    "--agents",
    "agent_count",
    type=int,
    default=5,
    show_default=True,
    help="agent accounts to share the contacts round-robin (made if new; 0: unassigned)",
)
@click.option(
    "--now", "now_text", default=None, help="ISO 8601 moment the data is as of (default: now)"
)
def seed(count: int, seed_value: int, agent_count: int, now_text: str | None) -> None:
    """Fill the database with a synthetic data set (demo data; also what the benchmarks use):
    agent accounts, contacts with messages, tag events, orders and queue items. Prints the new
    agents' API keys, which are shown only once."""
    from app import seed as seeding
    from app.scheduling import templates
    from app.tagging import ruleset as ruleset_module

    settings = _settings()
    now = _parse_now(now_text)
    # The operator's rules decide the queue items the data set gets, as they would live.
    rules = ruleset_module.load(settings.rules_file)

    async def run() -> tuple[seeding.Seeded, list[str]]:
        engine = create_engine(settings.database_url)
        try:
            done = await seeding.seed(
                engine, count, now=now, seed=seed_value, agents=agent_count, ruleset=rules
            )
            if settings.dry_run:
                # So that the demo's follow-ups go out (dry) rather than fail for want of a
                # template; with real credentials templates must be Meta's own, added by hand.
                async with session_scope(create_sessionmaker(engine)) as session:
                    added = await templates.register_demo(session, rules, now=now)
                return done, added
            return done, []
        finally:
            await engine.dispose()

    done, added = asyncio.run(run())
    click.echo(
        f"added {done.contacts} contacts, {done.messages} messages, {done.tag_events} tag "
        f"events and {done.purchases} orders as of {now.isoformat()}"
    )
    if added:
        click.echo(f"registered stand-in templates (dry run only): {', '.join(added)}")
    for agent in done.agents:
        key = agent.api_key or "(account existed; key not shown again)"
        click.echo(f"agent {agent.name} ({agent.timezone}): {key}")


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
@click.option(
    "--timezone",
    default="UTC",
    show_default=True,
    help="IANA zone of a new agent account (the day of its queue)",
)
def apikey_create(name: str, role: str, timezone: str) -> None:
    """Create a key and print it (it cannot be shown again). An agent key comes with the agent
    account of the same name, created if new."""
    from app.access import service
    from app.clock import SystemClock
    from app.errors import AppError

    try:
        token = _with_session(
            lambda s: service.create_key(
                s, name=name, role=role, now=SystemClock().now(), timezone=timezone
            )
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


@main.group()
def reports() -> None:
    """Report snapshots and team alerts (also taken periodically by `serve`)."""


@reports.command("snapshot")
@click.option(
    "--now", "now_text", default=None, help="ISO 8601 moment to take it at (default: now)"
)
def reports_snapshot(now_text: str | None) -> None:
    """Take today's report snapshot now, update the team alerts, and print the summary as JSON."""
    from app.clock import ManualClock
    from app.reports import job
    from app.tagging import ruleset as ruleset_module

    settings = _settings()
    log.configure(settings.log_level)
    now = _parse_now(now_text)
    rules = ruleset_module.load(settings.rules_file).reports

    async def run() -> dict[str, Any] | None:
        engine = create_engine(settings.database_url)
        try:
            summary = await job.run_once(
                create_sessionmaker(engine), ManualClock(now), rules, force=True
            )
            return summary.as_json() if summary else None
        finally:
            await engine.dispose()

    summary = asyncio.run(run())
    if summary is None:
        raise click.ClickException("another replica is taking a snapshot right now; try again")
    _print_json(summary)


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=_json_default, ensure_ascii=False))


def _json_default(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)
