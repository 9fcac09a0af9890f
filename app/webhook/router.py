"""GET /webhook (Meta's verification handshake) and POST /webhook (signed deliveries).

The POST path stays lean on purpose: read at most the size limit, check the signature on the raw
bytes, check the JSON parses, hand the bytes to the group-committing inbox, answer. Everything
else happens after the 200, from the stored row.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import Clock
from app.config import Settings
from app.db.upsert import insert_ignore
from app.errors import Forbidden, PayloadTooLarge, Unauthorized
from app.webhook.inbox import InboxUnavailable, InboxWriter
from app.webhook.models import RejectedWebhook
from app.whatsapp import signature

log = logging.getLogger("app.webhook")
router = APIRouter(tags=["webhook"])

SIGNATURE_HEADER = "x-hub-signature-256"
ACCEPTED = b'{"status":"received"}'


@router.get(
    "/webhook",
    response_class=PlainTextResponse,
    responses={
        200: {
            "description": "The verify token matches: `hub.challenge`, echoed.",
            "content": {"text/plain": {"example": "1158201444"}},
        }
    },
)
async def verify_subscription(
    request: Request,
    mode: Annotated[str | None, Query(alias="hub.mode")] = None,
    token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge")] = None,
) -> PlainTextResponse:
    """Meta's subscription check: echo the challenge as plain text when the verify token matches."""
    settings: Settings = request.app.state.settings
    expected = settings.whatsapp_verify_token
    if (
        mode != "subscribe"
        or token is None
        or challenge is None
        or expected is None
        or not hmac.compare_digest(token.encode(), expected.get_secret_value().encode())
    ):
        raise Forbidden("verification failed")
    return PlainTextResponse(challenge)


@router.post(
    "/webhook",
    responses={
        200: {
            "description": "Stored durably; Meta may forget it.",
            "content": {"application/json": {"example": {"status": "received"}}},
        },
        400: {"description": "Signed, but not JSON (kept for inspection)."},
        401: {"description": "No X-Hub-Signature-256 header; nothing stored."},
        403: {"description": "Signature does not match; nothing stored."},
        413: {"description": "Body larger than the limit; nothing stored."},
        503: {"description": "Database unavailable; Meta retries later."},
    },
    # The body is read raw (the signature covers the exact bytes), so FastAPI cannot describe it.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object"},
                    "example": {
                        "object": "whatsapp_business_account",
                        "entry": [
                            {
                                "id": "102290129340398",
                                "changes": [
                                    {
                                        "field": "messages",
                                        "value": {
                                            "messaging_product": "whatsapp",
                                            "metadata": {
                                                "display_phone_number": "15550783881",
                                                "phone_number_id": "106540352242922",
                                            },
                                            "contacts": [
                                                {
                                                    "profile": {"name": "Jonas"},
                                                    "wa_id": "4915112345678",
                                                }
                                            ],
                                            "messages": [
                                                {
                                                    "from": "4915112345678",
                                                    "id": "wamid.HBgNNDkxNTExMjM0NTY3OBUCABIYFjNFQjA=",
                                                    "timestamp": "1795419600",
                                                    "type": "text",
                                                    "text": {
                                                        "body": "Wie viel kostet die Powerbank?"
                                                    },
                                                }
                                            ],
                                        },
                                    }
                                ],
                            }
                        ],
                    },
                }
            },
        }
    },
)
async def receive(request: Request) -> Response:
    state = request.app.state
    settings: Settings = state.settings
    clock: Clock = state.clock
    started = clock.monotonic()
    body = await _read_limited(request, settings.webhook_max_body_bytes)
    header = request.headers.get(SIGNATURE_HEADER)
    if not header:
        _log_outcome(clock, started, "unsigned", None)
        raise Unauthorized("missing X-Hub-Signature-256")
    secret = settings.whatsapp_app_secret
    if secret is None or not signature.verify(secret.get_secret_value(), body, header):
        _log_outcome(clock, started, "bad_signature", None)
        raise Forbidden("signature does not match")
    try:
        # Only the counts outlive this line: the parsed document would otherwise stay alive, and
        # be walked by the garbage collector, for as long as the commit is awaited.
        shape = _Shape.of(json.loads(body))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        await _keep_rejected(state.sessionmaker, clock, body, f"not JSON: {exc}")
        _log_outcome(clock, started, "malformed", None)
        return JSONResponse(
            {"error": "bad_request", "detail": f"body is not valid JSON: {exc}"}, 400
        )
    writer: InboxWriter = state.inbox_writer
    try:
        await writer.store(body)
    except InboxUnavailable:
        _log_outcome(clock, started, "unavailable", shape)
        return JSONResponse(
            {"error": "unavailable", "detail": "could not store the webhook, retry later"},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    _log_outcome(clock, started, "stored", shape)
    return Response(ACCEPTED, media_type="application/json")


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body larger than {limit} bytes")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _keep_rejected(
    maker: async_sessionmaker[AsyncSession], clock: Clock, body: bytes, reason: str
) -> None:
    """A signed but unparsable body is answered 400, yet kept: nothing Meta sent is ever lost."""
    try:
        async with maker() as session:
            await session.execute(
                insert_ignore(session, RejectedWebhook).values(
                    body_sha256=hashlib.sha256(body).hexdigest(),
                    body=body,
                    reason=reason[:500],
                    received_at=clock.now(),
                )
            )
            await session.commit()
    except Exception as exc:
        log.error("could not keep rejected webhook", extra={"error": type(exc).__name__})


@dataclass(frozen=True, slots=True)
class _Shape:
    """What one body holds, for the log line."""

    entries: int = 0
    messages: int = 0
    statuses: int = 0

    @classmethod
    def of(cls, doc: object) -> _Shape:
        entries = messages = statuses = 0
        if isinstance(doc, dict) and isinstance(doc.get("entry"), list):
            for entry in doc["entry"]:
                changes = entry.get("changes") if isinstance(entry, dict) else None
                entries += 1
                for change in changes if isinstance(changes, list) else []:
                    value = change.get("value") if isinstance(change, dict) else None
                    if isinstance(value, dict):
                        messages += _length(value.get("messages"))
                        statuses += _length(value.get("statuses"))
        return cls(entries, messages, statuses)


def _length(items: object) -> int:
    # Counting runs before the body is stored, so an odd but valid body must not make it raise.
    return len(items) if isinstance(items, list) else 0


def _log_outcome(clock: Clock, started: float, outcome: str, shape: _Shape | None) -> None:
    # Under load the service runs at WARNING: then the line is not even built.
    if not log.isEnabledFor(logging.INFO):
        return
    shape = shape or _Shape()
    log.info(
        "webhook",
        extra={
            "outcome": outcome,
            "entries": shape.entries,
            "messages": shape.messages,
            "statuses": shape.statuses,
            "latency_ms": round((clock.monotonic() - started) * 1000, 2),
        },
    )
