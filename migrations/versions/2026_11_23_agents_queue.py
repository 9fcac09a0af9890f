"""Agents, the queue item kept on each contact, queue actions, report snapshots and team alerts.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 19:02:47.491152
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.db.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("last_assigned_at", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent")),
        sa.UniqueConstraint("name", name=op.f("uq_agent_name")),
    )
    op.create_table(
        "report_snapshot",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("computed_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_snapshot")),
        sa.UniqueConstraint("name", "day", name=op.f("uq_report_snapshot_name_day")),
    )
    op.create_table(
        "team_alert",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("started_at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_alert")),
    )
    with op.batch_alter_table("team_alert", schema=None) as batch_op:
        batch_op.create_index("ix_team_alert_name_ended_at", ["name", "ended_at"], unique=False)

    op.create_table(
        "queue_action",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("by", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("due_at", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("snoozed_until", app.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", app.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_queue_action_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_action")),
    )
    with op.batch_alter_table("queue_action", schema=None) as batch_op:
        batch_op.create_index("ix_queue_action_contact_id_desc", ["contact_id", "id"], unique=False)

    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "agent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.create_index(batch_op.f("ix_api_key_agent_id"), ["agent_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_api_key_agent_id_agent"),
            "agent",
            ["agent_id"],
            ["id"],
            ondelete="CASCADE",
        )

    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "agent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.add_column(sa.Column("queue_rank", sa.SmallInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("queue_due_at", app.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("queue_kind", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("queue_done_at", app.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("queue_snoozed_until", app.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.drop_index(batch_op.f("ix_contact_status"))
        batch_op.create_index(
            "ix_contact_queue_agent", ["agent_id", "queue_rank", "queue_due_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_contact_queue_all", ["queue_rank", "queue_due_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_contact_status_since", ["status", "status_changed_at"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_contact_agent_id_agent"),
            "agent",
            ["agent_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("tag_event", schema=None) as batch_op:
        batch_op.create_index("ix_tag_event_dimension_at", ["dimension", "at"], unique=False)

    # Keys made with role "agent" before agent accounts existed become accounts of the same name.
    op.execute(
        "INSERT INTO agent (name, timezone, active, created_at) "
        "SELECT name, 'UTC', true, created_at FROM api_key WHERE role = 'agent'"
    )
    op.execute(
        "UPDATE api_key SET agent_id = (SELECT agent.id FROM agent WHERE agent.name = api_key.name)"
        " WHERE role = 'agent'"
    )
    # Queue items are computed with the tags: the tag job recomputes every tagged contact once.
    op.execute("UPDATE contact SET tags_due_at = CURRENT_TIMESTAMP WHERE status IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("tag_event", schema=None) as batch_op:
        batch_op.drop_index("ix_tag_event_dimension_at")

    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_contact_agent_id_agent"), type_="foreignkey")
        batch_op.drop_index("ix_contact_status_since")
        batch_op.drop_index("ix_contact_queue_all")
        batch_op.drop_index("ix_contact_queue_agent")
        batch_op.create_index(batch_op.f("ix_contact_status"), ["status"], unique=False)
        batch_op.drop_column("queue_snoozed_until")
        batch_op.drop_column("queue_done_at")
        batch_op.drop_column("queue_kind")
        batch_op.drop_column("queue_due_at")
        batch_op.drop_column("queue_rank")
        batch_op.drop_column("agent_id")

    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_api_key_agent_id_agent"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_api_key_agent_id"))
        batch_op.drop_column("agent_id")

    with op.batch_alter_table("queue_action", schema=None) as batch_op:
        batch_op.drop_index("ix_queue_action_contact_id_desc")

    op.drop_table("queue_action")
    with op.batch_alter_table("team_alert", schema=None) as batch_op:
        batch_op.drop_index("ix_team_alert_name_ended_at")

    op.drop_table("team_alert")
    op.drop_table("report_snapshot")
    op.drop_table("agent")
