"""The send clock: one row per business phone number, shared by every worker process."""

from __future__ import annotations

from sqlalchemy import Double, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class SendClock(Base):
    """Where the next free send slot of one phone number begins.

    Workers reserve consecutive slots by moving `next_slot` forward in one UPDATE (see
    `app.sending.claim.reserve_slots`), so the throughput cap holds across processes and hosts.
    """

    __tablename__ = "send_clock"

    phone_number_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Unix seconds from the workers' clocks, not a timestamp column: the reserving UPDATE adds
    # fractions of a second in SQL, which SQLite cannot do on its text datetimes.
    next_slot: Mapped[float] = mapped_column(Double)
