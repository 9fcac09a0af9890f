"""Outbox of planned follow-ups, registered templates, discount codes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 16:47:33.675797
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.db.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "template",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column(
            "parameters",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("updated_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_template")),
        sa.UniqueConstraint("name", "language", name=op.f("uq_template_name_language")),
    )
    op.create_table(
        "discount_code",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("offer", sa.String(length=64), nullable=False),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("assigned_at", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("valid_until", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("redeemed_at", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("order_id", sa.String(length=128), nullable=True),
        sa.Column("created_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_discount_code_contact_id_contact"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discount_code")),
        sa.UniqueConstraint("code", name=op.f("uq_discount_code_code")),
    )
    with op.batch_alter_table("discount_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_discount_code_offer"), ["offer"], unique=False)
        batch_op.create_index(
            "uq_discount_code_contact_offer",
            ["contact_id", "offer"],
            unique=True,
            postgresql_where=sa.text("contact_id IS NOT NULL"),
            sqlite_where=sa.text("contact_id IS NOT NULL"),
        )

    op.create_table(
        "outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("plan_key", sa.String(length=256), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column(
            "evidence",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("template", sa.String(length=128), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("offer", sa.String(length=64), nullable=True),
        sa.Column("offer_valid_hours", sa.Double(), nullable=True),
        sa.Column("due_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("not_before", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("claimed_until", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("wamid", sa.String(length=512), nullable=True),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("planned_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_outbox_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("plan_key", name=op.f("uq_outbox_plan_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_contact_sent", ["contact_id", "sent_at"], unique=False)
        batch_op.create_index("ix_outbox_contact_state", ["contact_id", "state"], unique=False)
        batch_op.create_index(
            "ix_outbox_due",
            ["not_before"],
            unique=False,
            postgresql_where=sa.text("state = 'planned'"),
            sqlite_where=sa.text("state = 'planned'"),
        )
        batch_op.create_index(batch_op.f("ix_outbox_wamid"), ["wamid"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_wamid"))
        batch_op.drop_index(
            "ix_outbox_due",
            postgresql_where=sa.text("state = 'planned'"),
            sqlite_where=sa.text("state = 'planned'"),
        )
        batch_op.drop_index("ix_outbox_contact_state")
        batch_op.drop_index("ix_outbox_contact_sent")

    op.drop_table("outbox")
    with op.batch_alter_table("discount_code", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_discount_code_contact_offer",
            postgresql_where=sa.text("contact_id IS NOT NULL"),
            sqlite_where=sa.text("contact_id IS NOT NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_discount_code_offer"))

    op.drop_table("discount_code")
    op.drop_table("template")
