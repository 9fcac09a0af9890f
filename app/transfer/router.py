"""/exports and /imports: contacts out as CSV (streamed), contacts and purchases in from CSV."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.service import Principal
from app.agents import service as agents
from app.deps import AdminDep, AgentDep, ClockDep, SessionDep, TaggingDep
from app.errors import Conflict, Forbidden
from app.queue import service as queue_service
from app.transfer import contacts_import, csv_export, purchases_import
from app.transfer.schemas import (
    CONTACTS_CSV_EXAMPLE,
    EXPORT_CSV_EXAMPLE,
    PURCHASES_CSV_EXAMPLE,
    ContactsImported,
    ImportRejected,
    ProblemRead,
    PurchasesImported,
)
from app.transfer.table import Rejected, decode
from app.transfer.upload import MAX_BYTES, csv_body

router = APIRouter(tags=["csv"])


class CSVResponse(StreamingResponse):
    media_type = "text/csv"  # Starlette adds "; charset=utf-8"


def _error(code: str, description: str, detail: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"example": {"error": code, "detail": detail}}},
    }


UNAUTHORIZED = _error(
    "unauthorized", "No or unknown API key.", "send Authorization: Bearer <token>"
)


def _csv_body(example: str, columns: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": f"The CSV file itself (UTF-8, with or without BOM; a header row; "
            f"comma or semicolon separated; at most {MAX_BYTES // (1024 * 1024)} MiB). "
            f"Columns: {columns}",
            "content": {"text/csv": {"schema": {"type": "string"}, "example": example}},
        }
    }


IMPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Imported (with dry_run: checked only); the counts."},
    400: {
        "model": ImportRejected,
        "description": "Some rows are wrong: every problem with its line; nothing was imported.",
    },
    401: UNAUTHORIZED,
    403: _error("forbidden", "Not an admin key.", "admin role required"),
    409: _error(
        "conflict",
        "A contact or order in the file was stored by someone else meanwhile; nothing was "
        "imported, send the file again.",
        "the data changed while importing; nothing was imported, send the file again",
    ),
    413: _error(
        "payload_too_large",
        "Larger than 20 MiB; nothing read.",
        "the file is larger than 20 MiB; split it into several files",
    ),
    415: _error(
        "unsupported_media_type",
        "A form upload or JSON instead of the file.",
        "send the CSV file itself as the body with Content-Type: text/csv "
        "(curl --data-binary @contacts.csv), not as a form upload or JSON",
    ),
}
DryRun = Annotated[
    bool, Query(description="only check the file and report what would change; store nothing")
]
CsvBytes = Annotated[bytes, Depends(csv_body)]


@router.get(
    "/exports/contacts.csv",
    response_class=CSVResponse,
    responses={
        200: {
            "description": "The contacts with their tags, one row each, ordered by creation.",
            "content": {"text/csv": {"schema": {"type": "string"}, "example": EXPORT_CSV_EXAMPLE}},
        },
        400: _error(
            "bad_request",
            "Unknown status colour.",
            "unknown status ['purple']; one of: red, orange, yellow, green, grey",
        ),
        401: UNAUTHORIZED,
        403: _error(
            "forbidden",
            "An agent asked for another agent's contacts.",
            "agents export their own contacts only",
        ),
        404: _error("not_found", "No such agent.", "no agent 'carol'"),
    },
)
async def export_contacts(
    request: Request,
    session: SessionDep,
    principal: AgentDep,
    clock: ClockDep,
    status: Annotated[
        list[str] | None,
        Query(description="only these colours: red, orange, yellow, green, grey (repeat or comma)"),
    ] = None,
    agent: Annotated[
        str | None, Query(description="only this agent's contacts (agents: their own only)")
    ] = None,
    bom: Annotated[
        bool, Query(description="start with a UTF-8 byte order mark, so Excel shows accents right")
    ] = False,
) -> CSVResponse:
    """Contacts with their facts and tags as CSV: `wa_id, user_id, name, country, timezone,
    language, source, opted_out, agent, first_seen_at, last_inbound_at`, then each tag dimension
    (sets joined with `|`). An admin gets every contact, an agent only its own. Cells a
    spreadsheet would run as a formula (starting with `= + - @`) start with `'`. Streamed: any
    number of contacts. The file imports as it is into `POST /imports/contacts`."""
    scope = csv_export.Scope(
        agent_id=await _agent_scope(session, principal, agent),
        statuses=tuple(queue_service.parse_statuses(status)) if status else (),
    )
    day = clock.now().date().isoformat()
    return CSVResponse(
        csv_export.chunks(request.app.state.sessionmaker, scope, bom=bom),
        headers={"Content-Disposition": f'attachment; filename="contacts-{day}.csv"'},
    )


async def _agent_scope(
    session: AsyncSession, principal: Principal, agent: str | None
) -> int | None:
    if not principal.is_admin:
        if principal.agent_id is None or agent not in (None, principal.name):
            raise Forbidden("agents export their own contacts only")
        return principal.agent_id
    return (await agents.get(session, agent)).id if agent is not None else None


# The body is declared before the caller: it is read before authentication opens the
# transaction, so on SQLite a slow upload never holds the write lock.
@router.post(
    "/imports/contacts",
    response_model=ContactsImported,
    responses=IMPORT_RESPONSES,
    openapi_extra=_csv_body(
        CONTACTS_CSV_EXAMPLE,
        "wa_id or user_id (at least one per row), and optionally name, language, country, "
        "timezone, agent, opted_out. The other columns of GET /exports/contacts.csv are read past.",
    ),
)
async def import_contacts(
    data: CsvBytes,
    session: SessionDep,
    principal: AdminDep,
    clock: ClockDep,
    dry_run: DryRun = False,
) -> Any:
    """Create or complete contacts from a CSV file. All rows are checked first: if any is wrong
    (bad number, unknown agent or time zone, a key twice in the file, no id), the answer is 400
    with every problem by line, and nothing is imported. New contacts get source `import`, country
    and time zone from the number unless given, and the `agent` named or the next in turn.
    Existing contacts keep their source and values: only empty fields are filled; `opted_out`
    true opts a contact out, nothing opts one back in."""
    try:
        result = await contacts_import.run(
            session, decode(data), now=clock.now(), dry_run=dry_run, by=principal.name
        )
    except Rejected as exc:
        return await _rejected(session, exc)
    except IntegrityError as exc:
        raise _raced() from exc
    return ContactsImported(**vars(result))


@router.post(
    "/imports/purchases",
    response_model=PurchasesImported,
    responses=IMPORT_RESPONSES,
    openapi_extra=_csv_body(
        PURCHASES_CSV_EXAMPLE,
        "wa_id or user_id, order_id, amount, currency, purchased_at (ISO 8601 with a zone); "
        "optionally sku, category, quantity. Rows with the same order_id are one order's items.",
    ),
)
async def import_purchases(
    data: CsvBytes,
    session: SessionDep,
    principal: AdminDep,
    clock: ClockDep,
    tagging: TaggingDep,
    dry_run: DryRun = False,
) -> Any:
    """Record orders from a CSV file, as `POST /contacts/{id}/purchases` does (spend tier,
    purchase frequency and lifecycle follow). Rows sharing an `order_id` are one order's items
    and share amount, currency and purchased_at. All rows are checked first (an unknown contact
    is a problem too); any problem → 400 listing all, nothing imported. Idempotent by `order_id`:
    importing the same file again records nothing and reports the orders as already recorded."""
    del principal  # admins only; the dependency is the check
    try:
        result = await purchases_import.run(
            session, decode(data), now=clock.now(), dry_run=dry_run, tagging=tagging
        )
    except Rejected as exc:
        return await _rejected(session, exc)
    except IntegrityError as exc:
        raise _raced() from exc
    return PurchasesImported(**vars(result))


async def _rejected(session: AsyncSession, exc: Rejected) -> JSONResponse:
    await session.rollback()  # nothing was written; this releases the rows the check locked
    body = ImportRejected(
        detail=exc.summary,
        problem_count=len(exc.problems),
        problems=[ProblemRead(line=p.line, column=p.column, message=p.message) for p in exc.listed],
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=400)


def _raced() -> Conflict:
    return Conflict("the data changed while importing; nothing was imported, send the file again")
