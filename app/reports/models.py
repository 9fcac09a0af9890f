"""Report snapshots (one row per day and report) and team alerts (open while their condition holds).

Reports read snapshots, never the contact table: at a million contacts a report request must not
scan it. The snapshot job does the scanning, in the background, once per period.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import EMPTY_OBJECT, Base, BigId, JsonDoc, UTCDateTime


class ReportSnapshot(Base):
    __tablename__ = "report_snapshot"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(32))  # e.g. tags, false_reds
    data: Mapped[Any] = mapped_column(JsonDoc, default=dict, server_default=EMPTY_OBJECT)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("name", "day"),)


class TeamAlert(Base):
    __tablename__ = "team_alert"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))  # e.g. high_activity_low, red_high, grey_rising
    value: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    details: Mapped[Any] = mapped_column(JsonDoc, default=dict, server_default=EMPTY_OBJECT)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    __table_args__ = (Index("ix_team_alert_name_ended_at", "name", "ended_at"),)
