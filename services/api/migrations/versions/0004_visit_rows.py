"""visit rows: sightings (events as corrected), event corrections, visits paired at ingest, hourly
roll-ups; built from the events already stored

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from services.api import pairing

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = (
    sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mariadb").with_variant(mysql.DATETIME(fsp=6), "mysql")
)


def _event_fk(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, BIG_ID, sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "event_corrections",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        _event_fk("event_pk"),
        sa.Column("plate_index", sa.String(64), nullable=True),
        sa.Column(
            "plate_ct",
            sa.LargeBinary(255).with_variant(mysql.VARBINARY(255), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column("voided", sa.Boolean(), nullable=False),
        sa.Column("split", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_corrections")),
    )
    op.create_index(op.f("ix_event_corrections_event_pk"), "event_corrections", ["event_pk"])
    op.create_table(
        "sightings",
        sa.Column("event_pk", BIG_ID, sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
        sa.Column("plate_index", sa.String(64), nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("camera", sa.String(64), nullable=False),
        sa.Column("time", TIME, nullable=False),
        sa.Column("split", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("event_pk", name=op.f("pk_sightings")),
    )
    op.create_index("ix_sightings_plate_index_time", "sightings", ["plate_index", "time", "event_pk"])
    op.create_index("ix_sightings_time", "sightings", ["time", "event_pk"])
    op.create_table(
        "visits",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("plate_index", sa.String(64), nullable=False),
        _event_fk("entry_pk", nullable=True),
        _event_fk("exit_pk", nullable=True),
        sa.Column("start_time", TIME, nullable=False),
        sa.Column("entry_time", TIME, nullable=True),
        sa.Column("exit_time", TIME, nullable=True),
        sa.Column("open_until", TIME, nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
        sa.UniqueConstraint("entry_pk", name=op.f("uq_visits_entry_pk")),
        sa.UniqueConstraint("exit_pk", name=op.f("uq_visits_exit_pk")),
    )
    op.create_index("ix_visits_start_time", "visits", ["start_time", "id"])
    op.create_index("ix_visits_plate_index_start_time", "visits", ["plate_index", "start_time"])
    op.create_index("ix_visits_entry_time", "visits", ["entry_time"])
    op.create_index("ix_visits_exit_time", "visits", ["exit_time"])
    op.create_table(
        "stats_hourly",
        sa.Column("hour", TIME, nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("exits", sa.Integer(), nullable=False),
        sa.Column("visits_ended", sa.Integer(), nullable=False),
        sa.Column("stay_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("hour", name=op.f("pk_stats_hourly")),
    )
    # The same setting the service pairs with (its default when unset).
    max_stay = timedelta(hours=int(os.environ.get("API_MAX_STAY_HOURS", "72")))
    pairing.rebuild(op.get_bind(), max_stay)


def downgrade() -> None:
    for table in ("stats_hourly", "visits", "sightings", "event_corrections"):
        op.drop_table(table)
