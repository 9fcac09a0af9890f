"""Tags: tag columns and rule facts on contact, the tag event log, purchases.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 16:30:57.675853
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.db.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "purchase",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("order_id", sa.String(length=128), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "items",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            server_default=sa.text("'[]'"),
            nullable=False,
        ),
        sa.Column("purchased_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_purchase_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase")),
        sa.UniqueConstraint("order_id", name=op.f("uq_purchase_order_id")),
    )
    with op.batch_alter_table("purchase", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_purchase_contact_id"), ["contact_id"], unique=False)

    op.create_table(
        "tag_event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("dimension", sa.String(length=32), nullable=False),
        sa.Column(
            "old_value",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "new_value",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column(
            "evidence",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_tag_event_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tag_event")),
    )
    with op.batch_alter_table("tag_event", schema=None) as batch_op:
        batch_op.create_index("ix_tag_event_contact_id_desc", ["contact_id", "id"], unique=False)

    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "preferences",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                server_default=sa.text("'{}'"),
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("activity", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("intent", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("status", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("lifecycle", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("engagement", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("spend_tier", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("purchase_frequency", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column(
                "interests",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                server_default=sa.text("'[]'"),
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column(
                "categories",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                server_default=sa.text("'[]'"),
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column(
                "windows",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                server_default=sa.text("'[]'"),
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column(
                "tag_locks",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                server_default=sa.text("'{}'"),
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("last_read_at", app.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_outbound_at", app.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("status_changed_at", app.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("red_streak", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("offer_reads", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "recent_inbound",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                server_default=sa.text("'[]'"),
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column(
                "recent_reads",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                server_default=sa.text("'[]'"),
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("asked", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("clicked", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("tags_due_at", app.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_contact_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_tags_due_at"), ["tags_due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_tags_due_at"))
        batch_op.drop_index(batch_op.f("ix_contact_status"))
        batch_op.drop_column("tags_due_at")
        batch_op.drop_column("clicked")
        batch_op.drop_column("asked")
        batch_op.drop_column("recent_reads")
        batch_op.drop_column("recent_inbound")
        batch_op.drop_column("offer_reads")
        batch_op.drop_column("red_streak")
        batch_op.drop_column("status_changed_at")
        batch_op.drop_column("last_outbound_at")
        batch_op.drop_column("last_read_at")
        batch_op.drop_column("tag_locks")
        batch_op.drop_column("windows")
        batch_op.drop_column("categories")
        batch_op.drop_column("interests")
        batch_op.drop_column("purchase_frequency")
        batch_op.drop_column("spend_tier")
        batch_op.drop_column("engagement")
        batch_op.drop_column("lifecycle")
        batch_op.drop_column("status")
        batch_op.drop_column("intent")
        batch_op.drop_column("activity")
        batch_op.drop_column("preferences")

    with op.batch_alter_table("tag_event", schema=None) as batch_op:
        batch_op.drop_index("ix_tag_event_contact_id_desc")

    op.drop_table("tag_event")
    with op.batch_alter_table("purchase", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purchase_contact_id"))

    op.drop_table("purchase")
