"""plate lists, alerts and the webhook outbox

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = (
    sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mariadb").with_variant(mysql.DATETIME(fsp=6), "mysql")
)


def _blob(length: int) -> sa.types.TypeEngine:
    return (
        sa.LargeBinary(length=length)
        .with_variant(mysql.VARBINARY(length=length), "mariadb")
        .with_variant(mysql.VARBINARY(length=length), "mysql")
    )


def _fk(column: str, table: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f"fk_{table}_{column}_{target.split('.')[0]}"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "plate_list_entries",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("uid", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("plate_index", sa.String(length=64), nullable=False),
        sa.Column("plate_ct", _blob(255), nullable=False),
        sa.Column("note_ct", _blob(1024), nullable=False),
        sa.Column("expires_at", TIME, nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plate_list_entries")),
        sa.UniqueConstraint("uid", name=op.f("uq_plate_list_entries_uid")),
    )
    op.create_index("ix_plate_list_entries_plate_index", "plate_list_entries", ["plate_index"])
    op.create_table(
        "plate_list_near_index",
        sa.Column("entry_pk", BIG_ID, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        _fk("entry_pk", "plate_list_near_index", "plate_list_entries.id"),
        sa.PrimaryKeyConstraint("entry_pk", "digest", name=op.f("pk_plate_list_near_index")),
    )
    op.create_index(op.f("ix_plate_list_near_index_digest"), "plate_list_near_index", ["digest"])
    op.create_table(
        "alerts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.String(length=36), nullable=False),
        sa.Column("dedupe", sa.String(length=96), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("plate_ct", _blob(255), nullable=False),
        sa.Column("list_kind", sa.String(length=16), nullable=True),
        sa.Column("event_id", sa.String(length=36), nullable=True),
        sa.Column("visit_key", sa.String(length=36), nullable=True),
        sa.Column("camera", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.String(length=255), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("alert_id", name=op.f("uq_alerts_alert_id")),
        sa.UniqueConstraint("dedupe", name=op.f("uq_alerts_dedupe")),
    )
    op.create_index("ix_alerts_created_at", "alerts", ["created_at"])
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uid", sa.String(length=36), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("secret_ct", _blob(255), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
        sa.UniqueConstraint("uid", name=op.f("uq_webhooks_uid")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("webhook_pk", sa.Integer(), nullable=False),
        sa.Column("alert_pk", BIG_ID, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", TIME, nullable=False),
        sa.Column("delivered_at", TIME, nullable=True),
        _fk("webhook_pk", "webhook_deliveries", "webhooks.id"),
        _fk("alert_pk", "webhook_deliveries", "alerts.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(op.f("ix_webhook_deliveries_webhook_pk"), "webhook_deliveries", ["webhook_pk"])
    op.create_index(op.f("ix_webhook_deliveries_alert_pk"), "webhook_deliveries", ["alert_pk"])
    op.create_index("ix_webhook_deliveries_state_next_at", "webhook_deliveries", ["state", "next_at"])
    op.create_table(
        "webhook_attempts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("delivery_pk", BIG_ID, nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=255), nullable=True),
        _fk("delivery_pk", "webhook_attempts", "webhook_deliveries.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    op.create_index(op.f("ix_webhook_attempts_delivery_pk"), "webhook_attempts", ["delivery_pk"])


def downgrade() -> None:
    for table in (
        "webhook_attempts",
        "webhook_deliveries",
        "webhooks",
        "alerts",
        "plate_list_near_index",
        "plate_list_entries",
    ):
        op.drop_table(table)
