"""Purchases from CSV: rows sharing an order_id are one order's items. Every row is checked
first; then each new order is recorded as POST /contacts/{id}/purchases would (tags follow), in
one transaction, or none. Recording is idempotent by order_id: a file imported twice adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts import service as contacts
from app.contacts.models import Contact, Purchase
from app.contacts.schemas import PurchaseCreate, PurchaseItem
from app.tagging.service import Tagging
from app.transfer import cells
from app.transfer.table import Problem, Rejected, Row, read

KEYS = ("wa_id", "user_id")
ORDER_FIELDS = ("amount", "currency", "purchased_at")
ITEM_FIELDS = ("sku", "category", "quantity")
COLUMNS = (*KEYS, "order_id", *ORDER_FIELDS, *ITEM_FIELDS)
PARSERS: dict[str, Callable[[str], Any]] = {
    "wa_id": cells.wa_id,
    "user_id": cells.user_id,
    "amount": cells.amount,
    "currency": cells.currency,
    "purchased_at": cells.moment,
    "sku": lambda v: cells.text(v, limit=128),
    "category": lambda v: cells.text(v, limit=64),
    "quantity": cells.quantity,
}
LOOKUP_CHUNK = 500
# Contacts whose recorded orders stay in the session at once: a big file must not hold them all.
SESSION_BATCH = 200


@dataclass
class _Order:
    order_id: str
    line: int
    # field -> (value, the line that gave it)
    values: dict[str, tuple[Any, int]] = field(default_factory=dict)
    keys: list[tuple[str, str, int]] = field(default_factory=list)
    items: list[PurchaseItem] = field(default_factory=list)
    contact_id: int | None = None
    # Columns given on some row but wrong there: reported already, so not "missing" as well.
    failed: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class PurchasesImported:
    dry_run: bool
    rows: int
    orders: int
    created: int
    already_recorded: int


async def run(
    session: AsyncSession, text: str, *, now: datetime, dry_run: bool, tagging: Tagging
) -> PurchasesImported:
    """Raises Rejected, listing every problem by line, when any row is wrong."""
    table = read(text, columns=COLUMNS, required=("order_id", *ORDER_FIELDS), one_of=KEYS)
    problems = table.problems
    orders = _orders(table.rows, problems)
    await _resolve_contacts(session, orders, problems)
    recorded = await _recorded(session, orders, problems)
    new = {
        order_id: create
        for order_id, order in orders.items()
        if order_id not in recorded and (create := _create(order, problems)) is not None
    }
    if problems:
        raise Rejected(problems)
    created = len(new)
    if not dry_run:
        created = await _record(session, orders, new, now=now, tagging=tagging)
    return PurchasesImported(
        dry_run=dry_run,
        rows=len(table.rows),
        orders=len(orders),
        created=created,
        already_recorded=len(orders) - created,
    )


def _orders(rows: Sequence[Row], problems: list[Problem]) -> dict[str, _Order]:
    orders: dict[str, _Order] = {}
    for row in rows:
        order_id = row.get("order_id")
        if order_id is None:
            problems.append(Problem(row.line, "every row needs its order_id", "order_id"))
            continue
        if len(order_id) > 128:
            problems.append(Problem(row.line, "longer than 128 characters", "order_id"))
            continue
        order = orders.setdefault(order_id, _Order(order_id, row.line))
        values: dict[str, Any] = {}
        for column, parse in PARSERS.items():
            raw = row.get(column)
            if raw is not None:
                try:
                    values[column] = parse(raw)
                except cells.CellError as exc:
                    problems.append(Problem(row.line, str(exc), column))
                    order.failed.add(column)
        for column in ORDER_FIELDS:
            if column not in values:
                continue
            first = order.values.setdefault(column, (values[column], row.line))
            if first[0] != values[column]:
                problems.append(
                    Problem(
                        row.line,
                        f"order {order_id}: {row.get(column)} here but {first[0]} on line "
                        f"{first[1]}; the rows of one order share amount, currency and "
                        "purchased_at",
                        column,
                    )
                )
        order.keys += [(key, values[key], row.line) for key in KEYS if key in values]
        _add_item(order, row, values, problems)
    for order in orders.values():
        for column in ORDER_FIELDS:
            if column not in order.values and column not in order.failed:
                problems.append(Problem(order.line, f"order {order.order_id} has no {column}"))
        if not order.keys and not order.failed.intersection(KEYS):
            problems.append(Problem(order.line, f"order {order.order_id} needs a wa_id or user_id"))
    return orders


def _add_item(order: _Order, row: Row, values: dict[str, Any], problems: list[Problem]) -> None:
    if "sku" in values:
        order.items.append(
            PurchaseItem(
                sku=values["sku"],
                category=values.get("category"),
                quantity=values.get("quantity", 1),
            )
        )
    elif row.get("sku") is None and (row.get("category") or row.get("quantity")):
        problems.append(
            Problem(row.line, "an item needs a sku (category and quantity describe it)", "sku")
        )


async def _resolve_contacts(
    session: AsyncSession, orders: dict[str, _Order], problems: list[Problem]
) -> None:
    wanted = {
        kind: sorted({v for o in orders.values() for k, v, _ in o.keys if k == kind})
        for kind in KEYS
    }
    found: dict[tuple[str, str], int] = {}
    for start in range(0, max(map(len, wanted.values())), LOOKUP_CHUNK):
        wa_ids = wanted["wa_id"][start : start + LOOKUP_CHUNK]
        user_ids = wanted["user_id"][start : start + LOOKUP_CHUNK]
        stmt = select(Contact.id, Contact.wa_id, Contact.user_id).where(
            or_(Contact.wa_id.in_(wa_ids), Contact.user_id.in_(user_ids))
        )
        for row in (await session.execute(stmt)).all():
            if row.wa_id:
                found["wa_id", row.wa_id] = row.id
            if row.user_id:
                found["user_id", row.user_id] = row.id
    for order in orders.values():
        for kind, value, line in order.keys:
            contact_id = found.get((kind, value))
            if contact_id is None:
                problems.append(
                    Problem(line, f"no contact with {kind} {value}; import the contact first", kind)
                )
            elif order.contact_id is None:
                order.contact_id = contact_id
            elif order.contact_id != contact_id:
                problems.append(
                    Problem(
                        line,
                        f"order {order.order_id}: {kind} {value} is another contact than on "
                        f"line {order.line}",
                        kind,
                    )
                )


async def _recorded(
    session: AsyncSession, orders: dict[str, _Order], problems: list[Problem]
) -> set[str]:
    """Order ids stored already: skipped, unless they belong to someone else."""
    ids = list(orders)
    recorded = set()
    for start in range(0, len(ids), LOOKUP_CHUNK):
        stmt = select(Purchase.order_id, Purchase.contact_id).where(
            Purchase.order_id.in_(ids[start : start + LOOKUP_CHUNK])
        )
        for order_id, contact_id in (await session.execute(stmt)).all():
            order = orders[order_id]
            if order.contact_id is not None and order.contact_id != contact_id:
                problems.append(
                    Problem(
                        order.line, f"order {order_id} is recorded for another contact", "order_id"
                    )
                )
            recorded.add(order_id)
    return recorded


def _create(order: _Order, problems: list[Problem]) -> PurchaseCreate | None:
    if len(order.values) < len(ORDER_FIELDS) or order.contact_id is None:
        return None
    try:
        return PurchaseCreate(
            order_id=order.order_id,
            amount=order.values["amount"][0],
            currency=order.values["currency"][0],
            purchased_at=order.values["purchased_at"][0],
            items=order.items,
        )
    except ValidationError as exc:
        # The cells were checked one by one; this is the API's own rule for the whole order.
        for error in exc.errors():
            problems.append(Problem(order.line, f"order {order.order_id}: {error['msg']}"))
        return None


async def _record(
    session: AsyncSession,
    orders: dict[str, _Order],
    new: dict[str, PurchaseCreate],
    *,
    now: datetime,
    tagging: Tagging,
) -> int:
    """Per contact (locked, in id order), its orders oldest first, so tags see them in time."""
    by_contact: dict[int, list[PurchaseCreate]] = {}
    for order in sorted(new.values(), key=lambda o: (o.purchased_at, orders[o.order_id].line)):
        contact_id = orders[order.order_id].contact_id
        assert contact_id is not None
        by_contact.setdefault(contact_id, []).append(order)
    ids = sorted(by_contact)
    created = 0
    for start in range(0, len(ids), SESSION_BATCH):
        batch = ids[start : start + SESSION_BATCH]
        stmt = (
            select(Contact)
            .where(Contact.id.in_(batch))
            .order_by(Contact.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        for contact in (await session.scalars(stmt)).all():
            for order in by_contact[contact.id]:
                _, was_new = await contacts.record_purchase(
                    session, contact, order, now=now, tagging=tagging
                )
                created += was_new
        # Everything is flushed by record_purchase: this only frees the memory.
        session.expunge_all()
    return created
