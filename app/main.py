"""The FastAPI application: create_app(settings, clock=…) wires engine, inbox and routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app import log
from app.agents.router import router as agents_router
from app.clock import Clock, SystemClock
from app.config import Settings, with_local_secrets
from app.contacts.router import router as contacts_router
from app.db.engine import create_engine, create_sessionmaker
from app.errors import install_handlers
from app.queue.router import router as queue_router
from app.reports.job import ReportJob
from app.reports.router import router as reports_router
from app.runtime import settle_heap
from app.tagging import ruleset
from app.tagging.intent import default_detector
from app.tagging.job import TagJob
from app.tagging.router import router as tagging_router
from app.tagging.service import Tagging
from app.transfer.router import router as transfer_router
from app.webhook.inbox import InboxProcessor, InboxWriter
from app.webhook.router import router as webhook_router


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    clock = clock or SystemClock()
    # A broken rules file or vocabulary stops the start-up here, with the file and key named.
    tagging = Tagging(ruleset=ruleset.load(settings.rules_file), detector=default_detector())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        maker = create_sessionmaker(engine)
        writer = InboxWriter(engine, clock)
        processor = InboxProcessor(
            maker, clock, sweep_seconds=settings.inbox_sweep_seconds, tagging=tagging
        )
        tag_job = TagJob(maker, clock, tagging.ruleset, every_seconds=settings.tag_job_seconds)
        report_job = ReportJob(maker, clock, tagging.ruleset.reports)
        writer.on_commit = processor.notify
        app.state.engine = engine
        app.state.sessionmaker = maker
        app.state.inbox_writer = writer
        app.state.processor = processor
        writer.start()
        processor.start()
        tag_job.start()
        report_job.start()
        try:
            yield
        finally:
            await writer.stop()
            await processor.stop()
            await tag_job.stop()
            await report_job.stop()
            await engine.dispose()

    app = FastAPI(
        title="WhatsApp follow-up engine",
        summary="Signed webhook ingestion, real-time tags, scheduled follow-ups and agent queues.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.tagging = tagging
    install_handlers(app)
    app.include_router(webhook_router)
    app.include_router(contacts_router)
    app.include_router(tagging_router)
    app.include_router(queue_router)
    app.include_router(reports_router)
    app.include_router(agents_router)
    app.include_router(transfer_router)

    @app.get(
        "/healthz",
        tags=["ops"],
        responses={
            200: {
                "description": "The database answers.",
                "content": {
                    "application/json": {
                        "example": {"status": "ok", "database": "ok", "dry_run": False}
                    }
                },
            },
            503: {
                "description": "The database does not answer.",
                "content": {
                    "application/json": {
                        "example": {"status": "unavailable", "database": "ConnectionRefusedError"}
                    }
                },
            },
        },
    )
    async def healthz(request: Request) -> JSONResponse:
        """200 when the database answers, 503 otherwise (load balancers take the replica out)."""
        try:
            async with request.app.state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            return JSONResponse({"status": "unavailable", "database": type(exc).__name__}, 503)
        return JSONResponse({"status": "ok", "database": "ok", "dry_run": settings.dry_run})

    return app


def app_factory() -> FastAPI:
    """Entry point for `uvicorn --factory` and `python -m app serve`: settings from the environment."""
    settings = with_local_secrets(Settings())
    log.configure(settings.log_level)
    app = create_app(settings)
    settle_heap()  # bench/webhook.py: full collections were a quarter of the CPU
    return app
