"""Foundation: inbox, rejected bodies, webhook updates, contacts, messages, statuses, API keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 16:11:26.619725
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.db.base

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_key",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("key_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_sha256", name=op.f("uq_api_key_key_sha256")),
        sa.UniqueConstraint("name", name=op.f("uq_api_key_name")),
    )
    op.create_table(
        "contact",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.String(length=256), nullable=True),
        sa.Column("wa_id", sa.String(length=256), nullable=True),
        sa.Column("parent_user_id", sa.String(length=256), nullable=True),
        sa.Column("username", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("phone_e164", sa.String(length=32), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("calling_code", sa.Integer(), nullable=True),
        sa.Column("area", sa.String(length=128), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("opt_out_changed_at", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_seen_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_inbound_at", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact")),
        sa.UniqueConstraint("user_id", name=op.f("uq_contact_user_id")),
        sa.UniqueConstraint("wa_id", name=op.f("uq_contact_wa_id")),
    )
    op.create_table(
        "inbound_event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("processed_at", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_event")),
        sa.UniqueConstraint("body_sha256", name=op.f("uq_inbound_event_body_sha256")),
    )
    with op.batch_alter_table("inbound_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbound_event_pending",
            ["id"],
            unique=False,
            postgresql_where=sa.text("processed_at IS NULL"),
            sqlite_where=sa.text("processed_at IS NULL"),
        )

    op.create_table(
        "rejected_webhook",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("received_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejected_webhook")),
        sa.UniqueConstraint("body_sha256", name=op.f("uq_rejected_webhook_body_sha256")),
    )
    op.create_table(
        "message",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("wamid", sa.String(length=512), nullable=False),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("context_wamid", sa.String(length=512), nullable=True),
        sa.Column("phone_number_id", sa.String(length=256), nullable=True),
        sa.Column("sent_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column(
            "inbound_event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_message_contact_id_contact"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["inbound_event_id"],
            ["inbound_event.id"],
            name=op.f("fk_message_inbound_event_id_inbound_event"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message")),
        sa.UniqueConstraint("wamid", name=op.f("uq_message_wamid")),
    )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_index("ix_message_contact_id_desc", ["contact_id", "id"], unique=False)

    op.create_table(
        "message_status",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("wamid", sa.String(length=512), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("status_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recipient_id", sa.String(length=256), nullable=True),
        sa.Column("recipient_user_id", sa.String(length=256), nullable=True),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("callback_data", sa.String(length=512), nullable=True),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "inbound_event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["inbound_event_id"],
            ["inbound_event.id"],
            name=op.f("fk_message_status_inbound_event_id_inbound_event"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_status")),
        sa.UniqueConstraint("wamid", "status", name=op.f("uq_message_status_wamid_status")),
    )
    op.create_table(
        "webhook_update",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "inbound_event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("position", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=128), nullable=False),
        sa.Column("waba_id", sa.String(length=64), nullable=True),
        sa.Column(
            "value",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("event_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["inbound_event_id"],
            ["inbound_event.id"],
            name=op.f("fk_webhook_update_inbound_event_id_inbound_event"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_update")),
        sa.UniqueConstraint(
            "inbound_event_id", "position", name=op.f("uq_webhook_update_inbound_event_id_position")
        ),
    )
    with op.batch_alter_table("webhook_update", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_update_field"), ["field"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_webhook_update_inbound_event_id"), ["inbound_event_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_update", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_update_inbound_event_id"))
        batch_op.drop_index(batch_op.f("ix_webhook_update_field"))

    op.drop_table("webhook_update")
    op.drop_table("message_status")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_contact_id_desc")

    op.drop_table("message")
    op.drop_table("rejected_webhook")
    with op.batch_alter_table("inbound_event", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_inbound_event_pending",
            postgresql_where=sa.text("processed_at IS NULL"),
            sqlite_where=sa.text("processed_at IS NULL"),
        )

    op.drop_table("inbound_event")
    op.drop_table("contact")
    op.drop_table("api_key")
