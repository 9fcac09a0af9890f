"""Send clock: one row per business phone number, the next free send slot shared by all workers.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 17:06:16.335266
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "send_clock",
        sa.Column("phone_number_id", sa.String(length=64), nullable=False),
        sa.Column("next_slot", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("phone_number_id", name=op.f("pk_send_clock")),
    )


def downgrade() -> None:
    op.drop_table("send_clock")
